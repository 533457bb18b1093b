//! The Amounts section of API.md, one test per rule: the portions each state carries, the
//! record mirroring its latest attempt, refunds and their references, currency and value
//! bounds, and the invariants over a whole payment's life.

use crate::common::form::{REPORT_PAYMENT, payment_with};
use crate::common::{Auth, Resp, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

const SETTLED_AT: &str = "1730260000";
const OUTCOMES: [&str; 3] = ["guaranteed", "failed", "canceled"];
const PORTIONS: [&str; 4] = [
    "amount_guaranteed",
    "amount_failed",
    "amount_canceled",
    "amount_authorized",
];

fn on(id: &str, call: &str) -> String {
    format!("/v1/payment_records/{id}/{call}")
}

fn id_of(object: &Value) -> String {
    object["id"].as_str().expect("an id").to_owned()
}

fn value_of(object: &Value, field: &str) -> i64 {
    object[field]["value"]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} in {object}"))
}

async fn ok(r: Resp) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json
}

/// The latest attempt takes `outcome`; returns the record.
async fn settle(server: &TestServer, id: &str, outcome: &str) -> Value {
    let key = format!("{outcome}_at");
    let call = format!("report_payment_attempt_{outcome}");
    ok(server.post(&on(id, &call), &[(&key, SETTLED_AT)]).await).await
}

async fn new_attempt(server: &TestServer, id: &str) -> Value {
    ok(server
        .post(&on(id, "report_payment_attempt"), &[("initiated_at", "1730253425")])
        .await)
    .await
}

/// A guaranteed payment of `value` usd; returns its id.
async fn guaranteed(server: &TestServer, value: i64) -> String {
    let id = id_of(&server.report_payment(value).await);
    settle(server, &id, "guaranteed").await;
    id
}

/// report_refund with `reference` and, when given, `amount[value]` in usd.
async fn refund(server: &TestServer, id: &str, reference: &str, value: Option<&str>) -> Resp {
    let mut form = vec![
        ("outcome", "refunded"),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][refund_reference]", reference),
    ];
    if let Some(value) = value {
        form.extend([("amount[currency]", "usd"), ("amount[value]", value)]);
    }
    server.post(&on(id, "report_refund"), &form).await
}

/// A lifecycle rule broken: 400, no code, `param` as given.
fn assert_rule_broken(r: &Resp, param: Option<&str>) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error", "{}", r.body);
    assert!(r.json["error"].get("code").is_none(), "{}", r.body);
    assert_eq!(
        r.json["error"].get("param").and_then(Value::as_str),
        param,
        "{}",
        r.body
    );
}

fn assert_invalid(r: &Resp, param: &str) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error", "{}", r.body);
    assert_eq!(r.error("param"), param, "{}", r.body);
    let code = r.error("code").as_str().unwrap_or_default();
    assert!(code.starts_with("parameter_invalid"), "{}", r.body);
}

async fn amount_equals_amount_requested_on_the_record_and_every_attempt(server: TestServer) {
    let form = payment_with(&[
        ("amount_requested[currency]", "jpy"),
        ("amount_requested[value]", "4321"),
    ]);
    let id = id_of(&ok(server.post(REPORT_PAYMENT, &form).await).await);
    settle(&server, &id, "failed").await;
    new_attempt(&server, &id).await;
    let expected = json!({"currency": "jpy", "value": 4321});
    let record = server.retrieve_record(&id).await;
    for object in std::iter::once(&record).chain(&server.attempts_of(&id).await) {
        assert_eq!(object["amount_requested"], expected, "{}", object["id"]);
        assert_eq!(object["amount"], expected, "{}", object["id"]);
    }
}

