//! What an API key may do, told by its prefix (Stripe's convention): the store keeps the
//! prefix beside the key's digest and hands back the kind.

use async_trait::async_trait;

use super::{StoreError, Tenant};

pub const TEST_KEY_PREFIX: &str = "sk_test_";
pub const LIVE_KEY_PREFIX: &str = "sk_live_";
/// Restricted keys (Stripe's convention): every GET of the API, nothing else.
pub const RESTRICTED_TEST_KEY_PREFIX: &str = "rk_test_";
pub const RESTRICTED_LIVE_KEY_PREFIX: &str = "rk_live_";

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `sk_…`: everything.
    Secret,
    /// `rk_…` with the `read` permission: every GET, nothing else.
    RestrictedRead,
}

impl KeyKind {
    /// The prefix of a key of this kind in that mode (also stored, to list and to tell the kind).
    pub fn prefix(self, livemode: bool) -> &'static str {
        match (self, livemode) {
            (KeyKind::Secret, false) => TEST_KEY_PREFIX,
            (KeyKind::Secret, true) => LIVE_KEY_PREFIX,
            (KeyKind::RestrictedRead, false) => RESTRICTED_TEST_KEY_PREFIX,
            (KeyKind::RestrictedRead, true) => RESTRICTED_LIVE_KEY_PREFIX,
        }
    }

    /// The kind of a key with this stored prefix.
    pub fn of_prefix(prefix: &str) -> KeyKind {
        if prefix.starts_with("rk_") {
            KeyKind::RestrictedRead
        } else {
            KeyKind::Secret
        }
    }
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

/// Accounts and their API keys (only a key's digest is stored).
#[async_trait]
pub trait Accounts: Send + Sync {
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
}
