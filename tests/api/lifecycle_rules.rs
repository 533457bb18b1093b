//! The Lifecycle section of API.md, one test per rule: which report call is allowed in which
//! state and what a new attempt inherits. `outcome` with its sub-object and the timestamp rules
//! are in `lifecycle_outcomes_and_timestamps.rs`; informational updates and metadata merging in
//! `lifecycle_informational_and_metadata.rs`.

use crate::common::backend_test;
use crate::common::form::payment_with;
use crate::common::rules::{
    OUTCOMES, assert_param_error, assert_rule_broken, new_attempt, pending, refund, report_outcome, settle, value_of,
};
use crate::common::{Api, TestServer};
use serde_json::{Value, json};

const INITIATED_AT: &str = "1730211300";
const LATER: &str = "1730211400";
const NEW_ATTEMPT_REJECTED: &str =
    "A new payment attempt can only be reported if all other payment attempts are canceled or failed.";
const ALREADY_GUARANTEED: &str = "The latest payment attempt on this Payment Record is already guaranteed.";

async fn attempt_of(server: &TestServer, record: &Value) -> Value {
    let id = record["latest_payment_attempt_record"]
        .as_str()
        .expect("latest attempt id");
    server.retrieve_attempt(id, &[]).await.ok()
}

#[backend_test]
async fn report_payment_without_an_outcome_creates_a_record_and_a_pending_first_attempt(server: TestServer) {
    let record = server.pending_payment(1000).await;
    let id = record["id"].as_str().expect("id");
    for field in [
        "amount_guaranteed",
        "amount_failed",
        "amount_canceled",
        "amount_authorized",
    ] {
        assert_eq!(value_of(&record, field), 0, "{field}");
    }
    let all = server.attempts_of(id).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["id"], record["latest_payment_attempt_record"]);
    assert_eq!(all[0]["payment_record"], id);
    // Pending: it can still take any outcome.
    settle(&server, id, "canceled").await;
}

#[backend_test]
async fn report_payment_with_an_outcome_creates_a_first_attempt_already_in_that_state(server: TestServer) {
    for outcome in OUTCOMES {
        let key = format!("{outcome}[{outcome}_at]");
        let form = payment_with(&[("outcome", outcome), (&key, LATER)]);
        let r = server.report_payment(&form).await;
        assert_eq!(r.status, 200, "{outcome}: {}", r.body);
        assert_eq!(value_of(&r.json, &format!("amount_{outcome}")), 1000, "{outcome}");
        let attempt = attempt_of(&server, &r.json).await;
        assert_eq!(value_of(&attempt, &format!("amount_{outcome}")), 1000, "{outcome}");
        let id = r.json["id"].as_str().expect("id");
        let again = report_outcome(&server, id, "guaranteed", LATER).await;
        assert_eq!(again.status, 400, "{outcome} is terminal: {}", again.body);
    }
}

#[backend_test]
async fn a_new_attempt_is_rejected_while_the_latest_attempt_is_pending(server: TestServer) {
    let id = pending(&server).await;
    let r = new_attempt(&server, &id, &[]).await;
    assert_rule_broken(&r, Some(NEW_ATTEMPT_REJECTED), None);
    assert_eq!(server.attempts_of(&id).await.len(), 1);
}

#[backend_test]
async fn a_new_attempt_after_a_guarantee_is_rejected_as_in_examples_case_8(server: TestServer) {
    let id = pending(&server).await;
    settle(&server, &id, "guaranteed").await;
    let r = server.report_attempt(&id, &[("initiated_at", "1730400000")]).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"error": {"message": NEW_ATTEMPT_REJECTED, "type": "invalid_request_error"}})
    );
}