async fn each_state_carries_the_requested_amount_as_its_own_portion_and_zero_elsewhere(server: TestServer) {
    let pending = server.report_payment(1000).await;
    for field in PORTIONS {
        assert_eq!(value_of(&pending, field), 0, "pending: {field}");
    }
    for outcome in OUTCOMES {
        let id = id_of(&server.report_payment(1000).await);
        let record = settle(&server, &id, outcome).await;
        let attempt = &server.attempts_of(&id).await[0];
        for object in [&record, attempt] {
            for field in PORTIONS {
                let own =
                    field == format!("amount_{outcome}") || (outcome == "guaranteed" && field == "amount_authorized");
                assert_eq!(
                    value_of(object, field),
                    if own { 1000 } else { 0 },
                    "{outcome}: {field}"
                );
            }
        }
    }
}

async fn a_records_portions_mirror_its_latest_attempt(server: TestServer) {
    let id = id_of(&server.report_payment(1000).await);
    settle(&server, &id, "failed").await;
    let record = new_attempt(&server, &id).await;
    for field in PORTIONS {
        assert_eq!(value_of(&record, field), 0, "the pending latest attempt: {field}");
    }
    let all = server.attempts_of(&id).await;
    assert_eq!(
        value_of(&all[1], "amount_failed"),
        1000,
        "the failed attempt keeps its portion"
    );
    let record = settle(&server, &id, "canceled").await;
    for field in PORTIONS {
        assert_eq!(record[field], server.attempts_of(&id).await[0][field], "{field}");
    }
    assert_eq!(
        value_of(&record, "amount_failed"),
        0,
        "portions never sum past the request"
    );
}

async fn amount_authorized_equals_amount_guaranteed(server: TestServer) {
    let id = id_of(&server.report_payment(750).await);
    let check = |record: &Value| assert_eq!(record["amount_authorized"], record["amount_guaranteed"], "{record}");
    check(&server.retrieve_record(&id).await);
    check(&settle(&server, &id, "guaranteed").await);
    check(&ok(refund(&server, &id, "r1", Some("100")).await).await);
    check(&server.attempts_of(&id).await[0]);
}

async fn refunds_accumulate_on_the_record_and_the_guaranteed_attempt(server: TestServer) {
    let id = id_of(&server.report_payment(1000).await);
    settle(&server, &id, "failed").await;
    new_attempt(&server, &id).await;
    settle(&server, &id, "guaranteed").await;
    for (reference, value, total) in [("r1", "100", 100), ("r2", "250", 350), ("r3", "1", 351)] {
        let record = ok(refund(&server, &id, reference, Some(value)).await).await;
        assert_eq!(value_of(&record, "amount_refunded"), total);
        assert_eq!(
            value_of(&record, "amount_guaranteed"),
            1000,
            "the guarantee does not shrink"
        );
        let all = server.attempts_of(&id).await;
        assert_eq!(value_of(&all[0], "amount_refunded"), total, "the guaranteed attempt");
        assert_eq!(value_of(&all[1], "amount_refunded"), 0, "the failed attempt");
    }
}

async fn a_refund_without_an_amount_refunds_the_remainder(server: TestServer) {
    let id = guaranteed(&server, 1000).await;
    ok(refund(&server, &id, "r1", Some("300")).await).await;
    let record = ok(refund(&server, &id, "r2", None).await).await;
    assert_eq!(value_of(&record, "amount_refunded"), 1000);
    assert_eq!(value_of(&server.attempts_of(&id).await[0], "amount_refunded"), 1000);
    let untouched = guaranteed(&server, 555).await;
    let record = ok(refund(&server, &untouched, "r3", None).await).await;
    assert_eq!(value_of(&record, "amount_refunded"), 555, "the whole guarantee");
}

async fn a_refund_beyond_the_remainder_is_rejected(server: TestServer) {
    let id = guaranteed(&server, 1000).await;
    assert_rule_broken(&refund(&server, &id, "r1", Some("1001")).await, Some("amount[value]"));
    ok(refund(&server, &id, "r2", Some("600")).await).await;
    assert_rule_broken(&refund(&server, &id, "r3", Some("401")).await, Some("amount[value]"));
    assert_eq!(value_of(&server.retrieve_record(&id).await, "amount_refunded"), 600);
    let record = ok(refund(&server, &id, "r4", Some("400")).await).await;
    assert_eq!(
        value_of(&record, "amount_refunded"),
        1000,
        "exactly the remainder is fine"
    );
}

