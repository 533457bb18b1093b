//! PostgreSQL's SQL for the ledger-wide reads (`store::ledger`): the dashboard's searches and
//! overview, the export's keyset pages.

use crate::store::scan::Scans;
use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use super::{PgStore, totals};
use crate::records::model::{
    Amount, Currency, PaymentAttemptRecord, PaymentAttemptRecordId, PaymentRecord, PaymentRecordId, Refund,
};
use crate::store::doc::decode;
use crate::store::ledger::{GuaranteedPayment, REFERENCES_PER_LOOKUP_MAX};
use crate::store::page::can_exist;
use crate::store::{DayTotals, ExportQuery, LedgerQueries, StoreError, Tenant};

#[async_trait]
impl LedgerQueries for PgStore {
    async fn list_accounts(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM accounts ORDER BY created, id")
            .fetch_all(&self.pool()?)
            .await?)
    }

    async fn records_by_reference(
        &self,
        tenant: &Tenant,
        reference: &str,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let docs = by_reference(&self.pool()?, tenant, reference, limit).await?;
        docs.iter().map(|d| decode(d)).collect()
    }

    async fn record_of_refund(&self, tenant: &Tenant, refund_reference: &str) -> Result<Option<String>, StoreError> {
        record_of_refund(&self.pool()?, tenant, refund_reference).await
    }

    async fn records_containing(
        &self,
        tenant: &Tenant,
        text: &str,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let docs = containing(&self.pool()?, &self.scans, tenant, text, limit).await?;
        docs.iter().map(|d| decode(d)).collect()
    }

    async fn daily_totals(&self, tenant: &Tenant, first_day: i64, last_day: i64) -> Result<Vec<DayTotals>, StoreError> {
        totals::daily(&self.pool()?, tenant, first_day, last_day).await
    }

    async fn list_refunds(&self, tenant: &Tenant, record_id: &str) -> Result<Vec<Refund>, StoreError> {
        refunds(&self.pool()?, tenant, record_id).await
    }

    async fn records_by_references(
        &self,
        tenant: &Tenant,
        references: &[String],
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        assert!(references.len() <= REFERENCES_PER_LOOKUP_MAX, "a bounded lookup");
        let references: Vec<&str> = references.iter().map(String::as_str).filter(|r| can_exist(r)).collect();
        if references.is_empty() {
            return Ok(Vec::new());
        }
        let docs: Vec<String> = sqlx::query_scalar(
            "SELECT doc FROM payment_records WHERE account_id = $1 AND livemode = $2 AND payment_reference = ANY($3)",
        )
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(&references)
        .fetch_all(&self.pool()?)
        .await?;
        docs.iter().map(|d| decode(d)).collect()
    }

    async fn refunds_by_references(&self, tenant: &Tenant, references: &[String]) -> Result<Vec<Refund>, StoreError> {
        assert!(references.len() <= REFERENCES_PER_LOOKUP_MAX, "a bounded lookup");
        let references: Vec<&str> = references.iter().map(String::as_str).filter(|r| can_exist(r)).collect();
        if references.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE account_id = $1 AND livemode = $2 AND refund_reference = ANY($3)"
        ))
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(&references)
        .fetch_all(&self.pool()?)
        .await?;
        Ok(rows.iter().map(refund_of_row).collect())
    }

    async fn guaranteed_payments(
        &self,
        tenant: &Tenant,
        query: &ExportQuery,
    ) -> Result<Vec<GuaranteedPayment>, StoreError> {
        let sql = "SELECT id, payment_reference, currency, amount FROM payment_records \
             WHERE account_id = $1 AND livemode = $2 AND id > $3 AND created >= $4 AND created < $5 \
             AND state = 'guaranteed' ORDER BY id LIMIT $6";
        let rows = export_page(&self.pool()?, sql, tenant, query).await?;
        rows.iter()
            .map(|r| {
                Ok(GuaranteedPayment {
                    id: r.try_get(0)?,
                    payment_reference: r.try_get(1)?,
                    currency: r.try_get(2)?,
                    amount: r.try_get(3)?,
                })
            })
            .collect()
    }

    async fn export_attempts(
        &self,
        tenant: &Tenant,
        query: &ExportQuery,
    ) -> Result<Vec<PaymentAttemptRecord>, StoreError> {
        let sql = "SELECT doc FROM payment_attempt_records WHERE account_id = $1 AND livemode = $2 AND id > $3 \
             AND created >= $4 AND created < $5 ORDER BY id LIMIT $6";
        let rows = export_page(&self.pool()?, sql, tenant, query).await?;
        rows.iter().map(|r| decode(&r.try_get::<String, _>(0)?)).collect()
    }

    async fn export_refunds(&self, tenant: &Tenant, query: &ExportQuery) -> Result<Vec<Refund>, StoreError> {
        let sql = format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE account_id = $1 AND livemode = $2 AND refund_reference > $3 \
             AND created >= $4 AND created < $5 ORDER BY refund_reference LIMIT $6"
        );
        let rows = export_page(&self.pool()?, &sql, tenant, query).await?;
        Ok(rows.iter().map(refund_of_row).collect())
    }
}