#[backend_test]
async fn a_new_attempt_is_allowed_once_every_attempt_failed_or_was_canceled(server: TestServer) {
    let id = pending(&server).await;
    let first = settle(&server, &id, "failed").await["latest_payment_attempt_record"].clone();
    let r = new_attempt(&server, &id, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let second = r.json["latest_payment_attempt_record"].clone();
    assert_ne!(second, first, "the new attempt becomes the latest");
    settle(&server, &id, "canceled").await;
    let r = new_attempt(&server, &id, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let third = r.json["latest_payment_attempt_record"].clone();
    let all = server.attempts_of(&id).await;
    let ids: Vec<&Value> = all.iter().map(|a| &a["id"]).collect();
    assert_eq!(ids, [&third, &second, &first], "newest first");
    assert_eq!(
        value_of(&all[2], "amount_failed"),
        1000,
        "older attempts keep their state"
    );
    assert_eq!(value_of(&all[1], "amount_canceled"), 1000);
    assert_eq!(value_of(&all[0], "amount_canceled"), 0, "the new attempt is pending");
}

#[backend_test]
async fn a_new_attempt_may_be_reported_with_an_outcome(server: TestServer) {
    let id = pending(&server).await;
    settle(&server, &id, "failed").await;
    let r = new_attempt(
        &server,
        &id,
        &[("outcome", "guaranteed"), ("guaranteed[guaranteed_at]", "1730253453")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(value_of(&r.json, "amount_guaranteed"), 1000);
    assert_eq!(value_of(&r.json, "amount_failed"), 0);
}

const FULL_PAYMENT: &[(&str, &str)] = &[
    ("amount_requested[currency]", "eur"),
    ("amount_requested[value]", "2500"),
    ("initiated_at", INITIATED_AT),
    ("customer_details[customer]", "cus_123"),
    ("customer_details[email]", "jenny@example.com"),
    ("customer_details[name]", "Jenny Rosen"),
    ("customer_details[phone]", "+15555550100"),
    ("customer_presence", "off_session"),
    ("description", "first"),
    ("payment_method_details[payment_method]", "pm_first"),
    ("payment_method_details[custom][display_name]", "newpay"),
    ("processor_details[type]", "custom"),
    ("processor_details[custom][payment_reference]", "ref_1"),
    ("shipping_details[name]", "Jenny"),
    ("shipping_details[address][city]", "Berlin"),
];

/// A failed payment reported with every field; returns the record.
async fn failed_full_payment(server: &TestServer) -> Value {
    let r = server.report_payment(FULL_PAYMENT).await;
    assert_eq!(r.status, 200, "{}", r.body);
    settle(server, r.json["id"].as_str().expect("id"), "failed").await
}

#[backend_test]
async fn a_new_attempt_inherits_amount_customer_presence_and_processor_details_from_the_record(server: TestServer) {
    let record = failed_full_payment(&server).await;
    let id = record["id"].as_str().expect("id");
    let r = new_attempt(&server, id, &[("description", "second")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let attempt = attempt_of(&server, &r.json).await;
    for field in [
        "amount",
        "amount_requested",
        "customer_details",
        "customer_presence",
        "processor_details",
    ] {
        assert_eq!(attempt[field], record[field], "{field}");
        assert_eq!(r.json[field], record[field], "{field} on the record");
    }
    assert_eq!(attempt["amount_requested"], json!({"currency": "eur", "value": 2500}));
}

#[backend_test]
async fn report_payment_attempt_takes_no_amount_customer_or_processor_parameters(server: TestServer) {
    let id = failed_full_payment(&server).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Stripe names an unknown hash by its own name, not the key inside it.
    for (param, value, unknown) in [
        ("amount_requested[value]", "5000", "amount_requested"),
        ("amount[value]", "5000", "amount"),
        ("customer_details[name]", "Someone Else", "customer_details"),
        ("customer_presence", "on_session", "customer_presence"),
        ("processor_details[type]", "custom", "processor_details"),
    ] {
        let r = new_attempt(&server, &id, &[(param, value)]).await;
        assert_param_error(&r, Some("parameter_unknown"), unknown);
    }
    assert_eq!(server.attempts_of(&id).await.len(), 1);
}

#[backend_test]
async fn a_new_attempt_replaces_payment_method_details_description_and_shipping_details_when_given(server: TestServer) {
    let record = failed_full_payment(&server).await;
    let id = record["id"].as_str().expect("id");
    let r = new_attempt(
        &server,
        id,
        &[
            ("payment_method_details[payment_method]", "pm_second"),
            ("description", "second"),
            ("shipping_details[name]", "Max"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let attempt = attempt_of(&server, &r.json).await;
    for object in [&r.json, &attempt] {
        assert_eq!(object["description"], "second");
        assert_eq!(object["payment_method_details"]["payment_method"], "pm_second");
        assert_eq!(
            object["payment_method_details"]["custom"],
            Value::Null,
            "replaced whole"
        );
        assert_eq!(object["shipping_details"]["name"], "Max");
        assert_eq!(
            object["shipping_details"]["address"]["city"],
            Value::Null,
            "replaced whole"
        );
    }
    let first = &server.attempts_of(id).await[1];
    assert_eq!(first["description"], "first", "the older attempt keeps its own");
    assert_eq!(first["payment_method_details"], record["payment_method_details"]);
}

#[backend_test]
async fn a_new_attempt_inherits_payment_method_details_description_and_shipping_details_when_not_given(
    server: TestServer,
) {
    let record = failed_full_payment(&server).await;
    let r = new_attempt(&server, record["id"].as_str().expect("id"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let attempt = attempt_of(&server, &r.json).await;
    for field in ["description", "payment_method_details", "shipping_details"] {
        assert_eq!(attempt[field], record[field], "{field}");
        assert_eq!(r.json[field], record[field], "{field} on the record");
    }
}

#[backend_test]
async fn report_payment_attempt_requires_initiated_at(server: TestServer) {
    let id = pending(&server).await;
    settle(&server, &id, "failed").await;
    let r = server.report_attempt(&id, &[]).await;
    assert_param_error(&r, Some("parameter_missing"), "initiated_at");
    assert_eq!(r.error("message"), "Missing required param: initiated_at.");
}

#[backend_test]
async fn a_pending_latest_attempt_can_be_guaranteed_failed_or_canceled(server: TestServer) {
    for outcome in OUTCOMES {
        let id = pending(&server).await;
        let record = settle(&server, &id, outcome).await;
        let field = format!("amount_{outcome}");
        assert_eq!(value_of(&record, &field), 1000, "{outcome}");
        assert_eq!(value_of(&attempt_of(&server, &record).await, &field), 1000, "{outcome}");
    }
}

#[backend_test]
async fn an_outcome_on_an_already_guaranteed_attempt_is_rejected_with_stripes_message(server: TestServer) {
    let id = pending(&server).await;
    settle(&server, &id, "guaranteed").await;
    for outcome in OUTCOMES {
        let r = report_outcome(&server, &id, outcome, LATER).await;
        assert_rule_broken(&r, Some(ALREADY_GUARANTEED), None);
    }
    assert_eq!(value_of(&server.record(&id).await, "amount_guaranteed"), 1000);
}

#[backend_test]
async fn failed_and_canceled_attempts_are_terminal(server: TestServer) {
    for terminal in ["failed", "canceled"] {
        let id = pending(&server).await;
        let before = settle(&server, &id, terminal).await;
        for outcome in OUTCOMES {
            let r = report_outcome(&server, &id, outcome, "1730211500").await;
            assert_rule_broken(&r, None, None);
            let message = r.error("message").as_str().unwrap_or_default();
            assert!(message.contains(terminal), "{terminal} then {outcome}: {message}");
        }
        assert_eq!(server.record(&id).await, before, "{terminal}: nothing changed");
    }
}

#[backend_test]
async fn only_one_attempt_per_record_can_ever_be_guaranteed(server: TestServer) {
    let id = pending(&server).await;
    settle(&server, &id, "failed").await;
    assert_eq!(new_attempt(&server, &id, &[]).await.status, 200);
    settle(&server, &id, "guaranteed").await;
    let with_outcome = new_attempt(
        &server,
        &id,
        &[("outcome", "guaranteed"), ("guaranteed[guaranteed_at]", "1730253453")],
    )
    .await;
    assert_rule_broken(&with_outcome, Some(NEW_ATTEMPT_REJECTED), None);
    assert_rule_broken(&new_attempt(&server, &id, &[]).await, Some(NEW_ATTEMPT_REJECTED), None);
    let all = server.attempts_of(&id).await;
    let guaranteed = all.iter().filter(|a| value_of(a, "amount_guaranteed") > 0).count();
    assert_eq!((all.len(), guaranteed), (2, 1));
}

#[backend_test]
async fn a_lifecycle_violation_is_a_400_invalid_request_error_without_a_code(server: TestServer) {
    let id = pending(&server).await;
    let r = new_attempt(&server, &id, &[]).await;
    let mut keys: Vec<&String> = r.json["error"].as_object().expect("error").keys().collect();
    keys.sort_unstable();
    assert_eq!(keys, ["message", "type"], "{}", r.body);
    assert_rule_broken(&refund(&server, &id, "r1", &[]).await, None, None);
}
