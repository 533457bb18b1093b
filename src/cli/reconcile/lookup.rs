//! The ledger a batch of lines is judged against: its references looked up in bounded slices,
//! payments first, then refunds for the rest.

use std::collections::{HashMap, HashSet};

use super::Judging;
use crate::cli::Failure;
use crate::reconcile::{FileLine, Found};
use crate::records::model::{PaymentRecord, Refund};
use crate::store::ledger::REFERENCES_PER_LOOKUP_MAX;

impl Judging<'_> {
    /// The payments whose processor reference is one of `references`, by reference, looked up
    /// in bounded slices (a statement's lines bring several references each).
    pub(super) async fn records_by_reference(
        &self,
        references: &[String],
    ) -> Result<HashMap<String, PaymentRecord>, Failure> {
        let mut records = HashMap::with_capacity(references.len());
        for slice in references.chunks(REFERENCES_PER_LOOKUP_MAX) {
            for record in self.store.records_by_references(self.tenant, slice).await? {
                let reference = record.details.processor_details.payment_reference.clone();
                records.insert(reference.unwrap_or_default(), record);
            }
        }
        Ok(records)
    }

    /// Whether what a line names settled within the rules' date window around the line's date.
    pub(super) fn in_window(&self, named: &Found, line: &FileLine) -> bool {
        let window = self.rules.date_window;
        window.is_none_or(|w| w.admits(named.settled_at(), line.date))
    }

    /// The refunds whose `refund_reference` is one of `references`, by reference, looked up in
    /// bounded slices.
    pub(super) async fn refunds_by_reference(&self, references: &[String]) -> Result<HashMap<String, Refund>, Failure> {
        let mut refunds = HashMap::with_capacity(references.len());
        for slice in references.chunks(REFERENCES_PER_LOOKUP_MAX) {
            for refund in self.store.refunds_by_references(self.tenant, slice).await? {
                refunds.insert(refund.refund_reference.clone(), refund);
            }
        }
        Ok(refunds)
    }
}

/// What the batch's references name (a payment, else a refund). A line is judged by the first
/// of its references that names something or was named before, so its references are looked up
/// a rank at a time, each line's next one only while the ones before it named nothing: a
/// statement whose first references name payments costs one lookup per batch, not one per
/// reference a line carries.
pub(super) async fn found_for(
    judging: &Judging<'_>,
    batch: &[FileLine],
    seen: &HashSet<String>,
) -> Result<HashMap<String, Found>, Failure> {
    let mut found: HashMap<String, Found> = HashMap::new();
    let mut asked: HashSet<String> = HashSet::new();
    loop {
        let mut wanted: Vec<String> = Vec::new();
        for line in batch {
            let references = std::iter::once(&line.reference).chain(&line.other_references);
            for reference in references.filter(|r| !r.is_empty()) {
                if found.contains_key(reference) || seen.contains(reference) {
                    break;
                }
                if !asked.contains(reference) {
                    wanted.push(reference.clone());
                    break;
                }
            }
        }
        if wanted.is_empty() {
            return Ok(found);
        }
        wanted.sort_unstable();
        wanted.dedup();
        let records = judging.records_by_reference(&wanted).await?;
        let rest: Vec<String> = wanted.iter().filter(|r| !records.contains_key(*r)).cloned().collect();
        let refunds = judging.refunds_by_reference(&rest).await?;
        found.extend(records.into_iter().map(|(r, record)| (r, Found::Record(record))));
        found.extend(refunds.into_iter().map(|(r, refund)| (r, Found::Refund(refund))));
        asked.extend(wanted);
    }
}
