//! The store's side of events and webhooks: how events are listed, and the delivery queue's
//! operations (claim with a lease, finish, backlog, resend). The worker that drives them is
//! `jobs::delivery`.

use async_trait::async_trait;

use super::page::{Filter, ListOf};
use super::write::PackedEvent;
use super::{DueEndpoint, FailingEndpoint, ListError, ListQuery, Page, StoreError, Tenant};

/// `GET /v1/events` filters beyond the page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub page: ListQuery,
    /// Only these exact types (`type=` or `types[]`); empty means any.
    pub types: Vec<String>,
    /// Only types starting with this (`type=prefix.*`).
    pub type_prefix: Option<String>,
    /// Only events whose every delivery succeeded (`true`) or that have one that did not
    /// (`false`).
    pub delivery_success: Option<bool>,
}

impl EventQuery {
    /// Whether any event could match: a type filter that names no type of the catalogue
    /// matches nothing, and is answered without reading anything.
    pub fn can_match(&self) -> bool {
        use crate::events::catalogue::EventType;
        let typed = !self.types.is_empty() || self.type_prefix.is_some();
        !typed
            || self.types.iter().any(|t| EventType::parse(t).is_some())
            || self
                .type_prefix
                .as_deref()
                .is_some_and(|prefix| EventType::ALL.iter().any(|t| t.as_str().starts_with(prefix)))
    }
}

/// A delivery's states, as stored.
pub const DELIVERY_PENDING: &str = "pending";
pub const DELIVERY_SUCCEEDED: &str = "succeeded";
pub const DELIVERY_FAILED: &str = "failed";

/// A delivery's state: due or waiting for a retry, acknowledged, or given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Succeeded,
    Failed,
}

impl DeliveryState {
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => DELIVERY_PENDING,
            DeliveryState::Succeeded => DELIVERY_SUCCEEDED,
            DeliveryState::Failed => DELIVERY_FAILED,
        }
    }

    /// The state a row stores; an unknown word is stored data this build cannot read.
    pub fn parse(stored: &str) -> Result<DeliveryState, StoreError> {
        [DeliveryState::Pending, DeliveryState::Succeeded, DeliveryState::Failed]
            .into_iter()
            .find(|s| s.as_str() == stored)
            .ok_or_else(|| StoreError::Corrupt(format!("a delivery's state is {stored:?}")))
    }
}

/// A worker's request for due deliveries of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// This worker (random per process).
    pub owner: String,
    pub endpoint_id: String,
    /// At most this many.
    pub limit: usize,
    pub now_ms: i64,
    /// The lease runs out then: a claimed delivery not finished by then is due again.
    pub lease_until_ms: i64,
}

/// A delivery claimed by a worker: everything needed to attempt it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub seq: i64,
    pub tenant: Tenant,
    pub event_id: String,
    pub endpoint_id: String,
    pub url: String,
    pub secret: String,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The event's JSON, as `GET /v1/events/:id` returns it now, in the endpoint's API version.
    pub body: String,
}

/// Leased deliveries given back unattempted (`Outbox::release_deliveries`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    pub owner: String,
    pub seqs: Vec<i64>,
    pub now_ms: i64,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryNext {
    Succeeded,
    /// Try again at this time (milliseconds).
    RetryAt(i64),
    /// Retries exhausted.
    GaveUp,
}

/// One finished attempt, written back by the worker that held the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedDelivery {
    pub seq: i64,
    pub owner: String,
    pub endpoint_id: String,
    pub next: DeliveryNext,
    pub attempted_at_ms: i64,
    /// The endpoint's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    pub latency_ms: i64,
}

impl FinishedDelivery {
    pub fn state(&self) -> &'static str {
        match self.next {
            DeliveryNext::Succeeded => DELIVERY_SUCCEEDED,
            DeliveryNext::RetryAt(_) => DELIVERY_PENDING,
            DeliveryNext::GaveUp => DELIVERY_FAILED,
        }
    }

    /// The `next_attempt_at` to store (meaningless once not pending).
    pub fn next_attempt_at(&self) -> i64 {
        match self.next {
            DeliveryNext::RetryAt(at) => at,
            _ => self.attempted_at_ms,
        }
    }
}

/// The pending deliveries, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub pending: u64,
    /// When the oldest pending delivery's event was created (seconds).
    pub oldest_created: Option<i64>,
}

/// An operator's `payrec events resend`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resend {
    pub event_id: String,
    /// Only this endpoint (which need not have had a delivery of the event).
    pub endpoint_id: Option<String>,
    pub now_ms: i64,
}

/// What a resend did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resent {
    /// This many deliveries are due now.
    Queued(u64),
    EventMissing,
    EndpointMissing,
}

/// One event of a record, as its page lists it: read from the event's columns, never parsed
/// back from its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    pub id: String,
    /// The event type (`payment_record.created`, …).
    pub kind: String,
    pub created: i64,
    pub pending_webhooks: u64,
}

/// One delivery, for the dashboard and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryInfo {
    pub event_id: String,
    pub endpoint_id: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_attempt_at_ms: Option<i64>,
}

/// The SQL of an event's `pending_webhooks`: its deliveries not yet acknowledged (a query on
/// `events`).
pub(crate) const PENDING_WEBHOOKS: &str = "(SELECT COUNT(*) FROM webhook_deliveries d \
     WHERE d.account_id = events.account_id AND d.livemode = events.livemode AND d.event_id = events.id \
     AND d.state <> 'succeeded')";

