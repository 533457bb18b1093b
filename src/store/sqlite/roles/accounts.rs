//! SQLite's accounts and API keys.

use crate::store::key_cache::KEY_CACHE_TTL;
use crate::store::sqlite::{SqliteStore, insert_key};
use crate::store::{Accounts, KeyInfo, KeyOwner, NewKey, StoreError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl Accounts for SqliteStore {
    async fn count_accounts(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .reads
            .with(|conn| conn.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0)))?;
        Ok(n as u64)
    }
    async fn create_account(&self, account_id: &str, created: i64) -> Result<(), StoreError> {
        let id = account_id.to_owned();
        self.admin(move |conn| {
            conn.execute(
                "INSERT INTO accounts (id, created) VALUES (?1, ?2)",
                params![id, created],
            )?;
            Ok(())
        })
        .await
    }
    async fn create_first_account(&self, account_id: &str, created: i64) -> Result<bool, StoreError> {
        let id = account_id.to_owned();
        // One statement: SQLite runs writes one at a time, so the check and the insert are atomic.
        self.admin(move |conn| {
            let done = conn.execute(
                "INSERT INTO accounts (id, created) SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM accounts)",
                params![id, created],
            )?;
            Ok(done == 1)
        })
        .await
    }
    async fn account_exists(&self, account_id: &str) -> Result<bool, StoreError> {
        self.reads.with(|conn| {
            conn.query_row("SELECT 1 FROM accounts WHERE id = ?1", [account_id], |_| Ok(()))
                .optional()
                .map(|found| found.is_some())
        })
    }
    async fn create_key(&self, key: &NewKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.admin(move |conn| {
            insert_key(conn, &key, "INSERT")?;
            Ok(())
        })
        .await
    }
    async fn ensure_key_account(&self, key: &NewKey) -> Result<KeyOwner, StoreError> {
        let stored = key.clone();
        self.admin(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT OR IGNORE INTO accounts (id, created) VALUES (?1, ?2)",
                params![stored.tenant.account_id, stored.created],
            )?;
            insert_key(&tx, &stored, "INSERT OR IGNORE")?;
            tx.commit()?;
            Ok(())
        })
        .await?;
        self.find_key(&key.digest)
            .await?
            .ok_or_else(|| StoreError::Database("a key vanished right after its insert".into()))
    }
    async fn find_key(&self, digest: &[u8; 32]) -> Result<Option<KeyOwner>, StoreError> {
        self.key_signal.check(&self.api_keys);
        self.api_keys.find(digest, async { self.reads.find_key(digest) }).await
    }
    async fn list_keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        self.reads.with(|conn| {
            conn.prepare(
                "SELECT id, account_id, livemode, prefix, last4, created, revoked_at FROM api_keys ORDER BY account_id, created, id",
            )?
            .query_map([], |r| {
                Ok(KeyInfo {
                    key_id: r.get(0)?,
                    account_id: r.get(1)?,
                    livemode: r.get(2)?,
                    prefix: r.get(3)?,
                    last4: r.get(4)?,
                    created: r.get(5)?,
                    revoked_at: r.get(6)?,
                })
            })?
            .collect()
        })
    }
    /// Every process's key cache forgets its keys once this commits (`key_signal`).
    async fn revoke_key(&self, key_id: &str, now: i64) -> Result<bool, StoreError> {
        let id = key_id.to_owned();
        let done = self
            .admin(move |conn| {
                let done = conn.execute(
                    "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
                    params![now, id],
                )?;
                Ok(done == 1)
            })
            .await?;
        self.api_keys.forget();
        if done {
            self.key_signal.raise().map_err(|e| {
                StoreError::Database(format!(
                    "the key was revoked, but a running server may accept it for up to {} s more: {e}",
                    KEY_CACHE_TTL.as_secs()
                ))
            })?;
        }
        Ok(done)
    }
}
