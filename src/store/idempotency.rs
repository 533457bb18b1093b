//! Idempotency: a keyed request's response, saved in the transaction of the write it answers
//! and replayed for the key's retention.

use async_trait::async_trait;

use super::{StoreError, Tenant};

/// A response kept for replay under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedResponse {
    pub status: u16,
    pub body: String,
}

impl SavedResponse {
    /// The body as stored: LZ4, its length first. Written with every keyed call, read only by a
    /// replay, so it is kept small (issue 30: that saves a twentieth of a report's WAL).
    pub fn packed_body(&self) -> Vec<u8> {
        super::doc::pack(&self.body)
    }
}

/// A body stored by `SavedResponse::packed_body`.
pub fn unpack_body(packed: &[u8]) -> Result<String, StoreError> {
    super::doc::unpack(packed, "a saved idempotent response")
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

/// The idempotency key's row, written in the same transaction as the mutation it guards.
#[derive(Debug, Clone)]
pub struct IdempotencyRow {
    pub key: String,
    pub fingerprint: String,
    pub request_id: String,
    pub created: i64,
    /// A saved result created before this has expired: it is replaced, not replayed.
    pub expired_before: i64,
}

impl IdempotencyRow {
    /// Whether `saved`, found under this key, is still replayed (not expired).
    pub fn replays(&self, saved: &SavedIdempotent) -> bool {
        saved.live(self.expired_before)
    }
}

/// The key's rows inside a write's open transaction.
#[async_trait]
pub trait IdempotencyRows: Send {
    /// Claims `idem.key` for this transaction: None when claimed (new, or an expired result
    /// replaced), or the result another request saved under it. A backend may instead claim
    /// lazily in `finish_key` (PostgreSQL does): a key found taken there makes the caller roll
    /// the whole command back, so a second execution never commits.
    async fn claim_key(
        &mut self,
        tenant: &Tenant,
        idem: &IdempotencyRow,
    ) -> Result<Option<SavedIdempotent>, StoreError>;
    /// Stores the response under the key. Some(saved) when the key turned out to be taken
    /// already (lazy claims only): the caller then rolls the command back and replays `saved`.
    async fn finish_key(
        &mut self,
        tenant: &Tenant,
        idem: &IdempotencyRow,
        response: &SavedResponse,
    ) -> Result<Option<SavedIdempotent>, StoreError>;
}

/// Saved idempotent results (written with the write they answer).
#[async_trait]
pub trait Idempotency: Send + Sync {
    async fn find_idempotent(&self, tenant: &Tenant, key: &str) -> Result<Option<SavedIdempotent>, StoreError>;
    /// Deletes saved results created before `cutoff`; returns how many.
    async fn prune_idempotent(&self, cutoff: i64) -> Result<u64, StoreError>;
}
