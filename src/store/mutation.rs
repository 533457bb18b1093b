//! What a write is and what it produced: the data of the one write path (`store::write`), and
//! the row-level operations (`WriteOps`) each backend supplies for it.

use async_trait::async_trait;

use super::{SavedIdempotent, SavedResponse, StoreError, Tenant};
use crate::events::EndpointCommand;
use crate::events::WebhookEndpoint;
use crate::events::render::{EventRequest, NewEvent, new_event, new_event_id};
use crate::records::command::RecordCommand;
use crate::records::lifecycle::{LifecycleError, PaymentState};
use crate::records::model::{PaymentAttemptRecord, PaymentRecord, Refund};
use crate::records::totals::TotalsChange;

/// One mutation, applied in one transaction.
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
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
