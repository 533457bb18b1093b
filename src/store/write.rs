//! The one write path every backend shares. A `Write` is data: a domain command, the tenant,
//! and optionally the idempotency key to save with it. In one transaction the path claims the
//! key, applies the command through the pure lifecycle (loading and locking what it changes),
//! writes the transition's rows, and saves the key with its rendered response. Backends supply
//! the SQL (`WriteOps`) and the transaction around it.

use async_trait::async_trait;

use super::doc::decode;
use super::{SavedIdempotent, SavedResponse, StoreError, Tenant};
use crate::events::endpoint::ENDPOINTS_PER_TENANT_MAX;
use crate::events::render::{EventRequest, NewEvent, new_event, new_event_id};
use crate::events::{EndpointCommand, WebhookEndpoint, record_events};
use crate::records::command::RecordCommand;
use crate::records::lifecycle::{LifecycleError, PaymentState, RowWrite, Transition};
use crate::records::model::{PaymentAttemptRecord, PaymentRecord, Refund};
use crate::records::totals::{TotalsChange, totals_change};

/// One mutation, applied in one transaction.
#[derive(Debug)]
pub struct Write {
    pub tenant: Tenant,
    pub command: Command,
    /// The key to save the response under, when the request carried one.
    pub idempotency: Option<IdempotencySave>,
    /// The request, named by the events the write emits.
    pub request: EventRequest,
    /// The time of the request (seconds): when its events were created.
    pub now: i64,
}

/// A mutation of one resource.
#[derive(Debug)]
pub enum Command {
    Record(RecordCommand),
    WebhookEndpoint(EndpointCommand),
}

/// What a command did. Everything but an `Err` from `Store::write` is committed (with its
/// idempotency key, if any): a missing object and a broken rule are answers, saved like
/// successes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteResult {
    Applied(Applied),
    /// The object the command names does not exist in the tenant.
    Missing {
        object: &'static str,
        id: String,
    },
    /// The lifecycle refused the call.
    Rejected(LifecycleError),
    /// The refund's `refund_reference` is already used in the tenant.
    RefundReferenceTaken {
        reference: String,
    },
    /// The tenant has `ENDPOINTS_PER_TENANT_MAX` webhook endpoints already.
    EndpointLimitReached,
    /// What became of each payment of an import, in order.
    Imported(Vec<ImportOutcome>),
}

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

/// The state a command left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Record(PaymentState),
    /// A created or updated webhook endpoint (carrying its secret when created).
    Endpoint(WebhookEndpoint),
    EndpointDeleted(String),
}

/// Renders the response saved under an idempotency key, inside the write's transaction, so a
/// replay answers the same bytes. A plain function of the result and the `expand[]` paths the
/// request asked for; the HTTP layer renders unkeyed responses with the same function.
pub type RenderSaved = fn(&WriteResult, &[&'static str]) -> SavedResponse;

/// The idempotency key row written in the same transaction as the mutation it guards.
#[derive(Debug, Clone)]
pub struct IdempotencySave {
    pub key: String,
    pub fingerprint: String,
    pub request_id: String,
    pub created: i64,
    /// A saved result created before this has expired: it is replaced, not replayed.
    pub expired_before: i64,
    pub render: RenderSaved,
    pub expand: Vec<&'static str>,
}

impl IdempotencySave {
    /// Whether `saved`, found under this key, is still replayed (not expired).
    pub fn replays(&self, saved: &SavedIdempotent) -> bool {
        saved.live(self.expired_before)
    }
}

/// What a write produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Executed and committed; `saved` is the response saved under the idempotency key, if any.
    Executed {
        result: WriteResult,
        saved: Option<SavedResponse>,
    },
    /// The idempotency key was saved by another request first; this is its result.
    AlreadySaved(SavedIdempotent),
}

/// An event as stored: its head packed (`store::events::pack_head`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedEvent {
    pub id: String,
    pub kind: crate::events::EventType,
    pub created: i64,
    pub record_id: String,
    pub head: Vec<u8>,
    pub tail: String,
}

impl From<NewEvent> for PackedEvent {
    fn from(e: NewEvent) -> Self {
        PackedEvent {
            head: super::events::pack_head(&e.head),
            id: e.id,
            kind: e.kind,
            created: e.created,
            record_id: e.record_id,
            tail: e.tail,
        }
    }
}

/// The events of `drafts`, rendered and packed.
pub(super) fn render_events(
    drafts: &[crate::events::EventDraft],
    tenant: &Tenant,
    request: &EventRequest,
    now: i64,
) -> Vec<PackedEvent> {
    drafts
        .iter()
        .map(|draft| new_event(new_event_id(), draft, &tenant.account_id, tenant.livemode, now, request).into())
        .collect()
}

/// The events of a write whose events need no stored state, rendered before the write runs: a
/// backend with a serial write path (the SQLite writer) calls this on the request's own task
/// and hands the result to `apply`.
#[derive(Debug)]
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

/// Row-level operations inside one open transaction.
#[async_trait]
pub trait WriteOps: Send {
    /// Claims `idem.key` for this transaction: None when claimed (new, or an expired result
    /// replaced), or the result another request saved under it. A backend may instead claim
    /// lazily in `finish_key` (PostgreSQL does): a key found taken there makes the caller roll
    /// the whole command back, so a second execution never commits.
    async fn claim_key(
        &mut self,
        tenant: &Tenant,
        idem: &IdempotencySave,
    ) -> Result<Option<SavedIdempotent>, StoreError>;
    /// Stores the response under the key. Some(saved) when the key turned out to be taken
    /// already (lazy claims only): the caller then rolls the command back and replays `saved`.
    async fn finish_key(
        &mut self,
        tenant: &Tenant,
        idem: &IdempotencySave,
        response: &SavedResponse,
    ) -> Result<Option<SavedIdempotent>, StoreError>;
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
    /// Inserts the events, in order, and a pending delivery of each to every enabled endpoint
    /// of the tenant that subscribes to its type, due at `now_ms`.
    async fn insert_events(&mut self, tenant: &Tenant, events: &[PackedEvent], now_ms: i64) -> Result<(), StoreError>;

    // Webhook endpoints.
    async fn count_endpoints(&mut self, tenant: &Tenant) -> Result<u64, StoreError>;
    /// An endpoint's stored document, locking it until commit.
    async fn lock_endpoint_doc(&mut self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError>;
    async fn insert_endpoint(
        &mut self,
        tenant: &Tenant,
        endpoint: &WebhookEndpoint,
        secret: &str,
    ) -> Result<(), StoreError>;
    async fn update_endpoint(&mut self, tenant: &Tenant, endpoint: &WebhookEndpoint) -> Result<(), StoreError>;
    /// Deletes the endpoint and its deliveries (pending ones stop).
    async fn delete_endpoint(&mut self, tenant: &Tenant, id: &str) -> Result<(), StoreError>;
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
        Command::WebhookEndpoint(command) => apply_endpoint(ops, &tenant, command).await?,
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
    }
}
