//! Unit tests: informational updates, refunds, metadata, EXAMPLES.md and the invariant checker.

use super::*;

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
        assert!(!t.new_attempt() && t.refund().is_none());
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
    assert!(!t.new_attempt());
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
    assert_eq!(t.refund(), Some(&expected));
}

#[test]
fn refund_without_an_amount_refunds_the_remainder() {
    let s = report_refund(&payment(Some(Guaranteed)), refund(Some(usd(250)), None))
        .unwrap()
        .state;
    let t = report_refund(&s, refund(None, None)).unwrap();
    assert_eq!(t.refund().map(|r| r.amount.clone()), Some(usd(750)));
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
    let err = LifecycleError::from(apply_metadata(&full, &one_more).unwrap_err());
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
    assert_eq!(t.refund().map(|r| r.amount.clone()), Some(usd(700)));
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