async fn a_fully_refunded_record_rejects_further_refunds(server: TestServer) {
    let id = guaranteed(&server, 1000).await;
    ok(refund(&server, &id, "r1", None).await).await;
    assert_rule_broken(&refund(&server, &id, "r2", None).await, None);
    assert_rule_broken(&refund(&server, &id, "r3", Some("1")).await, None);
    assert_eq!(value_of(&server.retrieve_record(&id).await, "amount_refunded"), 1000);
}

async fn a_refund_before_a_guarantee_is_rejected(server: TestServer) {
    for outcome in [None, Some("failed"), Some("canceled")] {
        let id = id_of(&server.report_payment(1000).await);
        if let Some(outcome) = outcome {
            settle(&server, &id, outcome).await;
        }
        assert_rule_broken(&refund(&server, &id, "r1", Some("100")).await, None);
        assert_rule_broken(&refund(&server, &id, "r2", None).await, None);
        assert_eq!(
            value_of(&server.retrieve_record(&id).await, "amount_refunded"),
            0,
            "{outcome:?}"
        );
    }
}

async fn a_refunds_currency_must_match_the_records(server: TestServer) {
    let id = guaranteed(&server, 1000).await;
    let form = [
        ("outcome", "refunded"),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][refund_reference]", "r1"),
        ("amount[currency]", "eur"),
        ("amount[value]", "100"),
    ];
    assert_rule_broken(
        &server.post(&on(&id, "report_refund"), &form).await,
        Some("amount[currency]"),
    );
    assert_eq!(value_of(&server.retrieve_record(&id).await, "amount_refunded"), 0);
}

async fn a_refund_reference_is_unique_per_account_and_mode(server: TestServer) {
    let first = guaranteed(&server, 1000).await;
    let second = guaranteed(&server, 1000).await;
    ok(refund(&server, &first, "shared_ref", Some("100")).await).await;
    for id in [&first, &second] {
        let r = refund(&server, id, "shared_ref", Some("100")).await;
        assert_rule_broken(&r, Some("processor_details[custom][refund_reference]"));
    }
    assert_eq!(value_of(&server.retrieve_record(&first).await, "amount_refunded"), 100);
    assert_eq!(value_of(&server.retrieve_record(&second).await, "amount_refunded"), 0);
    // A rejected refund does not take its reference.
    assert_rule_broken(
        &refund(&server, &second, "unused", Some("5000")).await,
        Some("amount[value]"),
    );
    ok(refund(&server, &second, "unused", Some("100")).await).await;
}

/// POST with another key.
async fn post_as(server: &TestServer, key: &str, path: &str, form: &[(&str, &str)]) -> Resp {
    server
        .request(Method::POST, path, Auth::Bearer(key.to_owned()), form, &[])
        .await
}

async fn the_same_refund_reference_is_fine_in_another_account_or_in_live_mode(server: TestServer) {
    let id = guaranteed(&server, 1000).await;
    ok(refund(&server, &id, "shared_ref", Some("100")).await).await;
    let other_account = server.new_account_key(false).await;
    for key in [server.live_key.clone(), other_account] {
        let record = ok(post_as(&server, &key, REPORT_PAYMENT, &payment_with(&[])).await).await;
        let id = id_of(&record);
        let guarantee = [("guaranteed_at", SETTLED_AT)];
        ok(post_as(&server, &key, &on(&id, "report_payment_attempt_guaranteed"), &guarantee).await).await;
        let form = [
            ("outcome", "refunded"),
            ("processor_details[type]", "custom"),
            ("processor_details[custom][refund_reference]", "shared_ref"),
        ];
        let record = ok(post_as(&server, &key, &on(&id, "report_refund"), &form).await).await;
        assert_eq!(value_of(&record, "amount_refunded"), 1000);
    }
}

