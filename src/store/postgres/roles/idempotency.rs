//! PostgreSQL's idempotency.

use crate::store::idempotency::IdempotencyRows;
use crate::store::postgres::batch::Rows;
use crate::store::postgres::ops::PgOps;
use crate::store::postgres::{PgStore, ops};
use crate::store::{Idempotency, IdempotencyRow, SavedIdempotent, SavedResponse, StoreError, Tenant};
use async_trait::async_trait;

#[async_trait]
impl Idempotency for PgStore {
    async fn find_idempotent(&self, tenant: &Tenant, key: &str) -> Result<Option<SavedIdempotent>, StoreError> {
        ops::saved(&self.pool()?, tenant, key).await
    }
    async fn prune_idempotent(&self, cutoff: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created < $1")
            .bind(cutoff)
            .execute(&self.pool()?)
            .await?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl IdempotencyRows for PgOps<'_> {
    /// Lazy: the key is saved with the write's rows (`finish_key`), in its statement. Two
    /// replicas running the same key both execute; the second's insert of the key waits for
    /// the first's commit, finds the key taken, and its whole statement fails and is rolled
    /// back before the first result is replayed, so only one execution ever commits.
    async fn claim_key(
        &mut self,
        _tenant: &Tenant,
        _idem: &IdempotencyRow,
    ) -> Result<Option<SavedIdempotent>, StoreError> {
        Ok(None)
    }

    async fn finish_key(
        &mut self,
        tenant: &Tenant,
        idem: &IdempotencyRow,
        response: &SavedResponse,
    ) -> Result<Option<SavedIdempotent>, StoreError> {
        assert!(!self.immediate, "an immediate write carries no idempotency key");
        if let Some(group) = self.group_rows() {
            group.save_key(tenant, idem, response);
            return Ok(None);
        }
        // New key: insert. Expired key: take it over. Live key: no row, and `finish` fails.
        let b = &mut self.batch;
        let values = [
            b.bind(&tenant.account_id),
            b.bind(tenant.livemode),
            b.bind(&idem.key),
            b.bind(&idem.fingerprint),
            b.bind(&idem.request_id),
            b.bind(i32::from(response.status)),
            b.bind(response.packed_body()),
            b.bind(idem.created),
        ];
        let sql = format!(
            "INSERT INTO idempotency_keys (account_id, livemode, key, fingerprint, request_id, status, packed, created) \
             VALUES ({}) ON CONFLICT (account_id, livemode, key) DO UPDATE SET {} \
             WHERE idempotency_keys.created < {} RETURNING 1",
            values.join(", "),
            ops::KEY_TAKEN_OVER,
            b.bind(idem.expired_before)
        );
        b.push(sql, Rows::Key);
        Ok(None)
    }
}
