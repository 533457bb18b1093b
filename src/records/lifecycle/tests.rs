//! The lifecycle rules of API.md ("Lifecycle", "Amounts"): one test per rule and per error, the
//! EXAMPLES.md sequence, then property tests that replay random call sequences the way the store
//! keeps them and check the invariants after every step.

use super::*;
use crate::metadata::{METADATA_KEYS_MAX, Metadata};
use crate::records::model::{AMOUNT_VALUE_MAX, Currency, portions};
use crate::records::model::{CustomerPresence, ProcessorDetails};
use Outcome::{Canceled, Failed, Guaranteed};

const T0: i64 = 1_730_211_300; // initiated_at of every first attempt here
const NO_PATCH: MetadataPatch = MetadataPatch {
    clear_all: false,
    entries: Vec::new(),
};

fn money(code: &str, value: i64) -> Amount {
    Amount {
        currency: Currency::new_unchecked(code),
        value,
    }
}

fn usd(value: i64) -> Amount {
    money("usd", value)
}

fn md(pairs: &[(&str, &str)]) -> Metadata {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn patch(entries: &[(&str, Option<&str>)]) -> MetadataPatch {
    let entries = entries.iter().map(|(k, v)| (k.to_string(), v.map(str::to_owned)));
    MetadataPatch {
        clear_all: false,
        entries: entries.collect(),
    }
}

fn attempt_id(n: usize) -> PaymentAttemptRecordId {
    PaymentAttemptRecordId::new_unchecked(format!("par_{n:024}"))
}

fn new_payment(value: i64, outcome: Option<(Outcome, i64)>) -> NewPayment {
    let details = PaymentDetails {
        customer_presence: Some(CustomerPresence::OnSession),
        description: Some("computer software".into()),
        payment_method_details: Some(PaymentMethodDetails::default()),
        processor_details: ProcessorDetails {
            payment_reference: Some("npp2358872734k".into()),
        },
        ..Default::default()
    };
    NewPayment {
        record_id: PaymentRecordId::new_unchecked("pr_e079ffd1dcc04e1779fd0d71"),
        attempt_id: attempt_id(1),
        livemode: false,
        now: 1_795_467_469,
        amount_requested: usd(value),
        initiated_at: T0,
        details,
        metadata: NO_PATCH,
        outcome,
    }
}

/// A 1000 usd payment, pending or already in `outcome` at `T0 + 10`.
fn payment(outcome: Option<Outcome>) -> PaymentState {
    report_payment(new_payment(1000, outcome.map(|o| (o, T0 + 10)))).unwrap()
}

fn new_attempt(n: usize, initiated_at: i64) -> NewAttempt {
    NewAttempt {
        attempt_id: attempt_id(n),
        now: 1_795_467_500,
        initiated_at,
        description: None,
        metadata: NO_PATCH,
        outcome: None,
        payment_method_details: None,
        shipping_details: None,
    }
}

fn refund(amount: Option<Amount>, refunded_at: Option<i64>) -> RefundReport {
    let now = 1_795_467_600;
    let refund_reference = "refund_12345".into();
    RefundReport {
        refund_reference,
        amount,
        refunded_at,
        initiated_at: None,
        metadata: NO_PATCH,
        now,
    }
}

fn outcome(state: &PaymentState, o: Outcome, at: i64) -> Result<PaymentState, LifecycleError> {
    report_outcome(state, o, at, &NO_PATCH).map(|t| t.state)
}

/// (guaranteed, failed, canceled, refunded), as the record renders them.
fn amounts(record: &PaymentRecord) -> (i64, i64, i64, i64) {
    let (g, f, c) = portions(record.latest_attempt_state, record.amount_requested.value);
    (g, f, c, record.amount_refunded)
}

/// Each outcome with the amounts a 1000 record shows in it.
const PORTIONS: [(Outcome, (i64, i64, i64, i64)); 3] = [
    (Guaranteed, (1000, 0, 0, 0)),
    (Failed, (0, 1000, 0, 0)),
    (Canceled, (0, 0, 1000, 0)),
];

#[test]
fn report_payment_creates_a_pending_record_and_its_first_attempt() {
    let PaymentState { record, latest } = payment(None);
    assert_eq!(record.latest_attempt, latest.id);
    assert_eq!(latest.payment_record, record.id);
    assert_eq!([record.created, latest.created], [1_795_467_469; 2]);
    assert_eq!(latest.initiated_at, T0);
    assert_eq!([&record.amount_requested, &latest.amount_requested], [&usd(1000); 2]);
    assert_eq!([record.latest_attempt_state, latest.state], [AttemptState::Pending; 2]);
    assert_eq!(record.details, latest.details);
    assert_eq!(amounts(&record), (0, 0, 0, 0));
    assert!(invariant_violations(&record, &[latest]).is_empty());
}

#[test]
fn report_payment_with_an_outcome_starts_in_that_state() {
    for (o, expected) in PORTIONS {
        // At the very instant of initiation is fine: the bound is inclusive.
        let s = report_payment(new_payment(1000, Some((o, T0)))).unwrap();
        assert_eq!([s.record.latest_attempt_state, s.latest.state], [o.state_at(T0); 2]);
        assert_eq!(amounts(&s.record), expected);
    }
}

#[test]
fn report_payment_outcome_before_initiated_at_is_rejected() {
    let params = [
        (Guaranteed, "guaranteed[guaranteed_at]"),
        (Failed, "failed[failed_at]"),
        (Canceled, "canceled[canceled_at]"),
    ];
    for (o, param) in params {
        let err = report_payment(new_payment(1000, Some((o, T0 - 1)))).unwrap_err();
        assert_eq!(
            err,
            LifecycleError::OutcomeBeforeInitiated {
                param,
                at: T0 - 1,
                initiated_at: T0
            }
        );
        assert_eq!(err.param(), Some(param));
    }
}

#[test]
fn report_payment_metadata_is_the_patch_on_record_and_attempt() {
    let mut cmd = new_payment(1000, None);
    cmd.metadata = patch(&[("order", Some("6735")), ("gone", Some("x")), ("gone", None)]);
    let s = report_payment(cmd).unwrap();
    assert_eq!(
        [&s.record.details.metadata, &s.latest.details.metadata],
        [&md(&[("order", "6735")]); 2]
    );
}

#[test]
fn new_attempt_after_a_failed_or_canceled_attempt_becomes_latest() {
    for o in [Failed, Canceled] {
        let before = payment(Some(o));
        let t = report_payment_attempt(&before, new_attempt(2, T0 + 100)).unwrap();
        assert!(t.new_attempt() && t.refund().is_none());
        let PaymentState { record, latest } = t.state;
        assert_eq!([&record.latest_attempt, &latest.id], [&attempt_id(2); 2]);
        assert_eq!([record.latest_attempt_state, latest.state], [AttemptState::Pending; 2]);
        assert_eq!((latest.created, latest.initiated_at), (1_795_467_500, T0 + 100));
        assert_eq!(amounts(&record), (0, 0, 0, 0));
        assert!(invariant_violations(&record, &[before.latest, latest]).is_empty());
    }
}

#[test]
fn a_new_attempt_is_never_older_than_the_attempt_it_follows() {
    let before = payment(Some(Failed));
    let mut cmd = new_attempt(2, T0 + 100);
    // The request arrived before the one that made the failed attempt took the record's lock.
    cmd.now = before.latest.created - 1;
    let t = report_payment_attempt(&before, cmd).unwrap();
    assert_eq!(t.state.latest.created, before.latest.created);
}

#[test]
fn new_attempt_while_the_latest_is_pending_or_guaranteed_is_rejected() {
    for s in [payment(None), payment(Some(Guaranteed))] {
        let err = report_payment_attempt(&s, new_attempt(2, T0)).unwrap_err();
        assert_eq!(err, LifecycleError::NewAttemptNotAllowed);
        let expected =
            "A new payment attempt can only be reported if all other payment attempts are canceled or failed.";
        assert_eq!((err.message().as_str(), err.param()), (expected, None));
    }
}

#[test]
fn new_attempt_inherits_amount_customer_and_processor_details_from_the_record() {
    let mut s = payment(Some(Failed));
    let email = Some("jenny@example.com".to_string());
    s.record.details.customer_details = Some(CustomerDetails {
        email,
        ..Default::default()
    });
    let t = report_payment_attempt(&s, new_attempt(2, T0)).unwrap().state;
    assert_eq!(t.latest.amount_requested, s.record.amount_requested);
    assert_eq!([&t.record.details, &t.latest.details], [&s.record.details; 2]);
}

#[test]
fn new_attempt_fields_given_on_the_call_replace_the_records() {
    let s = payment(Some(Failed));
    let mut cmd = new_attempt(2, T0);
    cmd.description = Some("computer software, retry".into());
    let payment_method = Some("pm_new".to_string());
    cmd.payment_method_details = Some(PaymentMethodDetails {
        payment_method,
        ..Default::default()
    });
    cmd.shipping_details = Some(ShippingDetails {
        name: Some("Jenny".into()),
        ..Default::default()
    });
    let t = report_payment_attempt(&s, cmd.clone()).unwrap().state;
    for details in [&t.record.details, &t.latest.details] {
        assert_eq!(details.description, cmd.description);
        assert_eq!(details.payment_method_details, cmd.payment_method_details);
        assert_eq!(details.shipping_details, cmd.shipping_details);
        assert_eq!(details.customer_presence, s.record.details.customer_presence);
    }
}

#[test]
fn new_attempt_metadata_merges_into_the_records_and_the_attempt_starts_from_it() {
    let mut s = payment(Some(Canceled));
    s.record.details.metadata = md(&[("a", "1"), ("b", "2")]);
    let mut cmd = new_attempt(2, T0);
    cmd.metadata = patch(&[("b", None), ("c", Some("3"))]);
    let t = report_payment_attempt(&s, cmd).unwrap().state;
    assert_eq!(
        [&t.record.details.metadata, &t.latest.details.metadata],
        [&md(&[("a", "1"), ("c", "3")]); 2]
    );
}

#[test]
fn new_attempt_with_an_outcome_checks_it_against_its_own_initiated_at() {
    let s = payment(Some(Failed));
    let mut cmd = new_attempt(2, T0 + 100);
    cmd.outcome = Some((Guaranteed, T0 + 99));
    let err = report_payment_attempt(&s, cmd.clone()).unwrap_err();
    assert_eq!(err.param(), Some("guaranteed[guaranteed_at]"));
    cmd.outcome = Some((Guaranteed, T0 + 100));
    let t = report_payment_attempt(&s, cmd).unwrap().state;
    assert_eq!(t.record.latest_attempt_state, AttemptState::Guaranteed { at: T0 + 100 });
    assert_eq!(amounts(&t.record), (1000, 0, 0, 0));
}

#[test]
fn outcome_on_a_pending_attempt_sets_its_state_and_portion() {
    let s = payment(None);
    for (o, expected) in PORTIONS {
        let t = report_outcome(&s, o, T0 + 7, &NO_PATCH).unwrap();
        assert!(!t.new_attempt() && t.refund().is_none());
        assert_eq!(t.state.latest.id, s.latest.id);
        assert_eq!(
            [t.state.record.latest_attempt_state, t.state.latest.state],
            [o.state_at(T0 + 7); 2]
        );
        assert_eq!(amounts(&t.state.record), expected);
    }
}

#[test]
fn outcome_on_an_attempt_that_is_already_terminal_is_rejected() {
    let cases = [
        (
            Guaranteed,
            LifecycleError::AttemptAlreadyGuaranteed,
            "is already guaranteed.",
        ),
        (Failed, LifecycleError::AttemptAlreadyFailed, "has already failed."),
        (
            Canceled,
            LifecycleError::AttemptAlreadyCanceled,
            "has already been canceled.",
        ),
    ];
    for (state, expected, ending) in cases {
        let s = payment(Some(state));
        for o in [Guaranteed, Failed, Canceled] {
            let err = outcome(&s, o, T0 + 20).unwrap_err();
            assert_eq!((&err, err.param()), (&expected, None));
            let sentence = format!("The latest payment attempt on this Payment Record {ending}");
            assert_eq!(err.message(), sentence);
        }
    }
}

#[test]
fn outcome_before_initiated_at_is_rejected_naming_the_top_level_param() {
    let s = payment(None);
    for (o, param) in [
        (Guaranteed, "guaranteed_at"),
        (Failed, "failed_at"),
        (Canceled, "canceled_at"),
    ] {
        let err = outcome(&s, o, T0 - 1).unwrap_err();
        assert_eq!(err.param(), Some(param));
        let expected = format!(
            "The {param} timestamp (1730211299) must not be earlier than the payment attempt's initiated_at (1730211300)."
        );
        assert_eq!(err.message(), expected);
    }
}

#[test]
fn outcome_metadata_merges_into_the_record_and_the_latest_attempt() {
    let t = report_outcome(&payment(None), Failed, T0, &patch(&[("why", Some("declined"))])).unwrap();
    assert_eq!(
        [&t.state.record.details.metadata, &t.state.latest.details.metadata],
        [&md(&[("why", "declined")]); 2]
    );
}

mod refunds_and_informational;

mod props;
