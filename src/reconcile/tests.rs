//! One test per category, and the precedence between them.

use super::*;
use crate::records::model::{Amount, Currency, PaymentAttemptRecordId, PaymentDetails, PaymentRecordId};

fn record(state: AttemptState, value: i64, currency: &str) -> PaymentRecord {
    PaymentRecord {
        id: PaymentRecordId::new_unchecked("pr_e079ffd1dcc04e1779fd0d71"),
        livemode: false,
        created: 1_730_211_300,
        amount_requested: Amount {
            currency: Currency::new_unchecked(currency),
            value,
        },
        details: PaymentDetails::default(),
        latest_attempt: PaymentAttemptRecordId::new_unchecked("par_000000000000000000000001"),
        latest_attempt_state: state,
        amount_refunded: 0,
    }
}

fn line(amount: i64, currency: &str) -> FileLine {
    FileLine {
        line: 2,
        reference: "bank-1".into(),
        other_references: Vec::new(),
        amount,
        currency: currency.into(),
        date: None,
    }
}

const PAID: AttemptState = AttemptState::Guaranteed { at: 1_730_211_310 };

#[test]
fn a_guaranteed_payment_of_the_same_amount_and_currency_matches() {
    let j = judge(&line(500, "usd"), &Found::Record(record(PAID, 500, "usd")), false);
    assert_eq!(j.category, Category::Matched);
    assert_eq!(j.payrec_object, "pr_e079ffd1dcc04e1779fd0d71");
    assert_eq!((j.payrec_amount, j.payrec_state.as_str()), (Some(500), "guaranteed"));
}

#[test]
fn each_difference_has_its_category() {
    let found = Found::Record(record(PAID, 500, "usd"));
    assert_eq!(
        judge(&line(499, "usd"), &found, false).category,
        Category::AmountMismatch
    );
    assert_eq!(
        judge(&line(500, "eur"), &found, false).category,
        Category::CurrencyMismatch
    );
    assert_eq!(
        judge(&line(500, "usd"), &Found::Nothing, false).category,
        Category::MissingInPayrec
    );
    assert_eq!(
        judge(&line(500, "usd"), &found, true).category,
        Category::DuplicateInFile
    );
    for state in [
        AttemptState::Pending,
        AttemptState::Failed { at: 1 },
        AttemptState::Canceled { at: 1 },
    ] {
        let found = Found::Record(record(state, 500, "usd"));
        assert_eq!(
            judge(&line(500, "usd"), &found, false).category,
            Category::NotGuaranteed
        );
    }
}

#[test]
fn a_duplicate_is_a_duplicate_whatever_else_it_is() {
    assert_eq!(
        judge(&line(1, "eur"), &Found::Nothing, true).category,
        Category::DuplicateInFile
    );
}

#[test]
fn a_currency_mismatch_comes_before_the_state_and_the_amount() {
    let found = Found::Record(record(AttemptState::Pending, 500, "usd"));
    assert_eq!(
        judge(&line(7, "eur"), &found, false).category,
        Category::CurrencyMismatch
    );
}

#[test]
fn a_refund_line_matches_its_refund_whatever_its_sign() {
    let refund = Refund {
        payment_record: PaymentRecordId::new_unchecked("pr_e079ffd1dcc04e1779fd0d71"),
        payment_attempt_record: PaymentAttemptRecordId::new_unchecked("par_000000000000000000000001"),
        refund_reference: "rf-1".into(),
        amount: Amount {
            currency: Currency::new_unchecked("usd"),
            value: 120,
        },
        refunded_at: Some(1),
        initiated_at: None,
        created: 1,
    };
    let found = Found::Refund(refund);
    assert_eq!(judge(&line(-120, "usd"), &found, false).category, Category::Matched);
    assert_eq!(judge(&line(120, "usd"), &found, false).category, Category::Matched);
    assert_eq!(
        judge(&line(-121, "usd"), &found, false).category,
        Category::AmountMismatch
    );
}

#[test]
fn only_a_summary_of_matches_alone_is_all_matched() {
    let mut s = Summary::default();
    assert!(s.all_matched());
    s.add(Category::Matched);
    assert!(s.all_matched());
    s.add(Category::MissingInFile);
    assert!(!s.all_matched());
    assert_eq!(s.count(Category::MissingInFile), 1);
}

#[test]
fn within_the_tolerance_a_line_is_matched_with_tolerance_and_beyond_it_an_amount_mismatch() {
    let found = Found::Record(record(PAID, 10_000, "usd"));
    let tolerance = rules::Tolerance {
        absolute: 50,
        relative: 0.0,
    };
    let category = |amount: i64| judge_with(&line(amount, "usd"), &found, false, &tolerance).category;
    assert_eq!(category(10_000), Category::Matched);
    assert_eq!(category(9_950), Category::MatchedWithTolerance, "bank charges taken");
    assert_eq!(category(10_050), Category::MatchedWithTolerance);
    assert_eq!(category(9_949), Category::AmountMismatch);
    let mut summary = Summary::default();
    summary.add(Category::MatchedWithTolerance);
    assert!(summary.all_matched(), "a tolerated match is a match (exit 0)");
}
