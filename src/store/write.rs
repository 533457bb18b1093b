//! The one write path every backend shares. A `Write` is data: a domain command, the tenant,
//! and optionally the idempotency key to save with it. In one transaction the path claims the
//! key, applies the command through the pure lifecycle (loading and locking what it changes),
//! writes the transition's rows, and saves the key with its rendered response. Backends supply
//! the SQL (`WriteOps`) and the transaction around it.

use super::doc::decode;
use super::mutation::render_events;
pub use super::mutation::{
    Applied, Command, IdempotencySave, ImportOutcome, PackedEvent, RenderSaved, Write, WriteOps, WriteOutcome,
    WriteResult,
};
use super::{StoreError, Tenant};
use crate::events::endpoint::ENDPOINTS_PER_TENANT_MAX;
use crate::events::endpoint::endpoint_disabled;
use crate::events::render::EventRequest;
use crate::events::{EndpointCommand, EndpointStatus, WebhookEndpoint, record_events};
use crate::records::command::RecordCommand;
use crate::records::lifecycle::{PaymentState, RowWrite, Transition};
use crate::records::model::PaymentRecord;
use crate::records::totals::totals_change;

/// The events of a write whose events need no stored state, rendered before the write runs: a
/// backend with a serial write path (the SQLite writer) calls this on the request's own task
/// and hands the result to `apply`.
#[derive(Debug, Clone)]
pub enum PreparedEvents {
    /// report_payment creates what its events describe.
    Create(Vec<PackedEvent>),
    /// An import: each payment's events (dropped with a payment that is not written).
    Import(Vec<Vec<PackedEvent>>),
}

pub fn prepare_events(write: &Write) -> Option<PreparedEvents> {
    let Command::Record(command) = &write.command else {
        return None;
    };
    let render = |drafts: &[crate::events::EventDraft]| render_events(drafts, &write.tenant, &write.request, write.now);
    match command {
        RecordCommand::Create(state) => Some(PreparedEvents::Create(render(&record_events(None, state, true, false)))),
        RecordCommand::Import(payments) => Some(PreparedEvents::Import(
            payments
                .iter()
                .map(|p| render(&super::import::payment_events(p)))
                .collect(),
        )),
        RecordCommand::Change { .. } => None,
    }
}

/// Applies one write inside the caller's open transaction. An `AlreadySaved` outcome must be
/// rolled back by the caller (a lazy claim may have found the key taken after writing).
/// `prepared`: the write's events from `prepare_events`, if the caller rendered them already.
pub async fn apply(
    ops: &mut impl WriteOps,
    write: Write,
    prepared: Option<PreparedEvents>,
) -> Result<WriteOutcome, StoreError> {
    let Write {
        tenant,
        command,
        idempotency,
        request,
        now,
    } = write;
    if let Some(idem) = &idempotency
        && let Some(saved) = ops.claim_key(&tenant, idem).await?
    {
        return Ok(WriteOutcome::AlreadySaved(saved));
    }
    let result = match command {
        Command::Record(command) => apply_record(ops, &tenant, command, &request, now, prepared).await?,
        Command::WebhookEndpoint(command) => apply_endpoint(ops, &tenant, command, &request, now).await?,
    };
    let mut saved = None;
    if let Some(idem) = &idempotency {
        let response = (idem.render)(&result, &idem.expand);
        if let Some(taken) = ops.finish_key(&tenant, idem, &response).await? {
            return Ok(WriteOutcome::AlreadySaved(taken));
        }
        saved = Some(response);
    }
    Ok(WriteOutcome::Executed { result, saved })
}

/// Loads a record and its latest attempt, locking the record until commit.
async fn lock_state(
    ops: &mut impl WriteOps,
    tenant: &Tenant,
    record_id: &str,
) -> Result<Option<PaymentState>, StoreError> {
    let Some(doc) = ops.lock_record_doc(tenant, record_id).await? else {
        return Ok(None);
    };
    let record: PaymentRecord = decode(&doc)?;
    let latest = ops
        .attempt_doc(tenant, record.latest_attempt.as_str())
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("record {} has no latest attempt", record.id)))?;
    Ok(Some(PaymentState {
        record,
        latest: decode(&latest)?,
    }))
}

