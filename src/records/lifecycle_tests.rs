//! The lifecycle rules of API.md ("Lifecycle", "Amounts"): one test per rule and per error, the
//! EXAMPLES.md sequence, then property tests that replay random call sequences the way the store
//! keeps them and check the invariants after every step.

use super::*;
use crate::records::model::{AMOUNT_VALUE_MAX, portions};
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
        assert!(t.new_attempt && t.refund.is_none());
        let PaymentState { record, latest } = t.state;
        assert_eq!([&record.latest_attempt, &latest.id], [&attempt_id(2); 2]);
        assert_eq!([record.latest_attempt_state, latest.state], [AttemptState::Pending; 2]);
        assert_eq!((latest.created, latest.initiated_at), (1_795_467_500, T0 + 100));
        assert_eq!(amounts(&record), (0, 0, 0, 0));
        assert!(invariant_violations(&record, &[before.latest, latest]).is_empty());
    }
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
        assert!(!t.new_attempt && t.refund.is_none());
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

#[test]
fn informational_merges_customer_details_field_by_field() {
    let customer = |email: Option<&str>, name: Option<&str>| CustomerDetails {
        email: email.map(str::to_owned),
        name: name.map(str::to_owned),
        ..Default::default()
    };
    let update = |c| Informational {
        customer_details: Some(c),
        ..Default::default()
    };
    let s = report_informational(&payment(None), update(customer(Some("a@example.com"), None))).unwrap();
    let s = report_informational(&s.state, update(customer(None, Some("Jenny Rosen"))))
        .unwrap()
        .state;
    let expected = Some(customer(Some("a@example.com"), Some("Jenny Rosen")));
    assert_eq!(
        [&s.record.details.customer_details, &s.latest.details.customer_details],
        [&expected; 2]
    );
}

#[test]
fn informational_sets_replaces_and_unsets_description_and_shipping_details() {
    let ship = |name: &str, phone: Option<&str>| ShippingDetails {
        name: Some(name.into()),
        phone: phone.map(str::to_owned),
        ..Default::default()
    };
    let mut s = payment(None);
    s.record.details.shipping_details = Some(ship("Old", Some("+15555550100")));
    let description = Some(Some("new".to_string()));
    let set = Informational {
        description,
        shipping_details: Some(Some(ship("New", None))),
        ..Default::default()
    };
    let t = report_informational(&s, set).unwrap().state;
    // Shipping details replace whole: the old phone does not survive.
    assert_eq!(t.record.details.shipping_details, Some(ship("New", None)));
    assert_eq!(t.latest.details.description.as_deref(), Some("new"));
    let unset = Informational {
        description: Some(None),
        shipping_details: Some(None),
        ..Default::default()
    };
    let t = report_informational(&t, unset).unwrap().state;
    for details in [&t.record.details, &t.latest.details] {
        assert_eq!((&details.description, &details.shipping_details), (&None, &None));
    }
}

#[test]
fn informational_is_allowed_in_every_state_and_merges_each_objects_own_metadata() {
    for mut s in [
        payment(None),
        payment(Some(Guaranteed)),
        payment(Some(Failed)),
        payment(Some(Canceled)),
    ] {
        s.record.details.metadata = md(&[("only_on_record", "r")]);
        let cmd = Informational {
            metadata: patch(&[("k", Some("v"))]),
            ..Default::default()
        };
        let t = report_informational(&s, cmd).unwrap();
        assert!(!t.new_attempt && t.refund.is_none());
        assert_eq!(
            t.state.record.details.metadata,
            md(&[("k", "v"), ("only_on_record", "r")])
        );
        assert_eq!(t.state.latest.details.metadata, md(&[("k", "v")]));
        assert_eq!(t.state.latest.state, s.latest.state);
    }
}

#[test]
fn partial_refund_grows_amount_refunded_and_returns_the_refund_row() {
    let s = payment(Some(Guaranteed));
    let cmd = RefundReport {
        metadata: patch(&[("reason", Some("returned"))]),
        ..refund(Some(usd(300)), Some(T0 + 10))
    };
    let t = report_refund(&s, cmd).unwrap();
    assert!(!t.new_attempt);
    assert_eq!(
        [t.state.record.amount_refunded, t.state.latest.amount_refunded],
        [300; 2]
    );
    assert_eq!(amounts(&t.state.record), (1000, 0, 0, 300));
    let metadata = md(&[("reason", "returned")]);
    assert_eq!(
        [&t.state.record.details.metadata, &t.state.latest.details.metadata],
        [&metadata; 2]
    );
    let expected = Refund {
        payment_record: s.record.id.clone(),
        payment_attempt_record: s.latest.id.clone(),
        refund_reference: "refund_12345".into(),
        amount: usd(300),
        refunded_at: Some(T0 + 10),
        initiated_at: None,
        created: 1_795_467_600,
    };
    assert_eq!(t.refund, Some(expected));
}

