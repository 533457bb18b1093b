//! The Lifecycle rules of API.md about reporting an outcome: the three outcome endpoints'
//! parameters, `outcome` and its sub-object going together **[payrec]**, and outcome and refund
//! timestamps that may not precede the attempt's `initiated_at` or the guarantee **[payrec]**.

use crate::common::backend_test;
use crate::common::form::payment_with;
use crate::common::rules::{
    OUTCOMES, SETTLED_AT, assert_param_error, assert_rule_broken, new_attempt, pending, report_outcome, settle,
    value_of,
};
use crate::common::{Api, Report, TestServer};

const INITIATED_AT: &str = "1730211300";
const LATER: &str = "1730211400";

#[backend_test]
async fn the_outcome_endpoints_take_exactly_their_timestamp_metadata_and_expand(server: TestServer) {
    let id = pending(&server).await;
    for outcome in OUTCOMES {
        let call = Report::outcome(outcome);
        let missing = server.report(&id, call, &[("metadata[k]", "v")]).await;
        assert_param_error(&missing, Some("parameter_missing"), &format!("{outcome}_at"));
        let other = if outcome == "failed" {
            "canceled_at"
        } else {
            "failed_at"
        };
        let key = format!("{outcome}_at");
        let unknown = server.report(&id, call, &[(&key, LATER), (other, LATER)]).await;
        assert_param_error(&unknown, Some("parameter_unknown"), other);
        let sub_object = format!("{outcome}[{outcome}_at]");
        let unknown = server.report(&id, call, &[(&sub_object, LATER)]).await;
        assert_param_error(&unknown, Some("parameter_unknown"), outcome);
    }
    let r = server
        .report_canceled(&id, &[("canceled_at", LATER), ("metadata[k]", "v")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[backend_test]
async fn an_outcome_without_its_sub_object_is_missing_that_sub_object(server: TestServer) {
    let id = pending(&server).await;
    settle(&server, &id, "failed").await;
    for outcome in OUTCOMES {
        let message = format!("Missing required param: {outcome}.");
        let r = server.report_payment(&payment_with(&[("outcome", outcome)])).await;
        assert_param_error(&r, Some("parameter_missing"), outcome);
        assert_eq!(r.error("message"), message.as_str());
        let r = new_attempt(&server, &id, &[("outcome", outcome)]).await;
        assert_param_error(&r, Some("parameter_missing"), outcome);
        assert_eq!(r.error("message"), message.as_str());
    }
}

#[backend_test]
async fn a_sub_object_without_the_matching_outcome_is_rejected_naming_the_sub_object(server: TestServer) {
    let id = pending(&server).await;
    settle(&server, &id, "failed").await;
    for outcome in OUTCOMES {
        let key = format!("{outcome}[{outcome}_at]");
        let alone = [(key.as_str(), LATER)];
        let r = server.report_payment(&payment_with(&alone)).await;
        assert_param_error(&r, None, outcome);
        assert_param_error(&new_attempt(&server, &id, &alone).await, None, outcome);
        let other = if outcome == "failed" { "canceled" } else { "failed" };
        let mismatched = [("outcome", other), (key.as_str(), LATER)];
        let r = server.report_payment(&payment_with(&mismatched)).await;
        assert_param_error(&r, None, outcome);
    }
    assert_eq!(server.attempts_of(&id).await.len(), 1);
}

#[backend_test]
async fn two_outcome_sub_objects_are_rejected_naming_the_one_that_does_not_match(server: TestServer) {
    let r = server
        .report_payment(&payment_with(&[
            ("outcome", "guaranteed"),
            ("guaranteed[guaranteed_at]", LATER),
            ("failed[failed_at]", LATER),
        ]))
        .await;
    assert_param_error(&r, None, "failed");
    let r = server
        .report_payment(&payment_with(&[
            ("outcome", "canceled"),
            ("guaranteed[guaranteed_at]", LATER),
            ("canceled[canceled_at]", LATER),
        ]))
        .await;
    assert_param_error(&r, None, "guaranteed");
}

#[backend_test]
async fn outcome_timestamps_may_not_precede_the_attempts_initiated_at(server: TestServer) {
    let early = "1730211299";
    for outcome in OUTCOMES {
        let key = format!("{outcome}[{outcome}_at]");
        let r = server
            .report_payment(&payment_with(&[("outcome", outcome), (&key, early)]))
            .await;
        assert_rule_broken(&r, None, Some(&key));
        let id = pending(&server).await;
        let r = report_outcome(&server, &id, outcome, early).await;
        assert_rule_broken(&r, None, Some(&format!("{outcome}_at")));
        let same_second = report_outcome(&server, &id, outcome, INITIATED_AT).await;
        assert_eq!(
            same_second.status, 200,
            "equal to initiated_at is fine: {}",
            same_second.body
        );
    }
    // A new attempt is checked against its own initiated_at, not the first attempt's.
    let id = pending(&server).await;
    settle(&server, &id, "failed").await;
    let r = new_attempt(&server, &id, &[("outcome", "failed"), ("failed[failed_at]", LATER)]).await;
    assert_rule_broken(&r, None, Some("failed[failed_at]"));
    assert_eq!(new_attempt(&server, &id, &[]).await.status, 200);
    let r = report_outcome(&server, &id, "guaranteed", LATER).await;
    assert_rule_broken(&r, None, Some("guaranteed_at"));
}

#[backend_test]
async fn a_refunds_refunded_at_may_not_precede_the_guarantee(server: TestServer) {
    let id = pending(&server).await;
    settle(&server, &id, "guaranteed").await;
    let refund = |reference: &'static str, at: &'static str| {
        [
            ("outcome", "refunded"),
            ("processor_details[type]", "custom"),
            ("processor_details[custom][refund_reference]", reference),
            ("refunded[refunded_at]", at),
            ("amount[currency]", "usd"),
            ("amount[value]", "100"),
        ]
    };
    let r = server.report_refund(&id, &refund("r1", "1730259999")).await;
    assert_rule_broken(&r, None, Some("refunded[refunded_at]"));
    assert_eq!(value_of(&server.record(&id).await, "amount_refunded"), 0);
    let r = server.report_refund(&id, &refund("r2", SETTLED_AT)).await;
    assert_eq!(r.status, 200, "at the guarantee is fine: {}", r.body);
}
