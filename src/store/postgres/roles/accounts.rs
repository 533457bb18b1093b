//! PostgreSQL's accounts and API keys.

use crate::store::postgres::{FIRST_ACCOUNT_LOCK, PgStore, insert_key, key_listener, key_owner};
use crate::store::{Accounts, KeyInfo, KeyOwner, NewKey, StoreError};
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl Accounts for PgStore {
    async fn count_accounts(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool()?)
            .await?;
        Ok(n as u64)
    }
    async fn create_account(&self, account_id: &str, created: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO accounts (id, created) VALUES ($1, $2)")
            .bind(account_id)
            .bind(created)
            .execute(&self.pool()?)
            .await?;
        Ok(())
    }
    async fn create_first_account(&self, account_id: &str, created: i64) -> Result<bool, StoreError> {
        // Replicas starting together on an empty database: the advisory lock lets one of them
        // check and create while the others wait, then see the account.
        let mut tx = self.pool()?.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FIRST_ACCOUNT_LOCK)
            .execute(&mut *tx)
            .await?;
        let done =
            sqlx::query("INSERT INTO accounts (id, created) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM accounts)")
                .bind(account_id)
                .bind(created)
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
    async fn account_exists(&self, account_id: &str) -> Result<bool, StoreError> {
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool()?)
            .await?;
        Ok(found.is_some())
    }
    async fn create_key(&self, key: &NewKey) -> Result<(), StoreError> {
        insert_key(&self.pool()?, key, "").await
    }
    async fn ensure_key_account(&self, key: &NewKey) -> Result<KeyOwner, StoreError> {
        sqlx::query("INSERT INTO accounts (id, created) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
            .bind(&key.tenant.account_id)
            .bind(key.created)
            .execute(&self.pool()?)
            .await?;
        insert_key(&self.pool()?, key, " ON CONFLICT DO NOTHING").await?;
        self.find_key(&key.digest)
            .await?
            .ok_or_else(|| StoreError::Database("a key vanished right after its insert".into()))
    }
    async fn find_key(&self, digest: &[u8; 32]) -> Result<Option<KeyOwner>, StoreError> {
        key_listener::start_listening(&self.keys, &self.primary);
        let lookup = async {
            let row = sqlx::query(
                "SELECT id, account_id, livemode, prefix FROM api_keys WHERE digest = $1 AND revoked_at IS NULL",
            )
            .bind(&digest[..]);
            let serving = self.primary.serving()?;
            let row = serving
                .run(async { Ok(row.fetch_optional(&serving.pool).await?) })
                .await?;
            Ok::<_, StoreError>(row.as_ref().map(key_owner))
        };
        self.keys.find(digest, lookup).await
    }
    async fn list_keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, account_id, livemode, prefix, last4, created, revoked_at FROM api_keys ORDER BY account_id, created, id",
        )
        .fetch_all(&self.pool()?)
        .await?;
        Ok(rows
            .iter()
            .map(|r| KeyInfo {
                key_id: r.get("id"),
                account_id: r.get("account_id"),
                livemode: r.get("livemode"),
                prefix: r.get("prefix"),
                last4: r.get("last4"),
                created: r.get("created"),
                revoked_at: r.get("revoked_at"),
            })
            .collect())
    }
    /// Every replica's key cache forgets its keys when this commits (`key_listener`).
    async fn revoke_key(&self, key_id: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool()?.begin().await?;
        let done = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(key_listener::KEYS_CHANNEL)
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.keys.forget();
        Ok(done.rows_affected() == 1)
    }
}
