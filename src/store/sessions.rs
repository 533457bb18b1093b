//! Dashboard sessions: signed in with an API key, kept by the digest of their id.

use async_trait::async_trait;

use super::{KeyKind, StoreError, Tenant};

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

/// Dashboard sessions (only a session id's digest is stored).
#[async_trait]
pub trait Sessions: Send + Sync {
    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError>;
    /// The session with this digest, unless it expired at `now` or its key was revoked.
    async fn find_session(&self, digest: &[u8; 32], now: i64) -> Result<Option<Session>, StoreError>;
    /// Deletes the session (sign out), and every session that expired before `now`.
    async fn delete_session(&self, digest: &[u8; 32], now: i64) -> Result<(), StoreError>;
}
