//! PostgreSQL's SQL for the shared write path (`store::write`), inside one transaction.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};

use super::{ATTEMPT_DOC, RECORD_DOC_FOR_UPDATE, doc, events, totals};
use crate::events::WebhookEndpoint;
use crate::records::model::{PaymentAttemptRecord, PaymentRecord, Refund};
use crate::records::totals::TotalsChange;
use crate::store::doc::encode;
use crate::store::write::PackedEvent;
use crate::store::write::WriteOps;
use crate::store::{IdempotencySave, SavedIdempotent, SavedResponse, StoreError, Tenant};

#[derive(Debug)]
pub(super) struct PgOps<'c> {
    pub conn: &'c mut PgConnection,
    /// Deliveries queued by this transaction (the worker is woken after the commit).
    pub deliveries_queued: u64,
}

pub(super) fn saved_from_row(r: &PgRow) -> SavedIdempotent {
    SavedIdempotent {
        fingerprint: r.get("fingerprint"),
        request_id: r.get("request_id"),
        response: SavedResponse {
            status: r.get::<i32, _>("status") as u16,
            body: r.get("body"),
        },
        created: r.get("created"),
    }
}

#[async_trait]
impl WriteOps for PgOps<'_> {
    /// Lazy: the key is inserted at the end (`finish_key`), one statement instead of a claim
    /// plus an update. Two replicas running the same key both execute; the second's INSERT
    /// waits for the first's commit, finds the key taken, and its whole transaction is rolled
    /// back before the first result is replayed, so only one execution ever commits.
    async fn claim_key(
        &mut self,
        _tenant: &Tenant,
        _idem: &IdempotencySave,
    ) -> Result<Option<SavedIdempotent>, StoreError> {
        Ok(None)
    }

    async fn finish_key(
        &mut self,
        tenant: &Tenant,
        idem: &IdempotencySave,
        response: &SavedResponse,
    ) -> Result<Option<SavedIdempotent>, StoreError> {
        // New key: insert. Expired key: take it over. Live key: leave it, and replay it.
        let saved = sqlx::query(
            "INSERT INTO idempotency_keys (account_id, livemode, key, fingerprint, request_id, status, body, created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (account_id, livemode, key) DO UPDATE SET \
             fingerprint = excluded.fingerprint, request_id = excluded.request_id, status = excluded.status, \
             body = excluded.body, created = excluded.created WHERE idempotency_keys.created < $9",
        )
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(&idem.key)
        .bind(&idem.fingerprint)
        .bind(&idem.request_id)
        .bind(i32::from(response.status))
        .bind(&response.body)
        .bind(idem.created)
        .bind(idem.expired_before)
        .execute(&mut *self.conn)
        .await?;
        if saved.rows_affected() == 1 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT fingerprint, request_id, status, body, created FROM idempotency_keys \
             WHERE account_id = $1 AND livemode = $2 AND key = $3",
        )
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(&idem.key)
        .fetch_one(&mut *self.conn)
        .await?;
        Ok(Some(saved_from_row(&row)))
    }

    async fn lock_record_doc(&mut self, tenant: &Tenant, record_id: &str) -> Result<Option<String>, StoreError> {
        doc(&mut *self.conn, RECORD_DOC_FOR_UPDATE, tenant, record_id).await
    }

    async fn attempt_doc(&mut self, tenant: &Tenant, attempt_id: &str) -> Result<Option<String>, StoreError> {
        doc(&mut *self.conn, ATTEMPT_DOC, tenant, attempt_id).await
    }

    async fn insert_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError> {
        assert_eq!(
            record.livemode, tenant.livemode,
            "records are written in their tenant's mode"
        );
        sqlx::query(
            "INSERT INTO payment_records (account_id, livemode, id, created, doc, payment_reference, currency, amount, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(record.id.as_str())
        .bind(record.created)
        .bind(encode(record))
        .bind(&record.details.processor_details.payment_reference)
        .bind(record.amount_requested.currency.as_str())
        .bind(record.amount_requested.value)
        .bind(record.latest_attempt_state.as_str())
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn update_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE payment_records SET doc = $1, state = $5 WHERE account_id = $2 AND livemode = $3 AND id = $4",
        )
        .bind(encode(record))
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(record.id.as_str())
        .bind(record.latest_attempt_state.as_str())
        .execute(&mut *self.conn)
        .await?;
        assert_eq!(done.rows_affected(), 1, "the locked record exists");
        Ok(())
    }

    async fn insert_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError> {
        assert_eq!(
            attempt.livemode, tenant.livemode,
            "attempts are written in their tenant's mode"
        );
        sqlx::query(
            "INSERT INTO payment_attempt_records (account_id, livemode, id, payment_record, created, state, doc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(attempt.id.as_str())
        .bind(attempt.payment_record.as_str())
        .bind(attempt.created)
        .bind(attempt.state.as_str())
        .bind(encode(attempt))
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn update_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE payment_attempt_records SET state = $1, doc = $2 WHERE account_id = $3 AND livemode = $4 AND id = $5",
        )
        .bind(attempt.state.as_str())
        .bind(encode(attempt))
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(attempt.id.as_str())
        .execute(&mut *self.conn)
        .await?;
        assert_eq!(done.rows_affected(), 1, "the latest attempt exists");
        Ok(())
    }

    async fn insert_refund(&mut self, tenant: &Tenant, refund: &Refund) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO refunds (account_id, livemode, refund_reference, payment_record, payment_attempt_record, currency, value, refunded_at, initiated_at, created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (account_id, livemode, refund_reference) DO NOTHING",
        )
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(&refund.refund_reference)
        .bind(refund.payment_record.as_str())
        .bind(refund.payment_attempt_record.as_str())
        .bind(refund.amount.currency.as_str())
        .bind(refund.amount.value)
        .bind(refund.refunded_at)
        .bind(refund.initiated_at)
        .bind(refund.created)
        .execute(&mut *self.conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn refund_reference_used(&mut self, tenant: &Tenant, reference: &str) -> Result<bool, StoreError> {
        let used: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM refunds WHERE account_id = $1 AND livemode = $2 AND refund_reference = $3)",
        )
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(reference)
        .fetch_one(&mut *self.conn)
        .await?;
        Ok(used)
    }

    async fn add_totals(&mut self, tenant: &Tenant, change: &TotalsChange) -> Result<(), StoreError> {
        totals::add(self.conn, tenant, change).await
    }

    async fn insert_events(&mut self, tenant: &Tenant, events: &[PackedEvent], now_ms: i64) -> Result<(), StoreError> {
        self.deliveries_queued += events::insert_events(self.conn, tenant, events, now_ms).await?;
        Ok(())
    }

    async fn count_endpoints(&mut self, tenant: &Tenant) -> Result<u64, StoreError> {
        events::count_endpoints(self.conn, tenant).await
    }

    async fn lock_endpoint_doc(&mut self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        events::lock_endpoint_doc(self.conn, tenant, id).await
    }

    async fn insert_endpoint(
        &mut self,
        tenant: &Tenant,
        endpoint: &WebhookEndpoint,
        secret: &str,
    ) -> Result<(), StoreError> {
        events::insert_endpoint(self.conn, tenant, endpoint, secret).await
    }

    async fn update_endpoint(&mut self, tenant: &Tenant, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        events::update_endpoint(self.conn, tenant, endpoint).await
    }

    async fn delete_endpoint(&mut self, tenant: &Tenant, id: &str) -> Result<(), StoreError> {
        events::delete_endpoint(self.conn, tenant, id).await
    }
}