async fn a_currency_is_a_lowercase_iso_4217_code(server: TestServer) {
    for currency in ["usd", "eur", "jpy", "chf"] {
        let r = server
            .post(
                REPORT_PAYMENT,
                &payment_with(&[("amount_requested[currency]", currency)]),
            )
            .await;
        assert_eq!(ok(r).await["amount"]["currency"], currency);
    }
    for currency in ["USD", "Usd", "xyz", "us", "usdd", "€"] {
        let r = server
            .post(
                REPORT_PAYMENT,
                &payment_with(&[("amount_requested[currency]", currency)]),
            )
            .await;
        assert_invalid(&r, "amount_requested[currency]");
    }
    let id = guaranteed(&server, 1000).await;
    for currency in ["USD", "xyz"] {
        let form = [
            ("outcome", "refunded"),
            ("processor_details[type]", "custom"),
            ("processor_details[custom][refund_reference]", "r1"),
            ("amount[currency]", currency),
            ("amount[value]", "100"),
        ];
        assert_invalid(&server.post(&on(&id, "report_refund"), &form).await, "amount[currency]");
    }
}

async fn an_amount_value_is_an_integer_from_1_to_999999999999(server: TestServer) {
    for value in ["1", "999999999999"] {
        let r = server
            .post(REPORT_PAYMENT, &payment_with(&[("amount_requested[value]", value)]))
            .await;
        assert_eq!(ok(r).await["amount_requested"]["value"].to_string(), value);
    }
    for value in ["0", "-1", "1000000000000", "99999999999999999999", "12.5", "ten", "1e3"] {
        let r = server
            .post(REPORT_PAYMENT, &payment_with(&[("amount_requested[value]", value)]))
            .await;
        assert_eq!(r.status, 400, "{value}: {}", r.body);
        assert_eq!(r.error("param"), "amount_requested[value]", "{value}");
        assert_eq!(r.error("code"), "parameter_invalid_integer", "{value}");
    }
    let r = server
        .post(REPORT_PAYMENT, &payment_with(&[("amount_requested[value]", "12.5")]))
        .await;
    assert_eq!(r.error("message"), "Invalid integer: 12.5");
    let id = guaranteed(&server, 1000).await;
    for value in ["0", "-1", "1000000000000"] {
        let r = refund(&server, &id, "r1", Some(value)).await;
        assert_invalid(&r, "amount[value]");
    }
    assert_eq!(value_of(&server.retrieve_record(&id).await, "amount_refunded"), 0);
}

/// Checks `canceled + failed + guaranteed ≤ requested`, `refunded ≤ guaranteed` and one currency
/// on the record and every attempt.
async fn assert_invariants(server: &TestServer, id: &str, step: &str) {
    let record = server.retrieve_record(id).await;
    let currency = &record["amount_requested"]["currency"];
    for object in std::iter::once(&record).chain(&server.attempts_of(id).await) {
        let requested = value_of(object, "amount_requested");
        let portions: i64 = ["amount_canceled", "amount_failed", "amount_guaranteed"]
            .iter()
            .map(|f| value_of(object, f))
            .sum();
        assert!(
            portions <= requested,
            "{step}: portions {portions} > {requested}: {object}"
        );
        let refunded = value_of(object, "amount_refunded");
        assert!(
            (0..=value_of(object, "amount_guaranteed")).contains(&refunded),
            "{step}: {object}"
        );
        for field in PORTIONS
            .iter()
            .chain(&["amount", "amount_refunded", "amount_requested"])
        {
            assert_eq!(&object[field]["currency"], currency, "{step}: {field}");
        }
    }
}

