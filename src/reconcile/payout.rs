//! Payouts: one statement line that is a processor's transfer of many payments, less their
//! refunds and fees. A settlement file (`--settlement`) lists, for each payout, the payments and
//! refunds it covers with their gross, fee and net (a refund's gross negative). The line matches
//! the payout when every row is a guaranteed payment of the line's currency whose amount is its
//! gross, or a refund whose amount is minus its gross, and the nets add up to the line's amount
//! (within the rules' tolerance). Then the line and each of its payments and refunds are
//! `matched_in_payout`; otherwise the line is an `amount_mismatch` (or a `duplicate_in_file`,
//! when an earlier line named one of them) and the payments are left to the rest of the file.

use super::rules::Tolerance;
use super::{Category, FileLine, Found, Judged};
use crate::records::model::AttemptState;

/// One row of the settlement file: a payment of a payout, or with a negative gross a refund
/// (`payment_reference` is then the refund's `refund_reference`). Amounts in minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRow {
    pub payment_reference: String,
    pub gross: i64,
    pub fee: i64,
    pub net: i64,
}

/// What a payout line came to: the line's judgment, and each payment's and refund's (by
/// reference) when they all matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutJudged {
    pub line: Judged,
    pub payments: Vec<(String, Judged)>,
}

/// What payrec holds for a payout: `found` gives what a row's reference names (a payment, or a
/// refund's `refund_reference` for a row whose gross is negative); `named_before` says whether
/// an earlier line of the file named that reference already.
pub struct PayoutLedger<'a> {
    pub found: &'a dyn Fn(&SettlementRow) -> Found,
    pub named_before: &'a dyn Fn(&str) -> bool,
}

/// The row's payment or refund as matched in the payout, when it is one of the line's
/// currency and of the row's gross: a guaranteed payment for a positive gross, a refund of
/// `-gross` for a negative one.
fn row_matched(row: &SettlementRow, found: Found, currency: &str) -> Option<Judged> {
    match found {
        Found::Record(r) if row.gross >= 0 => {
            let fits = matches!(r.latest_attempt_state, AttemptState::Guaranteed { .. })
                && r.amount_requested.currency.as_str() == currency
                && r.amount_requested.value == row.gross;
            fits.then(|| Judged {
                category: Category::MatchedInPayout,
                payrec_object: r.id.as_str().to_owned(),
                payrec_amount: Some(r.amount_requested.value),
                payrec_currency: r.amount_requested.currency.as_str().to_owned(),
                payrec_state: "guaranteed".to_owned(),
            })
        }
        Found::Refund(f) if row.gross < 0 => {
            let fits = f.amount.currency.as_str() == currency && f.amount.value == -row.gross;
            fits.then(|| Judged {
                category: Category::MatchedInPayout,
                payrec_object: f.refund_reference.clone(),
                payrec_amount: Some(f.amount.value),
                payrec_currency: f.amount.currency.as_str().to_owned(),
                payrec_state: "refunded".to_owned(),
            })
        }
        _ => None,
    }
}