async fn apply_record(
    ops: &mut impl WriteOps,
    tenant: &Tenant,
    command: RecordCommand,
    request: &EventRequest,
    now: i64,
    prepared: Option<PreparedEvents>,
) -> Result<WriteResult, StoreError> {
    let (before, transition) = match command {
        RecordCommand::Import(payments) => {
            let prepared = match prepared {
                Some(PreparedEvents::Import(events)) => Some(events),
                _ => None,
            };
            return super::import::apply_import(ops, tenant, payments, prepared, request, now).await;
        }
        RecordCommand::Create(state) => (None, Transition::created(state)),
        RecordCommand::Change { record_id, change } => {
            let Some(state) = lock_state(ops, tenant, &record_id).await? else {
                return Ok(WriteResult::Missing {
                    object: "payment_record",
                    id: record_id,
                });
            };
            match change.apply(&state) {
                Ok(transition) => (Some(state), transition),
                Err(rule) => return Ok(WriteResult::Rejected(rule)),
            }
        }
    };
    let state = &transition.state;
    for (i, row) in transition.writes.iter().enumerate() {
        match row {
            RowWrite::InsertRefund(refund) => {
                if !ops.insert_refund(tenant, refund).await? {
                    assert_eq!(i, 0, "a refund is its transition's first write");
                    return Ok(WriteResult::RefundReferenceTaken {
                        reference: refund.refund_reference.clone(),
                    });
                }
            }
            RowWrite::InsertRecord => ops.insert_record(tenant, &state.record).await?,
            RowWrite::UpdateRecord => ops.update_record(tenant, &state.record).await?,
            RowWrite::InsertLatestAttempt => ops.insert_attempt(tenant, &state.latest).await?,
            RowWrite::UpdateLatestAttempt => ops.update_attempt(tenant, &state.latest).await?,
        }
    }
    if let Some(change) = totals_change(before.as_ref().map(|b| &b.record), &state.record) {
        ops.add_totals(tenant, &change).await?;
    }
    let events = match prepared {
        Some(PreparedEvents::Create(events)) => {
            debug_assert!(before.is_none(), "only a create's events are prepared");
            events
        }
        Some(PreparedEvents::Import(_)) => unreachable!("an import's events go with the import"),
        None => {
            let drafts = record_events(
                before.as_ref(),
                state,
                transition.new_attempt(),
                transition.refund().is_some(),
            );
            render_events(&drafts, tenant, request, now)
        }
    };
    if !events.is_empty() {
        ops.insert_events(tenant, &events, now * 1000).await?;
    }
    Ok(WriteResult::Applied(Applied::Record(transition.state)))
}

async fn apply_endpoint(
    ops: &mut impl WriteOps,
    tenant: &Tenant,
    command: EndpointCommand,
    request: &EventRequest,
    now: i64,
) -> Result<WriteResult, StoreError> {
    let missing = |id: String| WriteResult::Missing {
        object: "webhook_endpoint",
        id,
    };
    match command {
        EndpointCommand::Create(endpoint) => {
            if ops.count_endpoints(tenant).await? >= ENDPOINTS_PER_TENANT_MAX {
                return Ok(WriteResult::EndpointLimitReached);
            }
            let secret = endpoint.secret.as_deref().expect("a new endpoint carries its secret");
            ops.insert_endpoint(tenant, &endpoint, secret).await?;
            Ok(WriteResult::Applied(Applied::Endpoint(endpoint)))
        }
        EndpointCommand::Update { id, change } => {
            let Some(doc) = ops.lock_endpoint_doc(tenant, &id).await? else {
                return Ok(missing(id));
            };
            let endpoint: WebhookEndpoint = decode(&doc)?;
            match change.apply(&endpoint) {
                Ok(next) => {
                    ops.update_endpoint(tenant, &next).await?;
                    Ok(WriteResult::Applied(Applied::Endpoint(next)))
                }
                Err(rule) => Ok(WriteResult::Rejected(rule)),
            }
        }
        EndpointCommand::Delete { id } => {
            if ops.lock_endpoint_doc(tenant, &id).await?.is_none() {
                return Ok(missing(id));
            }
            ops.delete_endpoint(tenant, &id).await?;
            Ok(WriteResult::Applied(Applied::EndpointDeleted(id)))
        }
        EndpointCommand::DisableFailing { id } => {
            let Some(doc) = ops.lock_endpoint_doc(tenant, &id).await? else {
                return Ok(missing(id));
            };
            let mut endpoint: WebhookEndpoint = decode(&doc)?;
            if endpoint.status == EndpointStatus::Disabled {
                return Ok(WriteResult::Applied(Applied::Endpoint(endpoint)));
            }
            endpoint.status = EndpointStatus::Disabled;
            ops.update_endpoint(tenant, &endpoint).await?;
            let events = render_events(&[endpoint_disabled(&endpoint)], tenant, request, now);
            ops.insert_events(tenant, &events, now * 1000).await?;
            Ok(WriteResult::Applied(Applied::Endpoint(endpoint)))
        }
    }
}
