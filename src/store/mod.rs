//! Persistence behind one trait. Each backend has its own SQL and migrations; every query is
//! scoped by `Tenant` (account + livemode), which is also the leading part of every key.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::records::lifecycle::{PaymentState, Transition};
use crate::records::model::{PaymentAttemptRecord, PaymentRecord};
use crate::wire::error::ApiError;

pub mod postgres;
pub mod sqlite;
pub mod write;

/// The wall between tenants: every row belongs to one account in one mode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant {
    pub account_id: String,
    pub livemode: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the store is shutting down")]
    Closed,
}

/// An API key's owner, as found by the digest of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub key_id: String,
    pub tenant: Tenant,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub has_more: bool,
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

/// The idempotency key row written in the same transaction as the mutation it guards.
#[derive(Debug, Clone)]
pub struct IdempotencySave {
    pub key: String,
    pub fingerprint: String,
    pub request_id: String,
    pub created: i64,
    /// A saved result created before this has expired: it is replaced, not replayed.
    pub expired_before: i64,
}

impl IdempotencySave {
    /// Whether `saved`, found under this key, is still replayed (not expired).
    pub fn replays(&self, saved: &SavedIdempotent) -> bool {
        saved.created >= self.expired_before
    }
}

/// A saved idempotent result, as found by key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedIdempotent {
    pub fingerprint: String,
    pub request_id: String,
    pub response: SavedResponse,
    pub created: i64,
}

/// Decides, under the record's lock, what a report call does to the current state.
pub type PlanFn = Box<dyn FnOnce(&PaymentState) -> Result<Transition, ApiError> + Send>;
/// Renders the response for the result, so it can be saved in the same transaction.
pub type RespondFn = Box<dyn FnOnce(Result<&PaymentState, &ApiError>) -> SavedResponse + Send>;

pub enum WriteTarget {
    /// report_payment: a new record and its first attempt.
    Create(PaymentState),
    /// Any other report call on an existing record (looked up by the client's id string).
    Existing { record_id: String, plan: PlanFn },
}

impl Debug for WriteTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteTarget::Create(state) => f.debug_tuple("Create").field(&state.record.id).finish(),
            WriteTarget::Existing { record_id, .. } => {
                f.debug_struct("Existing").field("record_id", record_id).finish()
            }
        }
    }
}

/// One mutation: apply `target`, render with `respond`, save under `idempotency` — one
/// transaction. A missing record renders a 404, a broken rule its lifecycle error; both are
/// saved like successes.
pub struct WriteCommand {
    pub tenant: Tenant,
    pub target: WriteTarget,
    pub respond: RespondFn,
    pub idempotency: Option<IdempotencySave>,
}

impl Debug for WriteCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteCommand")
            .field("tenant", &self.tenant)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// What a write produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Executed and committed (success or a saved error).
    Executed(SavedResponse),
    /// The idempotency key was saved by a concurrent request first; this is its result.
    AlreadySaved(SavedIdempotent),
}

/// Connections in a backend's pool, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub connections: u32,
    pub idle: u32,
}

#[async_trait]
pub trait Store: Send + Sync + Debug {
    /// Whether the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Whether every migration this build knows has been applied.
    async fn migrations_current(&self) -> Result<bool, StoreError>;
    fn pool_usage(&self) -> PoolUsage;

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

    // Payment records.
    async fn get_record(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentRecord>, StoreError>;
    async fn get_attempt(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentAttemptRecord>, StoreError>;
    async fn list_records(&self, tenant: &Tenant, query: &ListQuery) -> Result<Page<PaymentRecord>, ListError>;
    async fn list_attempts(
        &self,
        tenant: &Tenant,
        record_id: &str,
        query: &ListQuery,
    ) -> Result<Page<PaymentAttemptRecord>, ListError>;
    async fn write(&self, command: WriteCommand) -> Result<WriteOutcome, StoreError>;

    // Idempotency.
    async fn find_idempotent(&self, tenant: &Tenant, key: &str) -> Result<Option<SavedIdempotent>, StoreError>;
    /// Deletes saved results created before `cutoff`; returns how many.
    async fn prune_idempotent(&self, cutoff: i64) -> Result<u64, StoreError>;
}

/// Decodes an object's stored JSON document.
pub(crate) fn decode_doc<T: serde::de::DeserializeOwned>(doc: &str) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Encodes an object as its stored JSON document.
pub(crate) fn encode_doc<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain objects serialize")
}

pub(crate) fn decode_page<T: serde::de::DeserializeOwned>(page: Page<String>) -> Result<Page<T>, ListError> {
    let data = page.data.iter().map(|d| decode_doc(d)).collect::<Result<Vec<T>, _>>()?;
    Ok(Page {
        data,
        has_more: page.has_more,
    })
}

/// Whether every migration of `migrator` is recorded as applied in `_sqlx_migrations`.
pub(crate) async fn migrations_current<'a, E>(
    migrator: &sqlx::migrate::Migrator,
    executor: E,
) -> Result<bool, StoreError>
where
    E: sqlx::Executor<'a>,
    i64: sqlx::Type<E::Database> + for<'r> sqlx::Decode<'r, E::Database>,
    for<'q> <E::Database as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Database>,
    (i64,): for<'r> sqlx::FromRow<'r, <E::Database as sqlx::Database>::Row>,
{
    let applied: Result<(i64,), sqlx::Error> = sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(executor)
        .await;
    match applied {
        Ok((n,)) => Ok(n as usize >= migrator.iter().count()),
        Err(sqlx::Error::Database(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