#[test]
fn refund_without_an_amount_refunds_the_remainder() {
    let s = report_refund(&payment(Some(Guaranteed)), refund(Some(usd(250)), None))
        .unwrap()
        .state;
    let t = report_refund(&s, refund(None, None)).unwrap();
    assert_eq!(t.refund.map(|r| r.amount), Some(usd(750)));
    assert_eq!(amounts(&t.state.record), (1000, 0, 0, 1000));
}

#[test]
fn refund_without_a_guaranteed_latest_attempt_is_rejected() {
    for s in [payment(None), payment(Some(Failed)), payment(Some(Canceled))] {
        let err = report_refund(&s, refund(None, None)).unwrap_err();
        assert_eq!((&err, err.param()), (&LifecycleError::RefundWithoutGuarantee, None));
        let expected = "A refund can only be reported for a Payment Record whose latest payment attempt is guaranteed.";
        assert_eq!(err.message(), expected);
    }
}

#[test]
fn refund_of_a_fully_refunded_record_is_rejected() {
    let s = report_refund(&payment(Some(Guaranteed)), refund(None, None))
        .unwrap()
        .state;
    let err = report_refund(&s, refund(Some(usd(1)), None)).unwrap_err();
    assert_eq!((&err, err.param()), (&LifecycleError::FullyRefunded, None));
    assert_eq!(err.message(), "This Payment Record has already been fully refunded.");
}

#[test]
fn refund_in_another_currency_is_rejected() {
    let err = report_refund(&payment(Some(Guaranteed)), refund(Some(money("eur", 100)), None)).unwrap_err();
    assert_eq!(err.param(), Some("amount[currency]"));
    assert_eq!(
        err.message(),
        "The refund currency (eur) must match the Payment Record's currency (usd)."
    );
}

#[test]
fn refund_beyond_remaining_amount_is_rejected() {
    let s = report_refund(&payment(Some(Guaranteed)), refund(Some(usd(300)), None))
        .unwrap()
        .state;
    assert!(
        report_refund(&s, refund(Some(usd(700)), None)).is_ok(),
        "exactly the remainder is fine"
    );
    let err = report_refund(&s, refund(Some(usd(701)), None)).unwrap_err();
    assert_eq!(err.param(), Some("amount[value]"));
    let expected = "The refund amount (701) exceeds the amount remaining to be refunded (700) on this Payment Record.";
    assert_eq!(err.message(), expected);
}

#[test]
fn refund_dated_before_the_guarantee_is_rejected() {
    let s = payment(Some(Guaranteed)); // guaranteed at T0 + 10
    assert!(
        report_refund(&s, refund(None, Some(T0 + 10))).is_ok(),
        "at the guarantee is fine"
    );
    let err = report_refund(&s, refund(None, Some(T0 + 9))).unwrap_err();
    assert_eq!(
        err,
        LifecycleError::RefundBeforeGuarantee {
            refunded_at: T0 + 9,
            guaranteed_at: T0 + 10
        }
    );
    assert_eq!(err.param(), Some("refunded[refunded_at]"));
}

#[test]
fn metadata_patch_clears_first_then_sets_and_removes_in_order() {
    let current = md(&[("old", "1")]);
    let mut p = patch(&[("a", Some("1")), ("a", Some("2")), ("b", Some("x")), ("b", None)]);
    assert_eq!(apply_metadata(&current, &p).unwrap(), md(&[("a", "2"), ("old", "1")]));
    p.clear_all = true;
    assert_eq!(apply_metadata(&current, &p).unwrap(), md(&[("a", "2")]));
}

#[test]
fn metadata_beyond_the_key_limit_after_merging_is_rejected() {
    let full: Metadata = (0..METADATA_KEYS_MAX)
        .map(|i| (format!("k{i}"), "v".to_string()))
        .collect();
    let one_more = patch(&[("extra", Some("v"))]);
    let err = apply_metadata(&full, &one_more).unwrap_err();
    assert_eq!(
        (&err, err.param()),
        (&LifecycleError::TooManyMetadataKeys, Some("metadata"))
    );
    assert_eq!(
        err.message(),
        "Invalid metadata: an object can have at most 50 metadata keys."
    );
    assert!(apply_metadata(&full, &patch(&[("k0", None), ("extra", Some("v"))])).is_ok());
    // Through a report call: the latest attempt is full even though the record is not.
    let mut s = payment(None);
    s.latest.details.metadata = full;
    let cmd = Informational {
        metadata: one_more,
        ..Default::default()
    };
    assert_eq!(report_informational(&s, cmd), Err(err));
}

