//! The event catalogue's rules (API.md, "Event types"), call by call.

use serde_json::Value;

use super::*;
use crate::records::lifecycle::{
    Informational, NewAttempt, NewPayment, RefundReport, Transition, report_informational, report_outcome,
    report_payment, report_payment_attempt, report_refund,
};
use crate::records::model::{
    Amount, Currency, MetadataPatch, Outcome, PaymentAttemptRecordId, PaymentDetails, PaymentMethodDetails,
    PaymentRecordId,
};

const T0: i64 = 1_730_211_300;

fn payment(outcome: Option<Outcome>) -> PaymentState {
    report_payment(NewPayment {
        record_id: PaymentRecordId::new_unchecked("pr_000000000000000000000001"),
        attempt_id: PaymentAttemptRecordId::new_unchecked("par_000000000000000000000001"),
        livemode: false,
        now: T0,
        amount_requested: Amount {
            currency: Currency::new_unchecked("usd"),
            value: 1000,
        },
        initiated_at: T0,
        details: PaymentDetails {
            payment_method_details: Some(PaymentMethodDetails::default()),
            ..Default::default()
        },
        metadata: MetadataPatch::default(),
        outcome: outcome.map(|o| (o, T0 + 10)),
    })
    .expect("a valid payment")
}

fn types(events: &[EventDraft]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

fn events_of(before: &PaymentState, transition: &Transition) -> Vec<EventDraft> {
    record_events(
        Some(before),
        &transition.state,
        transition.new_attempt(),
        transition.refund().is_some(),
    )
}

fn previous(event: &EventDraft) -> Value {
    serde_json::from_str(event.previous_attributes.as_deref().expect("previous_attributes")).expect("JSON")
}

#[test]
fn report_payment_with_an_outcome_emits_record_created_attempt_created_then_the_outcome() {
    let state = payment(Some(Outcome::Guaranteed));
    let events = record_events(None, &state, true, false);
    assert_eq!(
        types(&events),
        [
            "payment_record.created",
            "payment_attempt_record.created",
            "payment_attempt_record.guaranteed"
        ]
    );
    assert_eq!(events[0].previous_attributes, None);
    assert_eq!(events[1].previous_attributes, None);
    // The outcome event shows what the outcome changed, from the attempt as it was pending.
    let previous = previous(&events[2]);
    assert_eq!(previous["amount_guaranteed"]["value"], 0);
    assert!(
        previous.get("amount_requested").is_none(),
        "unchanged fields are left out"
    );
    let object: Value = serde_json::from_str(&events[2].object).expect("JSON");
    assert_eq!(object["amount_guaranteed"]["value"], 1000);
}

#[test]
fn report_payment_pending_emits_two_events() {
    let events = record_events(None, &payment(None), true, false);
    assert_eq!(
        types(&events),
        ["payment_record.created", "payment_attempt_record.created"]
    );
}

#[test]
fn an_outcome_updates_the_record_then_takes_the_attempt_s_outcome() {
    let before = payment(None);
    for (outcome, kind) in [
        (Outcome::Guaranteed, "payment_attempt_record.guaranteed"),
        (Outcome::Failed, "payment_attempt_record.failed"),
        (Outcome::Canceled, "payment_attempt_record.canceled"),
    ] {
        let transition = report_outcome(&before, outcome, T0 + 5, &MetadataPatch::default()).expect("allowed");
        let events = events_of(&before, &transition);
        assert_eq!(types(&events), ["payment_record.updated", kind]);
        let field = format!("amount_{}", outcome.as_str());
        assert_eq!(previous(&events[0])[&field]["value"], 0, "{field}");
        assert_eq!(previous(&events[1])[&field]["value"], 0, "{field}");
        assert!(events.iter().all(|e| e.record_id == before.record.id.as_str()));
    }
}

#[test]
fn a_new_attempt_updates_the_record_and_creates_the_attempt() {
    let before = payment(Some(Outcome::Failed));
    let transition = report_payment_attempt(
        &before,
        NewAttempt {
            attempt_id: PaymentAttemptRecordId::new_unchecked("par_000000000000000000000002"),
            now: T0 + 20,
            initiated_at: T0 + 20,
            description: None,
            metadata: MetadataPatch::default(),
            outcome: Some((Outcome::Guaranteed, T0 + 21)),
            payment_method_details: None,
            shipping_details: None,
        },
    )
    .expect("allowed after a failure");
    let events = events_of(&before, &transition);
    assert_eq!(
        types(&events),
        [
            "payment_record.updated",
            "payment_attempt_record.created",
            "payment_attempt_record.guaranteed"
        ]
    );
    assert_eq!(
        previous(&events[0])["latest_payment_attempt_record"],
        "par_000000000000000000000001"
    );
}

#[test]
fn a_refund_updates_the_record_and_refunds_the_attempt() {
    let before = payment(Some(Outcome::Guaranteed));
    let transition = report_refund(
        &before,
        RefundReport {
            refund_reference: "ref_1".into(),
            amount: None,
            refunded_at: None,
            initiated_at: None,
            metadata: MetadataPatch::default(),
            now: T0 + 30,
        },
    )
    .expect("a guaranteed attempt can be refunded");
    let events = events_of(&before, &transition);
    assert_eq!(
        types(&events),
        ["payment_record.updated", "payment_attempt_record.refunded"]
    );
    assert_eq!(previous(&events[1])["amount_refunded"]["value"], 0);
}

#[test]
fn informational_changes_update_both_and_no_change_emits_nothing() {
    let before = payment(None);
    let described = Informational {
        description: Some(Some("a new description".into())),
        ..Default::default()
    };
    let transition = report_informational(&before, described).expect("allowed");
    let events = events_of(&before, &transition);
    assert_eq!(
        types(&events),
        ["payment_record.updated", "payment_attempt_record.updated"]
    );
    assert_eq!(previous(&events[0])["description"], Value::Null);
    let unchanged = report_informational(&transition.state, Informational::default()).expect("allowed");
    assert!(events_of(&transition.state, &unchanged).is_empty());
}

#[test]
fn data_object_is_the_api_rendering_of_the_object_after_the_call() {
    let state = payment(Some(Outcome::Guaranteed));
    let events = record_events(None, &state, true, false);
    let record = serde_json::to_string(&render::record(&state.record, None)).expect("JSON");
    assert_eq!(events[0].object, record);
    assert!(events[1].object.starts_with("{\"id\":\"par_"));
}
