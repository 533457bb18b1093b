//! A statement entry booked as a batch: one bank credit for several payments, each named among
//! the entry's references (camt.053 `NtryDtls` with one `TxDtls` per transfer, or a text that
//! lists them). When the payments its references name add up to it, the line is a payout
//! without a settlement file: the line and each payment are `matched_in_payout`, judged as a
//! settlement's payout is (no fees: each payment's gross is its net).

use std::collections::{HashMap, HashSet};

use super::{Judging, Output};
use crate::cli::Failure;
use crate::reconcile::payout::{PayoutLedger, SettlementRow, judge_payout};
use crate::reconcile::{Category, FileLine, Found};

/// Judges `line`, whose first reference named a payment of another amount, as a batch of the
/// payments all its references name; false (nothing reported) unless they add up to it.
pub(super) async fn judged_as_batch(
    judging: &Judging<'_>,
    line: &FileLine,
    seen: &mut HashSet<String>,
    out: &mut Output,
) -> Result<bool, Failure> {
    let mut distinct = HashSet::new();
    let references: Vec<String> = std::iter::once(&line.reference)
        .chain(&line.other_references)
        .filter(|r| !r.is_empty() && !seen.contains(*r) && distinct.insert(r.as_str()))
        .cloned()
        .collect();
    if references.len() < 2 {
        return Ok(false);
    }
    let named: HashMap<String, Found> = judging
        .records_by_reference(&references)
        .await?
        .into_iter()
        .map(|(reference, record)| (reference, Found::Record(record)))
        .collect();
    let mut payments = HashSet::new();
    let rows: Vec<SettlementRow> = references
        .iter()
        .filter_map(|reference| {
            let found = named.get(reference)?;
            let Found::Record(record) = found else { return None };
            let admitted = judging.in_window(found, line);
            (admitted && payments.insert(record.id.as_str())).then(|| SettlementRow {
                payment_reference: reference.clone(),
                gross: record.amount_requested.value,
                fee: 0,
                net: record.amount_requested.value,
            })
        })
        .collect();
    if rows.len() < 2 {
        return Ok(false);
    }
    let found = |row: &SettlementRow| named.get(&row.payment_reference).cloned().unwrap_or(Found::Nothing);
    let ledger = PayoutLedger {
        found: &found,
        named_before: &|reference| seen.contains(reference),
    };
    let mut judged = judge_payout(line, &line.reference, &rows, &ledger, &judging.rules.tolerance);
    if judged.line.category != Category::MatchedInPayout {
        return Ok(false);
    }
    judged.line.payrec_state = format!("batch of {} payments", rows.len());
    let item = out.next_item();
    out.line(Some(line), item.clone(), &line.reference, &judged.line)?;
    for (reference, payment) in &judged.payments {
        seen.insert(reference.clone());
        out.line(None, format!("{item}/{}", payment.payrec_object), reference, payment)?;
    }
    Ok(true)
}