#[test]
fn every_error_displays_as_its_message_a_full_sentence() {
    let errors = [
        LifecycleError::NewAttemptNotAllowed,
        LifecycleError::AttemptAlreadyGuaranteed,
        LifecycleError::AttemptAlreadyFailed,
        LifecycleError::AttemptAlreadyCanceled,
        LifecycleError::OutcomeBeforeInitiated {
            param: "failed_at",
            at: 1,
            initiated_at: 2,
        },
        LifecycleError::RefundWithoutGuarantee,
        LifecycleError::FullyRefunded,
        LifecycleError::RefundCurrencyMismatch {
            refund: usd(1).currency,
            record: money("eur", 1).currency,
        },
        LifecycleError::RefundExceedsRemaining {
            amount: 2,
            remaining: 1,
        },
        LifecycleError::RefundBeforeGuarantee {
            refunded_at: 1,
            guaranteed_at: 2,
        },
        LifecycleError::TooManyMetadataKeys,
    ];
    for e in errors {
        let message = e.message();
        assert_eq!(e.to_string(), message);
        assert!(
            message.starts_with(char::is_uppercase) && message.ends_with('.'),
            "{message}"
        );
    }
}

/// EXAMPLES.md: pending → failed → a new attempt → guaranteed → refund 300 → refund the rest.
/// Returns the final state and every attempt, oldest first.
fn examples_md() -> (PaymentState, Vec<PaymentAttemptRecord>) {
    let s = report_payment(new_payment(1000, None)).unwrap();
    let s = outcome(&s, Failed, 1_730_211_400).unwrap();
    assert_eq!(amounts(&s.record), (0, 1000, 0, 0));
    let retry = NewAttempt {
        description: Some("computer software, retry".into()),
        ..new_attempt(2, 1_730_253_425)
    };
    let first = s.latest.clone();
    let s = report_payment_attempt(&s, retry).unwrap().state;
    assert_eq!(amounts(&s.record), (0, 0, 0, 0));
    assert_eq!(
        s.record.details.description.as_deref(),
        Some("computer software, retry")
    );
    let s = outcome(&s, Guaranteed, 1_730_253_453).unwrap();
    assert_eq!(amounts(&s.record), (1000, 0, 0, 0));
    let s = report_refund(&s, refund(Some(usd(300)), Some(1_730_300_000)))
        .unwrap()
        .state;
    assert_eq!(amounts(&s.record), (1000, 0, 0, 300));
    let t = report_refund(&s, refund(None, Some(1_730_300_100))).unwrap();
    assert_eq!(t.refund.map(|r| r.amount), Some(usd(700)));
    let attempts = vec![first, t.state.latest.clone()];
    (t.state, attempts)
}

#[test]
fn examples_md_sequence_ends_fully_refunded_and_rejects_a_new_attempt() {
    let (s, attempts) = examples_md();
    assert_eq!(amounts(&s.record), (1000, 0, 0, 1000));
    assert_eq!(attempts[0].details.description.as_deref(), Some("computer software"));
    assert_eq!((attempts[0].amount_refunded, attempts[1].amount_refunded), (0, 1000));
    assert!(invariant_violations(&s.record, &attempts).is_empty());
    let err = report_payment_attempt(&s, new_attempt(3, 1_730_400_000)).unwrap_err();
    assert_eq!(err, LifecycleError::NewAttemptNotAllowed);
}

#[test]
fn invariant_violations_reports_each_broken_invariant() {
    let (PaymentState { record, .. }, attempts) = examples_md();
    type Edit = fn(&mut PaymentRecord, &mut Vec<PaymentAttemptRecord>);
    let cases: [(Edit, &str); 13] = [
        (
            |_, a| a[0].state = AttemptState::Guaranteed { at: T0 },
            "more than one attempt is guaranteed",
        ),
        (|_, a| a[0].state = AttemptState::Pending, "an older attempt is pending"),
        (|_, a| a.swap(0, 1), "is not the last attempt"),
        (|_, a| a.push(a[1].clone()), "appears 2 times"),
        (|_, a| a.clear(), "the record has no attempts"),
        (|r, _| r.latest_attempt_state = AttemptState::Pending, "does not mirror"),
        (
            |r, a| (r.amount_refunded, a[1].amount_refunded) = (1001, 1001),
            "refunded 1001 not in 0..=1000",
        ),
        (|_, a| a[0].amount_refunded = 1, "refunds sum to 1001"),
        (
            |_, a| a[1].amount_requested.currency = Currency::new_unchecked("eur"),
            "currency differs",
        ),
        (|_, a| a[1].amount_requested.value = 999, "requested value differs"),
        (|r, _| r.amount_requested.value = AMOUNT_VALUE_MAX + 1, "out of range"),
        (|_, a| a[0].livemode = true, "belongs to another record or mode"),
        (
            |_, a| a[0].state = AttemptState::Failed { at: 0 },
            "precedes initiated_at",
        ),
    ];
    for (edit, expected) in cases {
        let (mut r, mut a) = (record.clone(), attempts.clone());
        edit(&mut r, &mut a);
        let found = invariant_violations(&r, &a);
        assert!(
            found.iter().any(|v| v.contains(expected)),
            "expected {expected:?} in {found:?}"
        );
    }
}

#[path = "lifecycle_props.rs"]
mod props;