async fn the_amount_invariants_hold_over_a_payments_whole_life(server: TestServer) {
    let form = payment_with(&[
        ("amount_requested[currency]", "eur"),
        ("amount_requested[value]", "900"),
    ]);
    let id = id_of(&ok(server.post(REPORT_PAYMENT, &form).await).await);
    assert_invariants(&server, &id, "pending").await;
    settle(&server, &id, "failed").await;
    assert_invariants(&server, &id, "failed").await;
    new_attempt(&server, &id).await;
    settle(&server, &id, "canceled").await;
    assert_invariants(&server, &id, "canceled").await;
    new_attempt(&server, &id).await;
    settle(&server, &id, "guaranteed").await;
    assert_invariants(&server, &id, "guaranteed").await;
    let refund_eur = |reference: &'static str, value: &'static str| {
        [
            ("outcome", "refunded"),
            ("processor_details[type]", "custom"),
            ("processor_details[custom][refund_reference]", reference),
            ("amount[currency]", "eur"),
            ("amount[value]", value),
        ]
    };
    for (reference, value, status) in [("a", "400", 200), ("b", "501", 400), ("c", "500", 200), ("d", "1", 400)] {
        let r = server
            .post(&on(&id, "report_refund"), &refund_eur(reference, value))
            .await;
        assert_eq!(r.status, status, "refund {value}: {}", r.body);
        assert_invariants(&server, &id, &format!("refund {value}")).await;
    }
    assert_rule_broken(&new_attempt_resp(&server, &id).await, None);
    assert_invariants(&server, &id, "after a rejected attempt").await;
}

async fn new_attempt_resp(server: &TestServer, id: &str) -> Resp {
    server
        .post(&on(id, "report_payment_attempt"), &[("initiated_at", "1730253425")])
        .await
}

async fn report_refund_requires_outcome_refunded_and_a_custom_refund_reference(server: TestServer) {
    let id = guaranteed(&server, 1000).await;
    let full = [
        ("outcome", "refunded"),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][refund_reference]", "r1"),
    ];
    for (i, param) in [
        "outcome",
        "processor_details[type]",
        "processor_details[custom][refund_reference]",
    ]
    .iter()
    .enumerate()
    {
        let form: Vec<(&str, &str)> = full
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| *p)
            .collect();
        let r = server.post(&on(&id, "report_refund"), &form).await;
        assert_eq!(r.status, 400, "{param}: {}", r.body);
        assert_eq!(r.error("code"), "parameter_missing", "{param}: {}", r.body);
    }
    for (param, value) in [("outcome", "guaranteed"), ("processor_details[type]", "card")] {
        let form: Vec<(&str, &str)> = full
            .iter()
            .map(|&(k, v)| (k, if k == param { value } else { v }))
            .collect();
        assert_invalid(&server.post(&on(&id, "report_refund"), &form).await, param);
    }
    assert_eq!(value_of(&server.retrieve_record(&id).await, "amount_refunded"), 0);
}

async fn refunded_is_optional_but_needs_refunded_at_when_given(server: TestServer) {
    let id = guaranteed(&server, 1000).await;
    let form = [
        ("outcome", "refunded"),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][refund_reference]", "r1"),
        ("refunded[refunded_at]", ""),
    ];
    let r = server.post(&on(&id, "report_refund"), &form[..3]).await;
    assert_eq!(r.status, 200, "without refunded: {}", r.body);
    let id = guaranteed(&server, 1000).await;
    let r = server.post(&on(&id, "report_refund"), &form).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error("param"), "refunded[refunded_at]", "{}", r.body);
}

backend_tests!(
    amount_equals_amount_requested_on_the_record_and_every_attempt,
    each_state_carries_the_requested_amount_as_its_own_portion_and_zero_elsewhere,
    a_records_portions_mirror_its_latest_attempt,
    amount_authorized_equals_amount_guaranteed,
    refunds_accumulate_on_the_record_and_the_guaranteed_attempt,
    a_refund_without_an_amount_refunds_the_remainder,
    a_refund_beyond_the_remainder_is_rejected,
    a_fully_refunded_record_rejects_further_refunds,
    a_refund_before_a_guarantee_is_rejected,
    a_refunds_currency_must_match_the_records,
    a_refund_reference_is_unique_per_account_and_mode,
    the_same_refund_reference_is_fine_in_another_account_or_in_live_mode,
    a_currency_is_a_lowercase_iso_4217_code,
    an_amount_value_is_an_integer_from_1_to_999999999999,
    the_amount_invariants_hold_over_a_payments_whole_life,
    report_refund_requires_outcome_refunded_and_a_custom_refund_reference,
    refunded_is_optional_but_needs_refunded_at_when_given,
);
