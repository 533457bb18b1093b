//! Payment records' writes: a report call (`RecordCommand`) applied under the record's lock
//! through the pure lifecycle, its rows, the day's totals and its events in one transaction.

use async_trait::async_trait;

use super::doc::decode;
use super::write::{Mutation, PackedEvent, WriteContext, WriteOps};
use super::{ListError, ListQuery, Page, RecordFilter, StoreError, Tenant};
use crate::events::record_events;
use crate::records::command::RecordCommand;
use crate::records::lifecycle::{LifecycleError, PaymentState, RowWrite, Transition};
use crate::records::model::{PaymentAttemptRecord, PaymentRecord, Refund};
use crate::records::totals::{TotalsChange, totals_change};

/// The rows of payment records inside a write's open transaction.
#[async_trait]
pub trait RecordRows: Send {
    /// A record's stored document, locking the record until commit.
    async fn lock_record_doc(&mut self, tenant: &Tenant, record_id: &str) -> Result<Option<String>, StoreError>;
    /// An attempt's stored document.
    async fn attempt_doc(&mut self, tenant: &Tenant, attempt_id: &str) -> Result<Option<String>, StoreError>;
    async fn insert_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError>;
    async fn update_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError>;
    async fn insert_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError>;
    async fn update_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError>;
    /// Whether `reference` names a refund of the tenant already.
    async fn refund_reference_used(&mut self, tenant: &Tenant, reference: &str) -> Result<bool, StoreError>;
    /// Inserts a refund row; false when its `refund_reference` is already used in the tenant.
    async fn insert_refund(&mut self, tenant: &Tenant, refund: &Refund) -> Result<bool, StoreError>;
    /// Adds a write's change to its day's totals (`records::totals`).
    async fn add_totals(&mut self, tenant: &Tenant, change: &TotalsChange) -> Result<(), StoreError>;
}

/// What a report call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The record and its latest attempt after the call.
    Applied(PaymentState),
    /// No payment record has this id in the tenant.
    Missing(String),
    /// The lifecycle refused the call.
    Rejected(LifecycleError),
    /// The refund's `refund_reference` is already used in the tenant.
    RefundReferenceTaken(String),
}

/// A report call, as the write path applies it.
#[derive(Debug, Clone)]
pub struct RecordWrite {
    command: RecordCommand,
    /// report_payment's events, rendered before the write was queued (`Mutation::prepare`).
    prepared: Option<Vec<PackedEvent>>,
}

impl From<RecordCommand> for RecordWrite {
    fn from(command: RecordCommand) -> Self {
        RecordWrite {
            command,
            prepared: None,
        }
    }
}

#[async_trait]
impl Mutation for RecordWrite {
    type Done = RecordOutcome;

    /// report_payment creates what its events describe, so they need no stored state.
    fn prepare(&mut self, at: &WriteContext<'_>) {
        if let RecordCommand::Create(state) = &self.command {
            self.prepared = Some(at.render_events(&record_events(None, state, true, false)));
        }
    }

    async fn apply(self, rows: &mut dyn WriteOps, at: &WriteContext<'_>) -> Result<RecordOutcome, StoreError> {
        let tenant = at.tenant;
        let (before, transition) = match self.command {
            RecordCommand::Create(state) => (None, Transition::created(state)),
            RecordCommand::Change { record_id, change } => {
                let Some(state) = lock_state(rows, tenant, &record_id).await? else {
                    return Ok(RecordOutcome::Missing(record_id));
                };
                match change.apply(&state) {
                    Ok(transition) => (Some(state), transition),
                    Err(rule) => return Ok(RecordOutcome::Rejected(rule)),
                }
            }
        };
        if let Some(taken) = write_rows(rows, tenant, &transition).await? {
            return Ok(RecordOutcome::RefundReferenceTaken(taken));
        }
        let state = &transition.state;
        if let Some(change) = totals_change(before.as_ref().map(|b| &b.record), &state.record) {
            rows.add_totals(tenant, &change).await?;
        }
        let events = match self.prepared {
            Some(events) => {
                debug_assert!(before.is_none(), "only a create's events are prepared");
                events
            }
            None => at.render_events(&record_events(
                before.as_ref(),
                state,
                transition.new_attempt(),
                transition.refund().is_some(),
            )),
        };
        if !events.is_empty() {
            rows.insert_events(tenant, &events, at.now * 1000).await?;
        }
        Ok(RecordOutcome::Applied(transition.state))
    }
}

/// Loads a record and its latest attempt, locking the record until commit.
async fn lock_state(
    rows: &mut dyn WriteOps,
    tenant: &Tenant,
    record_id: &str,
) -> Result<Option<PaymentState>, StoreError> {
    let Some(doc) = rows.lock_record_doc(tenant, record_id).await? else {
        return Ok(None);
    };
    let record: PaymentRecord = decode(&doc)?;
    let latest = rows
        .attempt_doc(tenant, record.latest_attempt.as_str())
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("record {} has no latest attempt", record.id)))?;
    Ok(Some(PaymentState {
        record,
        latest: decode(&latest)?,
    }))
}

/// Writes a transition's rows; the reference when its refund's `refund_reference` is taken
/// (then nothing was written: a refund is its transition's first write).
async fn write_rows(
    rows: &mut dyn WriteOps,
    tenant: &Tenant,
    transition: &Transition,
) -> Result<Option<String>, StoreError> {
    let state = &transition.state;
    for (i, row) in transition.writes.iter().enumerate() {
        match row {
            RowWrite::InsertRefund(refund) => {
                if !rows.insert_refund(tenant, refund).await? {
                    assert_eq!(i, 0, "a refund is its transition's first write");
                    return Ok(Some(refund.refund_reference.clone()));
                }
            }
            RowWrite::InsertRecord => rows.insert_record(tenant, &state.record).await?,
            RowWrite::UpdateRecord => rows.update_record(tenant, &state.record).await?,
            RowWrite::InsertLatestAttempt => rows.insert_attempt(tenant, &state.latest).await?,
            RowWrite::UpdateLatestAttempt => rows.update_attempt(tenant, &state.latest).await?,
        }
    }
    Ok(None)
}

/// Payment records and their attempts, as read (they are written by `Writes`).
#[async_trait]
pub trait Records: Send + Sync {
    async fn get_record(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentRecord>, StoreError>;
    /// Whether record `id` exists: its key only, never its document.
    async fn record_exists(&self, tenant: &Tenant, id: &str) -> Result<bool, StoreError>;
    async fn get_attempt(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentAttemptRecord>, StoreError>;
    async fn list_records(&self, tenant: &Tenant, query: &ListQuery) -> Result<Page<PaymentRecord>, ListError> {
        self.list_records_where(tenant, query, &RecordFilter::default()).await
    }
    /// A page of the records that `filter` lets through.
    async fn list_records_where(
        &self,
        tenant: &Tenant,
        query: &ListQuery,
        filter: &RecordFilter,
    ) -> Result<Page<PaymentRecord>, ListError>;
    async fn list_attempts(
        &self,
        tenant: &Tenant,
        record_id: &str,
        query: &ListQuery,
    ) -> Result<Page<PaymentAttemptRecord>, ListError>;
}
