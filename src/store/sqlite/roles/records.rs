//! SQLite's payment records.

use crate::records::model::{PaymentAttemptRecord, PaymentRecord, Refund};
use crate::records::totals::TotalsChange;
use crate::store::doc::{decode, decode_page, encode};
use crate::store::page::ListOf;
use crate::store::records::RecordRows;
use crate::store::sqlite::ops::SqliteOps;
use crate::store::sqlite::{SqliteStore, totals};
use crate::store::{ListError, ListQuery, Page, RecordFilter, Records, StoreError, Tenant};
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl Records for SqliteStore {
    async fn get_record(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentRecord>, StoreError> {
        self.reads
            .doc("payment_records", tenant, id)?
            .map(|d| decode(&d))
            .transpose()
    }
    async fn record_exists(&self, tenant: &Tenant, id: &str) -> Result<bool, StoreError> {
        self.reads.exists("payment_records", tenant, id)
    }
    async fn get_attempt(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentAttemptRecord>, StoreError> {
        self.reads
            .doc("payment_attempt_records", tenant, id)?
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
            true => self.reads.page(&list, query)?,
            false => self.reads.scan(|reads| reads.page(&list, query)).await?,
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
        Ok(decode_page(self.reads.page(&list, query)?)?)
    }
}

#[async_trait]
impl RecordRows for SqliteOps<'_> {
    async fn lock_record_doc(&mut self, tenant: &Tenant, record_id: &str) -> Result<Option<String>, StoreError> {
        // The single writer is the lock.
        self.doc(
            "SELECT doc FROM payment_records WHERE account_id = ?1 AND livemode = ?2 AND id = ?3",
            tenant,
            record_id,
        )
    }

    async fn attempt_doc(&mut self, tenant: &Tenant, attempt_id: &str) -> Result<Option<String>, StoreError> {
        self.doc(
            "SELECT doc FROM payment_attempt_records WHERE account_id = ?1 AND livemode = ?2 AND id = ?3",
            tenant,
            attempt_id,
        )
    }

    async fn insert_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError> {
        assert_eq!(
            record.livemode, tenant.livemode,
            "records are written in their tenant's mode"
        );
        let seq = self.take_seq();
        self.exec(
            "INSERT INTO payment_records (account_id, livemode, id, created, seq, doc, payment_reference, \
             currency, amount, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                tenant.account_id,
                tenant.livemode,
                record.id.as_str(),
                record.created,
                seq,
                encode(record),
                record.details.processor_details.payment_reference,
                record.amount_requested.currency.as_str(),
                record.amount_requested.value,
                record.latest_attempt_state.as_str()
            ],
        )?;
        Ok(())
    }

    async fn update_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError> {
        let done = self.exec(
            "UPDATE payment_records SET doc = ?1, state = ?2 WHERE account_id = ?3 AND livemode = ?4 AND id = ?5",
            params![
                encode(record),
                record.latest_attempt_state.as_str(),
                tenant.account_id,
                tenant.livemode,
                record.id.as_str()
            ],
        )?;
        assert_eq!(done, 1, "the locked record exists");
        Ok(())
    }

    async fn insert_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError> {
        assert_eq!(
            attempt.livemode, tenant.livemode,
            "attempts are written in their tenant's mode"
        );
        let seq = self.take_seq();
        self.exec(
            "INSERT INTO payment_attempt_records (account_id, livemode, id, payment_record, created, seq, state, doc) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                tenant.account_id,
                tenant.livemode,
                attempt.id.as_str(),
                attempt.payment_record.as_str(),
                attempt.created,
                seq,
                attempt.state.as_str(),
                encode(attempt)
            ],
        )?;
        Ok(())
    }

    async fn update_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError> {
        let done = self.exec(
            "UPDATE payment_attempt_records SET state = ?1, doc = ?2 WHERE account_id = ?3 AND livemode = ?4 AND id = ?5",
            params![attempt.state.as_str(), encode(attempt), tenant.account_id, tenant.livemode, attempt.id.as_str()],
        )?;
        assert_eq!(done, 1, "the latest attempt exists");
        Ok(())
    }

    async fn insert_refund(&mut self, tenant: &Tenant, refund: &Refund) -> Result<bool, StoreError> {
        let done = self.exec(
            "INSERT INTO refunds (account_id, livemode, refund_reference, payment_record, payment_attempt_record, \
             currency, value, refunded_at, initiated_at, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT (account_id, livemode, refund_reference) DO NOTHING",
            params![
                tenant.account_id,
                tenant.livemode,
                refund.refund_reference,
                refund.payment_record.as_str(),
                refund.payment_attempt_record.as_str(),
                refund.amount.currency.as_str(),
                refund.amount.value,
                refund.refunded_at,
                refund.initiated_at,
                refund.created
            ],
        )?;
        Ok(done == 1)
    }

    async fn refund_reference_used(&mut self, tenant: &Tenant, reference: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM refunds WHERE account_id = ?1 AND livemode = ?2 AND refund_reference = ?3)",
            )
            .and_then(|mut stmt| stmt.query_row(params![tenant.account_id, tenant.livemode, reference], |r| r.get(0)))
            .map_err(StoreError::from)
    }

    async fn add_totals(&mut self, tenant: &Tenant, change: &TotalsChange) -> Result<(), StoreError> {
        let v = change.delta.values();
        self.exec(
            &totals::ADD_TOTALS,
            params![
                tenant.account_id,
                tenant.livemode,
                change.currency,
                change.day,
                v[0],
                v[1],
                v[2],
                v[3],
                v[4],
                v[5],
                v[6],
                v[7],
                v[8],
                v[9],
                v[10],
                v[11]
            ],
        )?;
        Ok(())
    }
}
