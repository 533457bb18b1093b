//! The Amounts section of API.md, one test per rule: the portions each state carries, the
//! record mirroring its latest attempt, refunds and their references, currency and value
//! bounds, and the invariants over a whole payment's life.

use crate::common::backend_test;
use crate::common::form::{assert_invalid_param, payment_with};
use crate::common::rules::{self, SETTLED_AT, assert_rule_broken, new_attempt, settle, value_of};
use crate::common::{Api, Resp, TestServer, id_of};
use serde_json::{Value, json};

const OUTCOMES: [&str; 3] = rules::OUTCOMES;
const PORTIONS: [&str; 4] = [
    "amount_guaranteed",
    "amount_failed",
    "amount_canceled",
    "amount_authorized",
];

/// A guaranteed payment of `value` usd; returns its id.
async fn guaranteed(server: &TestServer, value: i64) -> String {
    let id = id_of(&server.pending_payment(value).await);
    settle(server, &id, "guaranteed").await;
    id
}

/// report_refund with `reference` and, when given, `amount[value]` in usd.
async fn refund(server: &TestServer, id: &str, reference: &str, value: Option<&str>) -> Resp {
    let amount = value.map(|value| [("amount[currency]", "usd"), ("amount[value]", value)]);
    rules::refund(server, id, reference, amount.as_ref().map_or(&[][..], |a| &a[..])).await
}

#[backend_test]
async fn amount_equals_amount_requested_on_the_record_and_every_attempt(server: TestServer) {
    let form = payment_with(&[
        ("amount_requested[currency]", "jpy"),
        ("amount_requested[value]", "4321"),
    ]);
    let id = id_of(&server.report_payment(&form).await.ok());
    settle(&server, &id, "failed").await;
    new_attempt(&server, &id, &[]).await.ok();
    let expected = json!({"currency": "jpy", "value": 4321});
    let record = server.record(&id).await;
    for object in std::iter::once(&record).chain(&server.attempts_of(&id).await) {
        assert_eq!(object["amount_requested"], expected, "{}", object["id"]);
        assert_eq!(object["amount"], expected, "{}", object["id"]);
    }
}

