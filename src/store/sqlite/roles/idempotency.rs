//! SQLite's idempotency.

use crate::store::idempotency::IdempotencyRows;
use crate::store::sqlite::key_index::{KeyEntry, saved_at};
use crate::store::sqlite::ops::SqliteOps;
use crate::store::sqlite::prefix::first_live;
use crate::store::sqlite::{SqliteStore, key_log};
use crate::store::{Idempotency, IdempotencyRow, SavedIdempotent, SavedResponse, StoreError, Tenant};
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl Idempotency for SqliteStore {
    async fn find_idempotent(&self, tenant: &Tenant, key: &str) -> Result<Option<SavedIdempotent>, StoreError> {
        let hash = self.hasher.hash(tenant, key);
        let rowids = self.keys.lock().expect("key index lock").candidates(hash);
        self.reads.find_idempotent(tenant, key, &rowids)
    }
    /// Rows are appended in time order, so the expired ones are a prefix of the rowids: find
    /// the first live row and delete the range before it (reads only what it deletes), with the
    /// key log's chunks before it. Rows out of order are expired by `claim_key`'s check and go
    /// in a later prune.
    async fn prune_idempotent(&self, cutoff: i64) -> Result<u64, StoreError> {
        let (deleted, first_live) = self
            .admin(move |conn| {
                // IMMEDIATE: it reads, then writes (see `events::prune`).
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let first_live = first_live(&tx, "idempotency_keys", "rowid", cutoff)?;
                let deleted = tx.execute("DELETE FROM idempotency_keys WHERE rowid < ?1", [first_live])?;
                key_log::prune(&tx, first_live)?;
                tx.commit()?;
                Ok((deleted as u64, first_live))
            })
            .await?;
        self.keys.lock().expect("key index lock").forget_before(first_live);
        Ok(deleted)
    }
}

#[async_trait]
impl IdempotencyRows for SqliteOps<'_> {
    /// The single writer runs one command at a time, so nothing can take the key between this
    /// read and `finish_key`. Reading it first keeps a replay from writing anything it must
    /// then undo. Candidates come from the in-memory index (`key_index`) and this batch's own
    /// unpublished results; the row decides.
    async fn claim_key(
        &mut self,
        tenant: &Tenant,
        idem: &IdempotencyRow,
    ) -> Result<Option<SavedIdempotent>, StoreError> {
        let hash = self.hasher.hash(tenant, &idem.key);
        let published = self.keys.lock().expect("key index lock").candidates(hash);
        let mut rowids: Vec<i64> = self
            .new_keys
            .iter()
            .rev()
            .filter(|e| e.hash == hash)
            .map(|e| e.rowid)
            .collect();
        rowids.extend(published);
        let saved = saved_at(self.conn, &rowids, tenant, &idem.key)?;
        Ok(saved.filter(|s| idem.replays(s)))
    }

    /// Appends the result; an expired row of the same key stays until the pruner removes it.
    async fn finish_key(
        &mut self,
        tenant: &Tenant,
        idem: &IdempotencyRow,
        response: &SavedResponse,
    ) -> Result<Option<SavedIdempotent>, StoreError> {
        self.exec(
            "INSERT INTO idempotency_keys (account_id, livemode, key, fingerprint, request_id, status, body, created) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                tenant.account_id,
                tenant.livemode,
                idem.key,
                idem.fingerprint,
                idem.request_id,
                i64::from(response.status),
                response.packed_body(),
                idem.created
            ],
        )?;
        self.new_keys.push(KeyEntry {
            hash: self.hasher.hash(tenant, &idem.key),
            rowid: self.conn.last_insert_rowid(),
        });
        Ok(None)
    }
}
