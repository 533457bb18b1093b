//! The write path of `payrec import`: payments from another system's history, each already run
//! through the lifecycle in memory (`ImportedPayment::replay`). Per payment, in the caller's one
//! transaction: first what only the database can tell (the record's id is new, its attempt's id
//! and its refunds' references are free), then the final rows, the day's totals and the events
//! the same report calls make through the API. A payment that fails a check writes nothing, so
//! a batch never holds half a payment. The batch's totals are summed per day and currency and
//! added last, in that order: one row per day and currency, taken in the same order by every
//! batch, so concurrent batches on PostgreSQL never wait on each other in a circle.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use async_trait::async_trait;

use super::StoreError;
use super::write::{Mutation, PackedEvent, WriteContext, WriteOps};
use crate::events::{EventDraft, record_events};
use crate::records::command::ImportedPayment;
use crate::records::totals::{TotalsChange, totals_change};

/// What an import wrote for one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// The record, its attempt and its refunds, with their events.
    Created,
    /// A record with this id is in the tenant already (imported before): nothing written.
    Exists,
    /// Another record's attempt has this id: nothing written.
    AttemptIdTaken(String),
    /// A refund of the tenant has this reference: nothing written.
    RefundReferenceTaken(String),
}

/// A batch of imported payments, each written whole, in order, or not at all.
#[derive(Debug, Clone)]
pub struct ImportWrite {
    payments: Vec<ImportedPayment>,
    /// Each payment's events, rendered before the write was queued (`Mutation::prepare`).
    prepared: Option<Vec<Vec<PackedEvent>>>,
}

impl From<Vec<ImportedPayment>> for ImportWrite {
    fn from(payments: Vec<ImportedPayment>) -> Self {
        ImportWrite {
            payments,
            prepared: None,
        }
    }
}

#[async_trait]
impl Mutation for ImportWrite {
    /// What became of each payment, in order.
    type Done = Vec<ImportOutcome>;

    fn prepare(&mut self, at: &WriteContext<'_>) {
        self.prepared = Some(
            self.payments
                .iter()
                .map(|p| at.render_events(&payment_events(p)))
                .collect(),
        );
    }

    /// A payment's refund checks read the references its earlier payments wrote.
    fn reads_its_own_rows(&self) -> bool {
        true
    }

    async fn apply(self, rows: &mut dyn WriteOps, at: &WriteContext<'_>) -> Result<Vec<ImportOutcome>, StoreError> {
        let mut outcomes = Vec::with_capacity(self.payments.len());
        let mut totals: BTreeMap<(i64, String), TotalsChange> = BTreeMap::new();
        let mut prepared = self.prepared.map(Vec::into_iter);
        for payment in self.payments {
            let events = prepared.as_mut().and_then(Iterator::next);
            let outcome = import_payment(rows, at, &payment, events).await?;
            if outcome == ImportOutcome::Created
                && let Some(change) = totals_change(None, &payment.last().record)
            {
                match totals.entry((change.day, change.currency.clone())) {
                    Entry::Vacant(day) => {
                        day.insert(change);
                    }
                    Entry::Occupied(mut day) => {
                        let sum = day.get().delta.plus(&change.delta);
                        day.get_mut().delta = sum;
                    }
                }
            }
            outcomes.push(outcome);
        }
        for change in totals.values() {
            rows.add_totals(at.tenant, change).await?;
        }
        Ok(outcomes)
    }
}

/// The events the payment's report calls make: created, then one per refund.
fn payment_events(payment: &ImportedPayment) -> Vec<EventDraft> {
    let mut drafts = record_events(None, &payment.states[0], true, false);
    for pair in payment.states.windows(2) {
        drafts.extend(record_events(Some(&pair[0]), &pair[1], false, true));
    }
    drafts
}

async fn import_payment(
    ops: &mut dyn WriteOps,
    at: &WriteContext<'_>,
    payment: &ImportedPayment,
    prepared: Option<Vec<PackedEvent>>,
) -> Result<ImportOutcome, StoreError> {
    let tenant = at.tenant;
    let last = payment.last();
    if ops.lock_record_doc(tenant, last.record.id.as_str()).await?.is_some() {
        return Ok(ImportOutcome::Exists);
    }
    if ops.attempt_doc(tenant, last.latest.id.as_str()).await?.is_some() {
        return Ok(ImportOutcome::AttemptIdTaken(last.latest.id.as_str().to_owned()));
    }
    for refund in &payment.refunds {
        if ops.refund_reference_used(tenant, &refund.refund_reference).await? {
            return Ok(ImportOutcome::RefundReferenceTaken(refund.refund_reference.clone()));
        }
    }
    ops.insert_record(tenant, &last.record).await?;
    ops.insert_attempt(tenant, &last.latest).await?;
    for refund in &payment.refunds {
        if !ops.insert_refund(tenant, refund).await? {
            // The importer refuses a payment naming one reference twice; the check above saw
            // every other use.
            return Err(StoreError::Database(format!(
                "refund reference {:?} was taken after it was checked",
                refund.refund_reference
            )));
        }
    }
    let events = prepared.unwrap_or_else(|| at.render_events(&payment_events(payment)));
    if !events.is_empty() {
        ops.insert_events(tenant, &events, at.now * 1000).await?;
    }
    Ok(ImportOutcome::Created)
}