/// Judges a line that names payout `payout_id`, whose `rows` the settlement file lists. The
/// payout matches when each row is a distinct payment (or refund) no earlier line named, and
/// the nets add up to the line. A payout one of whose payments an earlier line named is a
/// `duplicate_in_file` (the payment is counted once, where it was first named).
pub fn judge_payout(
    line: &FileLine,
    payout_id: &str,
    rows: &[SettlementRow],
    ledger: &PayoutLedger<'_>,
    tolerance: &Tolerance,
) -> PayoutJudged {
    let mut payments: Vec<(String, Judged)> = Vec::with_capacity(rows.len());
    let mut all_found = true;
    let mut named_before = false;
    let mut references = std::collections::HashSet::with_capacity(rows.len());
    for row in rows {
        named_before |= (ledger.named_before)(&row.payment_reference);
        let distinct = references.insert(row.payment_reference.as_str());
        match row_matched(row, (ledger.found)(row), &line.currency) {
            Some(judged) if distinct => payments.push((row.payment_reference.clone(), judged)),
            _ => all_found = false,
        }
    }
    let net: i64 = rows.iter().map(|r| r.net).sum();
    let sums = (net - line.amount.abs()).abs() <= tolerance.allowed(net);
    let category = if named_before {
        Category::DuplicateInFile
    } else if all_found && sums && !rows.is_empty() {
        Category::MatchedInPayout
    } else {
        Category::AmountMismatch
    };
    let judged = Judged {
        category,
        payrec_object: payout_id.to_owned(),
        payrec_amount: Some(net),
        payrec_currency: line.currency.clone(),
        payrec_state: format!("payout of {} payments", rows.len()),
    };
    PayoutJudged {
        line: judged,
        payments: if category == Category::MatchedInPayout {
            payments
        } else {
            Vec::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::model::{
        Amount, Currency, PaymentAttemptRecordId, PaymentDetails, PaymentRecord, PaymentRecordId, Refund,
    };

    fn paid(value: i64) -> PaymentRecord {
        PaymentRecord {
            id: PaymentRecordId::new_unchecked("pr_e079ffd1dcc04e1779fd0d71"),
            livemode: false,
            created: 1_730_211_300,
            amount_requested: Amount {
                currency: Currency::new_unchecked("eur"),
                value,
            },
            details: PaymentDetails::default(),
            latest_attempt: PaymentAttemptRecordId::new_unchecked("par_000000000000000000000001"),
            latest_attempt_state: AttemptState::Guaranteed { at: 1_730_211_310 },
            amount_refunded: 0,
        }
    }

    fn row(reference: &str, gross: i64, fee: i64) -> SettlementRow {
        SettlementRow {
            payment_reference: reference.into(),
            gross,
            fee,
            net: gross - fee,
        }
    }

    fn payout_line(amount: i64) -> FileLine {
        FileLine {
            line: 3,
            reference: "PAYOUT-7".into(),
            other_references: Vec::new(),
            amount,
            currency: "eur".into(),
            date: None,
        }
    }

    fn judge(line: FileLine, rows: &[SettlementRow], found: &dyn Fn(&SettlementRow) -> Found) -> PayoutJudged {
        let ledger = PayoutLedger {
            found,
            named_before: &|_| false,
        };
        judge_payout(&line, "PAYOUT-7", rows, &ledger, &Tolerance::default())
    }

    #[test]
    fn a_payout_matches_when_its_payments_are_there_and_its_nets_add_up() {
        let rows = [row("a", 100_000, 3_000), row("b", 100_000, 3_000)];
        let found = |_: &SettlementRow| Found::Record(paid(100_000));
        let judged = judge(payout_line(194_000), &rows, &found);
        assert_eq!(judged.line.category, Category::MatchedInPayout);
        assert_eq!(judged.payments.len(), 2);
        assert!(
            judged
                .payments
                .iter()
                .all(|(_, j)| j.category == Category::MatchedInPayout)
        );
        let short = judge(payout_line(193_999), &rows, &found);
        assert_eq!(
            (short.line.category, short.payments.len()),
            (Category::AmountMismatch, 0)
        );
        let missing = |r: &SettlementRow| match r.payment_reference == "a" {
            true => Found::Record(paid(100_000)),
            false => Found::Nothing,
        };
        let judged = judge(payout_line(194_000), &rows, &missing);
        assert_eq!(
            judged.line.category,
            Category::AmountMismatch,
            "a payment is not in payrec"
        );
        let other_gross = |_: &SettlementRow| Found::Record(paid(99_000));
        let judged = judge(payout_line(194_000), &rows, &other_gross);
        assert_eq!(
            judged.line.category,
            Category::AmountMismatch,
            "a payment's amount is not its gross"
        );
    }

    fn refund(reference: &str, value: i64) -> Refund {
        Refund {
            payment_record: PaymentRecordId::new_unchecked("pr_e079ffd1dcc04e1779fd0d71"),
            payment_attempt_record: PaymentAttemptRecordId::new_unchecked("par_000000000000000000000001"),
            refund_reference: reference.into(),
            amount: Amount {
                currency: Currency::new_unchecked("eur"),
                value,
            },
            refunded_at: Some(1_730_300_000),
            initiated_at: None,
            created: 1_730_300_000,
        }
    }

    #[test]
    fn a_payout_nets_its_refunds_rows_of_negative_gross() {
        // Two payments of 1000.00 with 30.00 fees, and a refund of 250.00 (its fee kept).
        let rows = [
            row("a", 100_000, 3_000),
            row("b", 100_000, 3_000),
            row("re-1", -25_000, 0),
        ];
        let ledger = |r: &SettlementRow| match r.gross < 0 {
            true => Found::Refund(refund(&r.payment_reference, 25_000)),
            false => Found::Record(paid(100_000)),
        };
        let judged = judge(payout_line(169_000), &rows, &ledger);
        assert_eq!(judged.line.category, Category::MatchedInPayout);
        let refund_outcome = &judged.payments[2].1;
        assert_eq!(
            (
                refund_outcome.payrec_object.as_str(),
                refund_outcome.payrec_state.as_str()
            ),
            ("re-1", "refunded")
        );
        let partial = |r: &SettlementRow| match r.gross < 0 {
            true => Found::Refund(refund(&r.payment_reference, 20_000)),
            false => Found::Record(paid(100_000)),
        };
        let judged = judge(payout_line(169_000), &rows, &partial);
        assert_eq!(
            judged.line.category,
            Category::AmountMismatch,
            "a refund's amount is not minus its gross"
        );
        let a_payment_for_a_refund = |_: &SettlementRow| Found::Record(paid(100_000));
        let judged = judge(payout_line(169_000), &rows, &a_payment_for_a_refund);
        assert_eq!(
            judged.line.category,
            Category::AmountMismatch,
            "a negative row names a refund, never a payment"
        );
    }

    #[test]
    fn a_payment_is_counted_once_in_a_payout_and_in_the_file() {
        let found = |_: &SettlementRow| Found::Record(paid(100_000));
        let twice = [row("a", 100_000, 3_000), row("a", 100_000, 3_000)];
        let judged = judge(payout_line(194_000), &twice, &found);
        assert_eq!(
            (judged.line.category, judged.payments.len()),
            (Category::AmountMismatch, 0),
            "a payment listed twice in one payout"
        );
        let rows = [row("a", 100_000, 3_000), row("b", 100_000, 3_000)];
        let ledger = PayoutLedger {
            found: &found,
            named_before: &|r| r == "b",
        };
        let judged = judge_payout(&payout_line(194_000), "PAYOUT-7", &rows, &ledger, &Tolerance::default());
        assert_eq!(
            (judged.line.category, judged.payments.len()),
            (Category::DuplicateInFile, 0),
            "an earlier line named one of the payout's payments"
        );
    }
}