/// One keyset page of an export query: `sql` takes the tenant ($1, $2), the cursor ($3, after
/// it), the window ($4 inclusive, $5 exclusive) and the limit ($6), as `ExportQuery` holds them.
/// A cursor that names nothing payrec could have made ends the export.
async fn export_page(pool: &PgPool, sql: &str, tenant: &Tenant, query: &ExportQuery) -> Result<Vec<PgRow>, StoreError> {
    if !query.after.as_deref().is_none_or(can_exist) {
        return Ok(Vec::new());
    }
    Ok(sqlx::query(sql)
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(query.after.as_deref().unwrap_or(""))
        .bind(query.created_from.unwrap_or(i64::MIN))
        .bind(query.created_until.unwrap_or(i64::MAX))
        .bind(query.limit as i64)
        .fetch_all(pool)
        .await?)
}

/// The columns `refund_of_row` reads, in order.
const REFUND_COLUMNS: &str =
    "payment_record, refund_reference, payment_attempt_record, currency, value, refunded_at, initiated_at, created";

fn refund_of_row(r: &PgRow) -> Refund {
    Refund {
        payment_record: PaymentRecordId::new_unchecked(r.get::<String, _>(0)),
        refund_reference: r.get(1),
        payment_attempt_record: PaymentAttemptRecordId::new_unchecked(r.get::<String, _>(2)),
        amount: Amount {
            currency: Currency::new_unchecked(r.get::<String, _>(3)),
            value: r.get(4),
        },
        refunded_at: r.get(5),
        initiated_at: r.get(6),
        created: r.get(7),
    }
}

async fn refunds(pool: &PgPool, tenant: &Tenant, record_id: &str) -> Result<Vec<Refund>, StoreError> {
    if !can_exist(record_id) {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(&format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE account_id = $1 AND livemode = $2 AND payment_record = $3 \
         ORDER BY created, refund_reference"
    ))
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(record_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(refund_of_row).collect())
}

/// The indexed column of `payment_records_reference`.
const REFERENCE: &str = "payment_reference";

async fn by_reference(
    pool: &PgPool,
    tenant: &Tenant,
    reference: &str,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    if !can_exist(reference) {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(&format!(
        "SELECT doc FROM payment_records WHERE account_id = $1 AND livemode = $2 AND {REFERENCE} = $3 \
         ORDER BY created DESC, seq DESC LIMIT $4"
    ))
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(reference)
    .bind(limit as i64)
    .fetch_all(pool)
    .await?)
}

async fn record_of_refund(pool: &PgPool, tenant: &Tenant, reference: &str) -> Result<Option<String>, StoreError> {
    if !can_exist(reference) {
        return Ok(None);
    }
    Ok(sqlx::query_scalar(
        "SELECT payment_record FROM refunds WHERE account_id = $1 AND livemode = $2 AND refund_reference = $3",
    )
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(reference)
    .fetch_optional(pool)
    .await?)
}

/// A scan of the tenant's records, in its turn and deadline (`store::scan`).
async fn containing(
    pool: &PgPool,
    scans: &Scans,
    tenant: &Tenant,
    text: &str,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    if !can_exist(text) {
        return Ok(Vec::new());
    }
    let _turn = scans.turn().await?;
    let mut tx = super::reads::scan_transaction(pool).await?;
    let docs = sqlx::query_scalar(
        "SELECT doc FROM payment_records WHERE account_id = $1 AND livemode = $2 AND strpos(lower(doc), lower($3)) > 0 \
         ORDER BY created DESC, seq DESC LIMIT $4",
    )
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(text)
    .bind(limit as i64)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(docs)
}
