//! Payouts: one statement line that is a processor's transfer of many payments, minus its fees.
//! A settlement file (`--settlement`) lists, for each payout, the payments it covers with their
//! gross, fee and net. The line matches the payout when every payment it lists is a guaranteed
//! payment of the line's currency whose amount is its gross, and the nets add up to the line's
//! amount (within the rules' tolerance). Then the line and each of its payments are
//! `matched_in_payout`; otherwise the line is an `amount_mismatch` and the payments are left to
//! the rest of the file.

use super::rules::Tolerance;
use super::{Category, FileLine, Judged};
use crate::records::model::{AttemptState, PaymentRecord};

/// One row of the settlement file: a payment of a payout. Amounts in minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRow {
    pub payment_reference: String,
    pub gross: i64,
    pub fee: i64,
    pub net: i64,
}

/// What a payout line came to: the line's judgment, and each payment's (by reference) when
/// they all matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutJudged {
    pub line: Judged,
    pub payments: Vec<(String, Judged)>,
}

/// Judges a line that names payout `payout_id`, whose `rows` the settlement file lists; `found`
/// holds the payments payrec has under the rows' references.
pub fn judge_payout(
    line: &FileLine,
    payout_id: &str,
    rows: &[SettlementRow],
    found: &dyn Fn(&str) -> Option<PaymentRecord>,
    tolerance: &Tolerance,
) -> PayoutJudged {
    let mut payments = Vec::with_capacity(rows.len());
    let mut all_found = true;
    for row in rows {
        let record = found(&row.payment_reference).filter(|r| {
            matches!(r.latest_attempt_state, AttemptState::Guaranteed { .. })
                && r.amount_requested.currency.as_str() == line.currency
                && r.amount_requested.value == row.gross
        });
        match record {
            Some(r) => payments.push((
                row.payment_reference.clone(),
                Judged {
                    category: Category::MatchedInPayout,
                    payrec_object: r.id.as_str().to_owned(),
                    payrec_amount: Some(r.amount_requested.value),
                    payrec_currency: r.amount_requested.currency.as_str().to_owned(),
                    payrec_state: "guaranteed".to_owned(),
                },
            )),
            None => all_found = false,
        }
    }
    let net: i64 = rows.iter().map(|r| r.net).sum();
    let sums = (net - line.amount.abs()).abs() <= tolerance.allowed(net);
    let matched = all_found && sums && !rows.is_empty();
    let judged = Judged {
        category: if matched {
            Category::MatchedInPayout
        } else {
            Category::AmountMismatch
        },
        payrec_object: payout_id.to_owned(),
        payrec_amount: Some(net),
        payrec_currency: line.currency.clone(),
        payrec_state: format!("payout of {} payments", rows.len()),
    };
    PayoutJudged {
        line: judged,
        payments: if matched { payments } else { Vec::new() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::model::{Amount, Currency, PaymentAttemptRecordId, PaymentDetails, PaymentRecordId};

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

    #[test]
    fn a_payout_matches_when_its_payments_are_there_and_its_nets_add_up() {
        let rows = [row("a", 100_000, 3_000), row("b", 100_000, 3_000)];
        let found = |_: &str| Some(paid(100_000));
        let exact = Tolerance::default();
        let judged = judge_payout(&payout_line(194_000), "PAYOUT-7", &rows, &found, &exact);
        assert_eq!(judged.line.category, Category::MatchedInPayout);
        assert_eq!(judged.payments.len(), 2);
        assert!(
            judged
                .payments
                .iter()
                .all(|(_, j)| j.category == Category::MatchedInPayout)
        );
        let short = judge_payout(&payout_line(193_999), "PAYOUT-7", &rows, &found, &exact);
        assert_eq!(
            (short.line.category, short.payments.len()),
            (Category::AmountMismatch, 0)
        );
        let missing = |r: &str| (r == "a").then(|| paid(100_000));
        let judged = judge_payout(&payout_line(194_000), "PAYOUT-7", &rows, &missing, &exact);
        assert_eq!(
            judged.line.category,
            Category::AmountMismatch,
            "a payment is not in payrec"
        );
        let other_gross = |_: &str| Some(paid(99_000));
        let judged = judge_payout(&payout_line(194_000), "PAYOUT-7", &rows, &other_gross, &exact);
        assert_eq!(
            judged.line.category,
            Category::AmountMismatch,
            "a payment's amount is not its gross"
        );
    }
}
