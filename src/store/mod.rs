//! Persistence behind one trait, in the domain's terms: domain objects and commands in, domain
//! objects and results out; nothing here knows HTTP. Each backend has its own SQL and
//! migrations; every query is scoped by `Tenant` (account + livemode), which is also the
//! leading part of every key.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::events::WebhookEndpoint;
use crate::records::model::{Currency, PaymentAttemptRecord, PaymentRecord, StateName};
use crate::records::totals::Totals;

mod doc;
mod endpoint_health;
mod error;
pub mod events;
mod health;
mod import;
pub mod key_cache;
pub mod keys;
pub mod ledger;
mod mutation;
mod page;
pub mod postgres;
pub mod scan;
pub mod sqlite;
pub mod write;

pub use endpoint_health::{DueEndpoint, EndpointOutcome, FailingEndpoint};
pub use error::StoreError;
pub use events::{
    Backlog, Claim, ClaimedDelivery, DeliveryInfo, DeliveryNext, DeliveryState, EventQuery, EventSummary,
    FinishedDelivery, Resend, Resent,
};
pub use health::{Health, Outage, PROBE_BYTES};
pub use keys::KeyKind;
pub use ledger::{ExportQuery, LedgerQueries};
pub use write::{Applied, Command, IdempotencySave, ImportOutcome, RenderSaved, Write, WriteOutcome, WriteResult};

/// The wall between tenants: every row belongs to one account in one mode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant {
    pub account_id: String,
    pub livemode: bool,
}

/// An API key's owner, as found by the digest of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub key_id: String,
    pub tenant: Tenant,
    /// What the key may do.
    pub kind: KeyKind,
}

/// An API key as listed by `payrec keys list`: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub key_id: String,
    pub account_id: String,
    pub livemode: bool,
    pub prefix: String,
    pub last4: String,
    pub created: i64,
    pub revoked_at: Option<i64>,
}

/// A new API key to store: only its SHA-256 digest, never the key.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub key_id: String,
    pub tenant: Tenant,
    pub digest: [u8; 32],
    pub prefix: String,
    pub last4: String,
    pub created: i64,
}

/// A dashboard session to store: the digest of its id, never the id.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub digest: [u8; 32],
    pub key_id: String,
    pub tenant: Tenant,
    pub csrf: String,
    pub created: i64,
    pub expires: i64,
}

/// A live dashboard session: its key is active and it has not expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub key_id: String,
    pub tenant: Tenant,
    /// What the session's key may do.
    pub kind: KeyKind,
    pub csrf: String,
    pub expires: i64,
}

/// Which page of a list: newest first, `(created, seq)` descending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub limit: usize,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
    /// Exclusive bounds on `created`.
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
}

/// Which payment records a list shows (the dashboard's filters); the default is all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// The latest attempt's state.
    pub state: Option<StateName>,
    pub currency: Option<Currency>,
    /// Bounds on the requested amount, in minor units, inclusive.
    pub amount_at_least: Option<i64>,
    pub amount_at_most: Option<i64>,
}

impl RecordFilter {
    /// The conditions on `payment_records` rows.
    pub(crate) fn conditions(&self) -> Vec<page::Filter<'_>> {
        let mut conditions = Vec::new();
        if let Some(state) = self.state {
            conditions.push(page::Filter::Equals("state", state.as_str()));
        }
        if let Some(currency) = &self.currency {
            conditions.push(page::Filter::Equals("currency", currency.as_str()));
        }
        if let Some(n) = self.amount_at_least {
            conditions.push(page::Filter::AtLeast("amount", n));
        }
        if let Some(n) = self.amount_at_most {
            conditions.push(page::Filter::AtMost("amount", n));
        }
        conditions
    }
}

/// One day's totals of one currency in one tenant (`records::totals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotals {
    pub day: i64,
    pub currency: Currency,
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    pub fn empty() -> Self {
        Page {
            data: Vec::new(),
            has_more: false,
        }
    }
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The cursor id is not an object of this list in this tenant.
    #[error("unknown cursor")]
    UnknownCursor,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A response kept for replay under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedResponse {
    pub status: u16,
    pub body: String,
}

/// A saved idempotent result, as found by key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedIdempotent {
    pub fingerprint: String,
    pub request_id: String,
    pub response: SavedResponse,
    pub created: i64,
}