/// An event's JSON from its stored parts.
pub(crate) fn event_body(head: &[u8], pending_webhooks: i64, tail: &str) -> Result<String, StoreError> {
    let head = super::doc::unpack(head, "an event's stored JSON")?;
    Ok(crate::events::render::event_json(
        &head,
        pending_webhooks.max(0) as u64,
        tail,
    ))
}

/// A delivery's event as its endpoint's `api_version` (none: the account's default) renders it.
pub(crate) fn as_of_endpoint(event: String, endpoint_version: Option<String>) -> String {
    match endpoint_version.as_deref().and_then(crate::api_version::known) {
        Some(version) => crate::api_version::event_as_of(event, version),
        None => event,
    }
}

/// An event none of whose deliveries is unacknowledged.
const ALL_DELIVERED: &str = "NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.account_id = events.account_id \
     AND d.livemode = events.livemode AND d.event_id = events.id AND d.state <> 'succeeded')";
const NOT_ALL_DELIVERED: &str = "EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.account_id = events.account_id \
     AND d.livemode = events.livemode AND d.event_id = events.id AND d.state <> 'succeeded')";

/// The list of events that `query` asks for, on either backend.
pub(crate) fn event_filters(query: &EventQuery) -> Vec<Filter<'_>> {
    let mut filters = Vec::new();
    if !query.types.is_empty() {
        filters.push(Filter::In("type", &query.types));
    }
    if let Some(prefix) = &query.type_prefix {
        filters.push(Filter::Prefix("type", prefix));
    }
    match query.delivery_success {
        Some(true) => filters.push(Filter::Sql(ALL_DELIVERED)),
        Some(false) => filters.push(Filter::Sql(NOT_ALL_DELIVERED)),
        None => {}
    }
    filters
}

/// The events list, over `filters`: a page of event ids (their bodies are read by id).
pub(crate) fn events_list<'a>(tenant: &'a Tenant, filters: &'a [Filter<'a>]) -> ListOf<'a> {
    ListOf {
        doc: "id",
        filters,
        ..ListOf::table("events", tenant)
    }
}

/// `bodies` (id, JSON) in the order of `ids`.
pub(crate) fn in_order(ids: &[String], mut bodies: Vec<(String, String)>) -> Result<Vec<String>, StoreError> {
    ids.iter()
        .map(|id| {
            let at = bodies
                .iter()
                .position(|(found, _)| found == id)
                .ok_or_else(|| StoreError::Database(format!("event {id} vanished while its page was read")))?;
            Ok(bodies.swap_remove(at).1)
        })
        .collect()
}

/// The outbox's rows inside a write's open transaction.
#[async_trait]
pub trait EventRows: Send {
    /// Inserts the events, in order, and a pending delivery of each to every enabled endpoint
    /// of the tenant that subscribes to its type, due at `now_ms`.
    async fn insert_events(&mut self, tenant: &Tenant, events: &[PackedEvent], now_ms: i64) -> Result<(), StoreError>;
}

/// Events and their webhook deliveries: the outbox the delivery worker drains.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// An event's JSON, with `pending_webhooks` as it is now.
    async fn get_event(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError>;
    async fn list_events(&self, tenant: &Tenant, query: &EventQuery) -> Result<Page<String>, ListError>;
    /// The events of one payment record, oldest first.
    async fn record_events(&self, tenant: &Tenant, record_id: &str) -> Result<Vec<EventSummary>, StoreError>;
    /// The newest deliveries of the tenant (of one endpoint or one event, when given).
    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        endpoint_id: Option<&str>,
        event_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeliveryInfo>, StoreError>;
    /// Deletes events created before `cutoff`, and their deliveries; returns how many events.
    async fn prune_events(&self, cutoff: i64) -> Result<u64, StoreError>;
    /// Called when this process starts delivering: leases only a dead process can hold are
    /// released (SQLite: `serve` holds the file's lock, so every lease is a dead process's;
    /// PostgreSQL: other replicas may be alive, so leases run out by themselves).
    async fn release_dead_leases(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
    /// Notified when a commit in this process queued deliveries.
    fn deliveries_queued(&self) -> std::sync::Arc<tokio::sync::Notify>;
    /// Enabled endpoints, not paused, with a delivery due at `now_ms`.
    async fn due_endpoints(&self, now_ms: i64) -> Result<Vec<DueEndpoint>, StoreError>;
    /// Leases up to `claim.limit` due deliveries of one endpoint to `claim.owner`, oldest due
    /// first; deliveries another worker holds are skipped.
    async fn claim_deliveries(&self, claim: Claim) -> Result<Vec<ClaimedDelivery>, StoreError>;
    /// Records finished attempts; one whose lease `owner` no longer holds is left alone.
    /// Writes the attempts' results and their endpoints' health; answers the enabled endpoints
    /// now failing for `events::health::DISABLE_AFTER_MS`.
    async fn finish_deliveries(&self, finished: Vec<FinishedDelivery>) -> Result<Vec<FailingEndpoint>, StoreError>;
    /// Gives leased deliveries back unattempted: due at `released.now_ms` for whoever leases
    /// them next (a paused endpoint's wait for its pause to end). One whose lease `owner` no
    /// longer holds is left alone; answers how many were given back.
    async fn release_deliveries(&self, released: Released) -> Result<u64, StoreError>;
    async fn delivery_backlog(&self) -> Result<Backlog, StoreError>;
    /// Gives up the oldest pending deliveries of each endpoint past its newest `max` (not the
    /// leased ones); answers how many.
    async fn cap_backlogs(&self, max: u64) -> Result<u64, StoreError>;
    /// Makes the event's deliveries due again (`payrec events resend`).
    async fn resend_event(&self, resend: &Resend) -> Result<Resent, StoreError>;
}