#[backend_test]
async fn each_state_carries_the_requested_amount_as_its_own_portion_and_zero_elsewhere(server: TestServer) {
    let pending = server.pending_payment(1000).await;
    for field in PORTIONS {
        assert_eq!(value_of(&pending, field), 0, "pending: {field}");
    }
    for outcome in OUTCOMES {
        let id = id_of(&server.pending_payment(1000).await);
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

#[backend_test]
async fn a_records_portions_mirror_its_latest_attempt(server: TestServer) {
    let id = id_of(&server.pending_payment(1000).await);
    settle(&server, &id, "failed").await;
    let record = new_attempt(&server, &id, &[]).await.ok();
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

#[backend_test]
async fn amount_authorized_equals_amount_guaranteed(server: TestServer) {
    let id = id_of(&server.pending_payment(750).await);
    let check = |record: &Value| assert_eq!(record["amount_authorized"], record["amount_guaranteed"], "{record}");
    check(&server.record(&id).await);
    check(&settle(&server, &id, "guaranteed").await);
    check(&refund(&server, &id, "r1", Some("100")).await.ok());
    check(&server.attempts_of(&id).await[0]);
}

#[backend_test]
async fn refunds_accumulate_on_the_record_and_the_guaranteed_attempt(server: TestServer) {
    let id = id_of(&server.pending_payment(1000).await);
    settle(&server, &id, "failed").await;
    new_attempt(&server, &id, &[]).await.ok();
    settle(&server, &id, "guaranteed").await;
    for (reference, value, total) in [("r1", "100", 100), ("r2", "250", 350), ("r3", "1", 351)] {
        let record = refund(&server, &id, reference, Some(value)).await.ok();
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

#[backend_test]
async fn a_refund_without_an_amount_refunds_the_remainder(server: TestServer) {
    let id = guaranteed(&server, 1000).await;
    refund(&server, &id, "r1", Some("300")).await.ok();
    let record = refund(&server, &id, "r2", None).await.ok();
    assert_eq!(value_of(&record, "amount_refunded"), 1000);
    assert_eq!(value_of(&server.attempts_of(&id).await[0], "amount_refunded"), 1000);
    let untouched = guaranteed(&server, 555).await;
    let record = refund(&server, &untouched, "r3", None).await.ok();
    assert_eq!(value_of(&record, "amount_refunded"), 555, "the whole guarantee");
}

#[backend_test]
async fn a_refund_beyond_the_remainder_is_rejected(server: TestServer) {
    let id = guaranteed(&server, 1000).await;
    assert_rule_broken(
        &refund(&server, &id, "r1", Some("1001")).await,
        None,
        Some("amount[value]"),
    );
    refund(&server, &id, "r2", Some("600")).await.ok();
    assert_rule_broken(
        &refund(&server, &id, "r3", Some("401")).await,
        None,
        Some("amount[value]"),
    );
    assert_eq!(value_of(&server.record(&id).await, "amount_refunded"), 600);
    let record = refund(&server, &id, "r4", Some("400")).await.ok();
    assert_eq!(
        value_of(&record, "amount_refunded"),
        1000,
        "exactly the remainder is fine"
    );
}

#[backend_test]
async fn a_fully_refunded_record_rejects_further_refunds(server: TestServer) {
    let id = guaranteed(&server, 1000).await;
    refund(&server, &id, "r1", None).await.ok();
    assert_rule_broken(&refund(&server, &id, "r2", None).await, None, None);
    assert_rule_broken(&refund(&server, &id, "r3", Some("1")).await, None, None);
    assert_eq!(value_of(&server.record(&id).await, "amount_refunded"), 1000);
}

#[backend_test]
async fn a_refund_before_a_guarantee_is_rejected(server: TestServer) {
    for outcome in [None, Some("failed"), Some("canceled")] {
        let id = id_of(&server.pending_payment(1000).await);
        if let Some(outcome) = outcome {
            settle(&server, &id, outcome).await;
        }
        assert_rule_broken(&refund(&server, &id, "r1", Some("100")).await, None, None);
        assert_rule_broken(&refund(&server, &id, "r2", None).await, None, None);
        assert_eq!(value_of(&server.record(&id).await, "amount_refunded"), 0, "{outcome:?}");
    }
}

#[backend_test]
async fn a_refunds_currency_must_match_the_records(server: TestServer) {
    let id = guaranteed(&server, 1000).await;
    let eur = [("amount[currency]", "eur"), ("amount[value]", "100")];
    let r = rules::refund(&server, &id, "r1", &eur).await;
    assert_rule_broken(&r, None, Some("amount[currency]"));
    assert_eq!(value_of(&server.record(&id).await, "amount_refunded"), 0);
}

#[backend_test]
async fn a_refund_reference_is_unique_per_account_and_mode(server: TestServer) {
    let first = guaranteed(&server, 1000).await;
    let second = guaranteed(&server, 1000).await;
    refund(&server, &first, "shared_ref", Some("100")).await.ok();
    for id in [&first, &second] {
        let r = refund(&server, id, "shared_ref", Some("100")).await;
        assert_rule_broken(&r, None, Some("processor_details[custom][refund_reference]"));
    }
    assert_eq!(value_of(&server.record(&first).await, "amount_refunded"), 100);
    assert_eq!(value_of(&server.record(&second).await, "amount_refunded"), 0);
    // A rejected refund does not take its reference.
    assert_rule_broken(
        &refund(&server, &second, "unused", Some("5000")).await,
        None,
        Some("amount[value]"),
    );
    refund(&server, &second, "unused", Some("100")).await.ok();
}

#[backend_test]
async fn the_same_refund_reference_is_fine_in_another_account_or_in_live_mode(server: TestServer) {
    let id = guaranteed(&server, 1000).await;
    refund(&server, &id, "shared_ref", Some("100")).await.ok();
    let other_account = server.new_account_key(false).await;
    for key in [server.live_key.clone(), other_account] {
        let as_key = server.with_key(&key);
        let record = as_key.report_payment(&payment_with(&[])).await.ok();
        let id = id_of(&record);
        let guarantee = [("guaranteed_at", SETTLED_AT)];
        as_key.report_guaranteed(&id, &guarantee).await.ok();
        let form = [
            ("outcome", "refunded"),
            ("processor_details[type]", "custom"),
            ("processor_details[custom][refund_reference]", "shared_ref"),
        ];
        let record = as_key.report_refund(&id, &form).await.ok();
        assert_eq!(value_of(&record, "amount_refunded"), 1000);
    }
}

#[backend_test]
async fn a_currency_is_a_lowercase_iso_4217_code(server: TestServer) {
    for currency in ["usd", "eur", "jpy", "chf"] {
        let r = server
            .report_payment(&payment_with(&[("amount_requested[currency]", currency)]))
            .await;
        assert_eq!(r.ok()["amount"]["currency"], currency);
    }
    for currency in ["USD", "Usd", "xyz", "us", "usdd", "€"] {
        let r = server
            .report_payment(&payment_with(&[("amount_requested[currency]", currency)]))
            .await;
        assert_invalid_param(&r, "amount_requested[currency]");
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
        assert_invalid_param(&server.report_refund(&id, &form).await, "amount[currency]");
    }
}

#[backend_test]
async fn an_amount_value_is_an_integer_from_1_to_999999999999(server: TestServer) {
    for value in ["1", "999999999999"] {
        let r = server
            .report_payment(&payment_with(&[("amount_requested[value]", value)]))
            .await;
        assert_eq!(r.ok()["amount_requested"]["value"].to_string(), value);
    }
    for value in ["0", "-1", "1000000000000", "99999999999999999999", "12.5", "ten", "1e3"] {
        let r = server
            .report_payment(&payment_with(&[("amount_requested[value]", value)]))
            .await;
        assert_eq!(r.status, 400, "{value}: {}", r.body);
        assert_eq!(r.error("param"), "amount_requested[value]", "{value}");
        assert_eq!(r.error("code"), "parameter_invalid_integer", "{value}");
    }
    let r = server
        .report_payment(&payment_with(&[("amount_requested[value]", "12.5")]))
        .await;
    assert_eq!(r.error("message"), "Invalid integer: 12.5");
    let id = guaranteed(&server, 1000).await;
    for value in ["0", "-1", "1000000000000"] {
        let r = refund(&server, &id, "r1", Some(value)).await;
        assert_invalid_param(&r, "amount[value]");
    }
    assert_eq!(value_of(&server.record(&id).await, "amount_refunded"), 0);
}

/// Checks `canceled + failed + guaranteed ≤ requested`, `refunded ≤ guaranteed` and one currency
/// on the record and every attempt.
async fn assert_invariants(server: &TestServer, id: &str, step: &str) {
    let record = server.record(id).await;
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

#[backend_test]
async fn the_amount_invariants_hold_over_a_payments_whole_life(server: TestServer) {
    let form = payment_with(&[
        ("amount_requested[currency]", "eur"),
        ("amount_requested[value]", "900"),
    ]);
    let id = id_of(&server.report_payment(&form).await.ok());
    assert_invariants(&server, &id, "pending").await;
    settle(&server, &id, "failed").await;
    assert_invariants(&server, &id, "failed").await;
    new_attempt(&server, &id, &[]).await.ok();
    settle(&server, &id, "canceled").await;
    assert_invariants(&server, &id, "canceled").await;
    new_attempt(&server, &id, &[]).await.ok();
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
        let r = server.report_refund(&id, &refund_eur(reference, value)).await;
        assert_eq!(r.status, status, "refund {value}: {}", r.body);
        assert_invariants(&server, &id, &format!("refund {value}")).await;
    }
    assert_rule_broken(&new_attempt(&server, &id, &[]).await, None, None);
    assert_invariants(&server, &id, "after a rejected attempt").await;
}

#[backend_test]
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
        let r = server.report_refund(&id, &form).await;
        assert_eq!(r.status, 400, "{param}: {}", r.body);
        assert_eq!(r.error("code"), "parameter_missing", "{param}: {}", r.body);
    }
    for (param, value) in [("outcome", "guaranteed"), ("processor_details[type]", "card")] {
        let form: Vec<(&str, &str)> = full
            .iter()
            .map(|&(k, v)| (k, if k == param { value } else { v }))
            .collect();
        assert_invalid_param(&server.report_refund(&id, &form).await, param);
    }
    assert_eq!(value_of(&server.record(&id).await, "amount_refunded"), 0);
}

#[backend_test]
async fn refunded_is_optional_but_needs_refunded_at_when_given(server: TestServer) {
    let id = guaranteed(&server, 1000).await;
    let form = [
        ("outcome", "refunded"),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][refund_reference]", "r1"),
        ("refunded[refunded_at]", ""),
    ];
    let r = server.report_refund(&id, &form[..3]).await;
    assert_eq!(r.status, 200, "without refunded: {}", r.body);
    let id = guaranteed(&server, 1000).await;
    let r = server.report_refund(&id, &form).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error("param"), "refunded[refunded_at]", "{}", r.body);
}