impl SavedIdempotent {
    /// Whether it is still replayed: saved at or after `expired_before`.
    pub fn live(&self, expired_before: i64) -> bool {
        self.created >= expired_before
    }
}

/// Connections in a backend's pool, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub connections: u32,
    pub idle: u32,
}

#[async_trait]
pub trait Store: LedgerQueries + Send + Sync + Debug {
    /// Whether the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Whether every migration this build knows has been applied.
    async fn migrations_current(&self) -> Result<bool, StoreError>;
    /// The outage the last write ran into, until a write commits again.
    fn outage(&self) -> Option<Outage>;
    /// A small durable write, to find out whether writes work again (clears `outage` if so).
    async fn probe(&self) -> Result<(), StoreError>;
    /// Called once the server has stopped: leaves the database tidy (SQLite: the WAL copied
    /// back and emptied).
    async fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }
    fn pool_usage(&self) -> PoolUsage;
    /// Brings the query planner's statistics up to date where the database does not do so
    /// itself; returns the tables analyzed (PostgreSQL with autovacuum off; SQLite: none).
    async fn refresh_statistics(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    // Accounts and keys.
    async fn count_accounts(&self) -> Result<u64, StoreError>;
    async fn create_account(&self, account_id: &str, created: i64) -> Result<(), StoreError>;
    /// Creates `account_id` only if no account exists yet, atomically even when several servers
    /// start at once; true when it was created.
    async fn create_first_account(&self, account_id: &str, created: i64) -> Result<bool, StoreError>;
    async fn account_exists(&self, account_id: &str) -> Result<bool, StoreError>;
    async fn create_key(&self, key: &NewKey) -> Result<(), StoreError>;
    /// Creates the account and key if the digest is unknown (`--accept-any-key`); returns the owner.
    async fn ensure_key_account(&self, key: &NewKey) -> Result<KeyOwner, StoreError>;
    async fn find_key(&self, digest: &[u8; 32]) -> Result<Option<KeyOwner>, StoreError>;
    async fn list_keys(&self) -> Result<Vec<KeyInfo>, StoreError>;
    /// Returns false if no active key has that id.
    async fn revoke_key(&self, key_id: &str, now: i64) -> Result<bool, StoreError>;

    // Dashboard sessions.
    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError>;
    /// The session with this digest, unless it expired at `now` or its key was revoked.
    async fn find_session(&self, digest: &[u8; 32], now: i64) -> Result<Option<Session>, StoreError>;
    /// Deletes the session (sign out), and every session that expired before `now`.
    async fn delete_session(&self, digest: &[u8; 32], now: i64) -> Result<(), StoreError>;

    // Payment records.
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

    /// Applies one mutation and saves its idempotency key, in one transaction.
    async fn write(&self, write: Write) -> Result<WriteOutcome, StoreError>;

    // Idempotency.
    async fn find_idempotent(&self, tenant: &Tenant, key: &str) -> Result<Option<SavedIdempotent>, StoreError>;
    /// Deletes saved results created before `cutoff`; returns how many.
    async fn prune_idempotent(&self, cutoff: i64) -> Result<u64, StoreError>;

    // Events and webhook endpoints (written by `write`).
    /// An event's JSON, with `pending_webhooks` as it is now.
    async fn get_event(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError>;
    async fn list_events(&self, tenant: &Tenant, query: &EventQuery) -> Result<Page<String>, ListError>;
    /// The events of one payment record, oldest first.
    async fn record_events(&self, tenant: &Tenant, record_id: &str) -> Result<Vec<EventSummary>, StoreError>;
    async fn get_endpoint(&self, tenant: &Tenant, id: &str) -> Result<Option<WebhookEndpoint>, StoreError>;
    /// The signing secret of one endpoint (for a create's answer and its replays).
    async fn endpoint_secret(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError>;
    async fn list_endpoints(&self, tenant: &Tenant, query: &ListQuery) -> Result<Page<WebhookEndpoint>, ListError>;
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

    // The delivery queue (`jobs::delivery`).
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
    async fn delivery_backlog(&self) -> Result<Backlog, StoreError>;
    /// Gives up the oldest pending deliveries of each endpoint past its newest `max` (not the
    /// leased ones); answers how many.
    async fn cap_backlogs(&self, max: u64) -> Result<u64, StoreError>;
    /// Makes the event's deliveries due again (`payrec events resend`).
    async fn resend_event(&self, resend: &Resend) -> Result<Resent, StoreError>;
}
