//! PostgreSQL's payment records.

use crate::records::model::{PaymentAttemptRecord, PaymentRecord, Refund};
use crate::records::totals::TotalsChange;
use crate::store::doc::{decode, decode_page, encode};
use crate::store::page::ListOf;
use crate::store::postgres::batch::Rows;
use crate::store::postgres::ops::{PgOps, batch_error, begun};
use crate::store::postgres::{ATTEMPT_DOC, PgStore, RECORD_DOC, RECORD_DOC_FOR_UPDATE, doc, reads, totals};
use crate::store::records::RecordRows;
use crate::store::{ListError, ListQuery, Page, RecordFilter, Records, StoreError, Tenant};
use async_trait::async_trait;

#[async_trait]
impl Records for PgStore {
    async fn get_record(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentRecord>, StoreError> {
        let serving = self.primary.serving()?;
        serving
            .run(reads::hot_doc(&serving.kept, RECORD_DOC, tenant, id))
            .await?
            .map(|d| decode(&d))
            .transpose()
    }
    async fn record_exists(&self, tenant: &Tenant, id: &str) -> Result<bool, StoreError> {
        let serving = self.primary.serving()?;
        serving.run(reads::record_exists(&serving.kept, tenant, id)).await
    }
    async fn get_attempt(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentAttemptRecord>, StoreError> {
        let serving = self.primary.serving()?;
        serving
            .run(reads::hot_doc(&serving.kept, ATTEMPT_DOC, tenant, id))
            .await?
            .map(|d| decode(&d))
            .transpose()
    }
    async fn list_records_where(
        &self,
        tenant: &Tenant,
        query: &ListQuery,
        filter: &RecordFilter,
    ) -> Result<Page<PaymentRecord>, ListError> {
        let conditions = filter.conditions();
        let list = ListOf {
            filters: &conditions,
            ..ListOf::table("payment_records", tenant)
        };
        let page = match conditions.is_empty() {
            true => reads::hot_page(&*self.kept()?, &list, query).await?,
            false => reads::scan_page(&self.pool()?, &self.scans, &list, query).await?,
        };
        Ok(decode_page(page)?)
    }
    async fn list_attempts(
        &self,
        tenant: &Tenant,
        record_id: &str,
        query: &ListQuery,
    ) -> Result<Page<PaymentAttemptRecord>, ListError> {
        let list = ListOf {
            parent: Some(("payment_record", record_id)),
            ..ListOf::table("payment_attempt_records", tenant)
        };
        Ok(decode_page(reads::hot_page(&*self.kept()?, &list, query).await?)?)
    }
}

#[async_trait]
impl RecordRows for PgOps<'_> {
    async fn lock_record_doc(&mut self, tenant: &Tenant, record_id: &str) -> Result<Option<String>, StoreError> {
        doc(self.read_conn().await?, RECORD_DOC_FOR_UPDATE, tenant, record_id).await
    }

    async fn attempt_doc(&mut self, tenant: &Tenant, attempt_id: &str) -> Result<Option<String>, StoreError> {
        doc(self.read_conn().await?, ATTEMPT_DOC, tenant, attempt_id).await
    }

    async fn insert_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError> {
        assert_eq!(
            record.livemode, tenant.livemode,
            "records are written in their tenant's mode"
        );
        if let Some(group) = self.group_rows() {
            group.insert_record(tenant, record);
            return Ok(());
        }
        let b = &mut self.batch;
        let values = [
            b.bind(&tenant.account_id),
            b.bind(tenant.livemode),
            b.bind(record.id.as_str()),
            b.bind(record.created),
            b.bind(encode(record)),
            b.bind(&record.details.processor_details.payment_reference),
            b.bind(record.amount_requested.currency.as_str()),
            b.bind(record.amount_requested.value),
            b.bind(record.latest_attempt_state.as_str()),
        ];
        b.push(
            format!(
                "INSERT INTO payment_records (account_id, livemode, id, created, doc, payment_reference, currency, amount, state) \
                 VALUES ({}) RETURNING 1",
                values.join(", ")
            ),
            Rows::Any,
        );
        self.batched().await
    }

    async fn update_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError> {
        let b = &mut self.batch;
        let sql = format!(
            "UPDATE payment_records SET doc = {}, state = {} WHERE account_id = {} AND livemode = {} AND id = {} RETURNING 1",
            b.bind(encode(record)),
            b.bind(record.latest_attempt_state.as_str()),
            b.bind(&tenant.account_id),
            b.bind(tenant.livemode),
            b.bind(record.id.as_str()),
        );
        // One row: the locked record.
        b.push(sql, Rows::One);
        self.batched().await
    }

    async fn insert_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError> {
        assert_eq!(
            attempt.livemode, tenant.livemode,
            "attempts are written in their tenant's mode"
        );
        if let Some(group) = self.group_rows() {
            group.insert_attempt(tenant, attempt);
            return Ok(());
        }
        let b = &mut self.batch;
        let values = [
            b.bind(&tenant.account_id),
            b.bind(tenant.livemode),
            b.bind(attempt.id.as_str()),
            b.bind(attempt.payment_record.as_str()),
            b.bind(attempt.created),
            b.bind(attempt.state.as_str()),
            b.bind(encode(attempt)),
        ];
        b.push(
            format!(
                "INSERT INTO payment_attempt_records (account_id, livemode, id, payment_record, created, state, doc) \
                 VALUES ({}) RETURNING 1",
                values.join(", ")
            ),
            Rows::Any,
        );
        self.batched().await
    }

    async fn update_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError> {
        let b = &mut self.batch;
        let sql = format!(
            "UPDATE payment_attempt_records SET state = {}, doc = {} WHERE account_id = {} AND livemode = {} AND id = {} RETURNING 1",
            b.bind(attempt.state.as_str()),
            b.bind(encode(attempt)),
            b.bind(&tenant.account_id),
            b.bind(tenant.livemode),
            b.bind(attempt.id.as_str()),
        );
        // One row: the latest attempt of the locked record.
        b.push(sql, Rows::One);
        self.batched().await
    }

    /// At once: whether the reference was free decides the rest of the write.
    async fn insert_refund(&mut self, tenant: &Tenant, refund: &Refund) -> Result<bool, StoreError> {
        assert!(self.batch.is_empty(), "a refund is its write's first row");
        let b = &mut self.batch;
        let values = [
            b.bind(&tenant.account_id),
            b.bind(tenant.livemode),
            b.bind(&refund.refund_reference),
            b.bind(refund.payment_record.as_str()),
            b.bind(refund.payment_attempt_record.as_str()),
            b.bind(refund.amount.currency.as_str()),
            b.bind(refund.amount.value),
            b.bind(refund.refunded_at),
            b.bind(refund.initiated_at),
            b.bind(refund.created),
        ];
        b.push(
            format!(
                "INSERT INTO refunds (account_id, livemode, refund_reference, payment_record, payment_attempt_record, currency, value, refunded_at, initiated_at, created) \
                 VALUES ({}) ON CONFLICT (account_id, livemode, refund_reference) DO NOTHING RETURNING 1",
                values.join(", ")
            ),
            Rows::Any,
        );
        let conn = begun(&mut self.tx, self.pool).await?;
        let ran = self.batch.run(conn).await.map_err(batch_error)?;
        Ok(ran.counts == [1])
    }

    async fn refund_reference_used(&mut self, tenant: &Tenant, reference: &str) -> Result<bool, StoreError> {
        let used: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM refunds WHERE account_id = $1 AND livemode = $2 AND refund_reference = $3)",
        )
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(reference)
        .fetch_one(self.read_conn().await?)
        .await?;
        Ok(used)
    }

    async fn add_totals(&mut self, tenant: &Tenant, change: &TotalsChange) -> Result<(), StoreError> {
        if let Some(group) = self.group_rows() {
            group.add_totals(tenant, change, totals::shard_of(&change.record_id));
            return Ok(());
        }
        totals::push_add(&mut self.batch, tenant, change);
        self.batched().await
    }
}
