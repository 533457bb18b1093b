//! SQLite's SQL for the ledger-wide reads (`store::ledger`): the dashboard's searches and
//! overview, the export's keyset pages.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, totals};
use crate::records::model::{
    Amount, Currency, PaymentAttemptRecord, PaymentAttemptRecordId, PaymentRecord, PaymentRecordId, Refund,
};
use crate::store::doc::decode;
use crate::store::ledger::{GuaranteedPayment, REFERENCES_PER_LOOKUP_MAX};
use crate::store::{DayTotals, ExportQuery, LedgerQueries, StoreError, Tenant};

#[async_trait]
impl LedgerQueries for SqliteStore {
    async fn list_accounts(&self) -> Result<Vec<String>, StoreError> {
        self.reads.with(|conn| {
            conn.prepare_cached("SELECT id FROM accounts ORDER BY created, id")?
                .query_map([], |r| r.get(0))?
                .collect()
        })
    }

    async fn records_by_reference(
        &self,
        tenant: &Tenant,
        reference: &str,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let docs = self.reads.with(|conn| by_reference(conn, tenant, reference, limit))?;
        docs.iter().map(|d| decode(d)).collect()
    }

    async fn record_of_refund(&self, tenant: &Tenant, refund_reference: &str) -> Result<Option<String>, StoreError> {
        self.reads.with(|conn| record_of_refund(conn, tenant, refund_reference))
    }

    async fn records_containing(
        &self,
        tenant: &Tenant,
        text: &str,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let docs = self
            .reads
            .scan(|reads| reads.with(|conn| containing(conn, tenant, text, limit)))
            .await?;
        docs.iter().map(|d| decode(d)).collect()
    }

    async fn daily_totals(&self, tenant: &Tenant, first_day: i64, last_day: i64) -> Result<Vec<DayTotals>, StoreError> {
        self.reads.with(|conn| totals::daily(conn, tenant, first_day, last_day))
    }

    async fn list_refunds(&self, tenant: &Tenant, record_id: &str) -> Result<Vec<Refund>, StoreError> {
        self.reads.with(|conn| refunds(conn, tenant, record_id))
    }

    async fn records_by_references(
        &self,
        tenant: &Tenant,
        references: &[String],
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        assert!(references.len() <= REFERENCES_PER_LOOKUP_MAX, "a bounded lookup");
        if references.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT doc FROM payment_records INDEXED BY payment_records_reference \
             WHERE account_id = ?1 AND livemode = ?2 AND payment_reference IN ({})",
            placeholders(3, references.len())
        );
        let docs: Vec<String> = self.reads.with(|conn| {
            conn.prepare_cached(&sql)?
                .query_map(tenant_and(tenant, references), |r| r.get(0))?
                .collect()
        })?;
        docs.iter().map(|d| decode(d)).collect()
    }

    async fn refunds_by_references(&self, tenant: &Tenant, references: &[String]) -> Result<Vec<Refund>, StoreError> {
        assert!(references.len() <= REFERENCES_PER_LOOKUP_MAX, "a bounded lookup");
        if references.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE account_id = ?1 AND livemode = ?2 AND refund_reference IN ({})",
            placeholders(3, references.len())
        );
        self.reads.with(|conn| {
            conn.prepare_cached(&sql)?
                .query_map(tenant_and(tenant, references), refund_of_row)?
                .collect()
        })
    }

    async fn guaranteed_payments(
        &self,
        tenant: &Tenant,
        query: &ExportQuery,
    ) -> Result<Vec<GuaranteedPayment>, StoreError> {
        self.reads.with(|conn| {
            conn.prepare_cached(
                "SELECT id, payment_reference, currency, amount FROM payment_records INDEXED BY payment_records_id \
                 WHERE account_id = ?1 AND livemode = ?2 AND id > ?3 AND created >= ?4 AND created < ?5 \
                 AND state = 'guaranteed' ORDER BY id LIMIT ?6",
            )?
            .query_map(export_binds(tenant, query), |r| {
                Ok(GuaranteedPayment {
                    id: r.get(0)?,
                    payment_reference: r.get(1)?,
                    currency: r.get(2)?,
                    amount: r.get(3)?,
                })
            })?
            .collect()
        })
    }

    async fn export_attempts(
        &self,
        tenant: &Tenant,
        query: &ExportQuery,
    ) -> Result<Vec<PaymentAttemptRecord>, StoreError> {
        let docs: Vec<String> = self.reads.with(|conn| {
            conn.prepare_cached(
                "SELECT doc FROM payment_attempt_records WHERE account_id = ?1 AND livemode = ?2 AND id > ?3 \
                 AND created >= ?4 AND created < ?5 ORDER BY id LIMIT ?6",
            )?
            .query_map(export_binds(tenant, query), |r| r.get(0))?
            .collect()
        })?;
        docs.iter().map(|d| decode(d)).collect()
    }

    async fn export_refunds(&self, tenant: &Tenant, query: &ExportQuery) -> Result<Vec<Refund>, StoreError> {
        self.reads.with(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {REFUND_COLUMNS} FROM refunds WHERE account_id = ?1 AND livemode = ?2 AND refund_reference > ?3 \
                 AND created >= ?4 AND created < ?5 ORDER BY refund_reference LIMIT ?6"
            ))?
            .query_map(export_binds(tenant, query), refund_of_row)?
            .collect()
        })
    }
}

/// `?first, ?first+1, …`: `n` numbered placeholders.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tenant, then `values`, as binds.
fn tenant_and(tenant: &Tenant, values: &[String]) -> rusqlite::ParamsFromIter<Vec<Value>> {
    let mut binds = vec![
        Value::Text(tenant.account_id.clone()),
        Value::Integer(i64::from(tenant.livemode)),
    ];
    binds.extend(values.iter().map(|v| Value::Text(v.clone())));
    rusqlite::params_from_iter(binds)
}

/// `?1..?6` of an export page: tenant, after, created bounds, limit.
fn export_binds(tenant: &Tenant, query: &ExportQuery) -> rusqlite::ParamsFromIter<[Value; 6]> {
    rusqlite::params_from_iter([
        Value::Text(tenant.account_id.clone()),
        Value::Integer(i64::from(tenant.livemode)),
        Value::Text(query.after.clone().unwrap_or_default()),
        Value::Integer(query.created_from.unwrap_or(i64::MIN)),
        Value::Integer(query.created_until.unwrap_or(i64::MAX)),
        Value::Integer(query.limit as i64),
    ])
}

/// The columns `refund_of_row` reads, in order.
const REFUND_COLUMNS: &str =
    "payment_record, refund_reference, payment_attempt_record, currency, value, refunded_at, initiated_at, created";

fn refund_of_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Refund> {
    Ok(Refund {
        payment_record: PaymentRecordId::new_unchecked(r.get::<_, String>(0)?),
        refund_reference: r.get(1)?,
        payment_attempt_record: PaymentAttemptRecordId::new_unchecked(r.get::<_, String>(2)?),
        amount: Amount {
            currency: Currency::new_unchecked(r.get::<_, String>(3)?),
            value: r.get(4)?,
        },
        refunded_at: r.get(5)?,
        initiated_at: r.get(6)?,
        created: r.get(7)?,
    })
}

fn refunds(conn: &Connection, tenant: &Tenant, record_id: &str) -> rusqlite::Result<Vec<Refund>> {
    conn.prepare_cached(&format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE account_id = ?1 AND livemode = ?2 AND payment_record = ?3 \
         ORDER BY created, refund_reference"
    ))?
    .query_map(params![tenant.account_id, tenant.livemode, record_id], refund_of_row)?
    .collect()
}

/// The indexed column of `payment_records_reference`.
const REFERENCE: &str = "payment_reference";

fn by_reference(conn: &Connection, tenant: &Tenant, reference: &str, limit: usize) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(&format!(
        // INDEXED BY: without statistics the planner walks the newest-first index to skip the
        // sort, a scan of the tenant; a reference matches a handful of rows.
        "SELECT doc FROM payment_records INDEXED BY payment_records_reference \
         WHERE account_id = ?1 AND livemode = ?2 AND {REFERENCE} = ?3 ORDER BY created DESC, seq DESC LIMIT ?4"
    ))?
    .query_map(
        params![tenant.account_id, tenant.livemode, reference, limit as i64],
        |r| r.get(0),
    )?
    .collect()
}

fn record_of_refund(conn: &Connection, tenant: &Tenant, reference: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT payment_record FROM refunds WHERE account_id = ?1 AND livemode = ?2 AND refund_reference = ?3",
    )?
    .query_row(params![tenant.account_id, tenant.livemode, reference], |r| r.get(0))
    .optional()
}

fn containing(conn: &Connection, tenant: &Tenant, text: &str, limit: usize) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT doc FROM payment_records WHERE account_id = ?1 AND livemode = ?2 AND instr(lower(doc), lower(?3)) > 0 \
         ORDER BY created DESC, seq DESC LIMIT ?4",
    )?
    .query_map(params![tenant.account_id, tenant.livemode, text, limit as i64], |r| {
        r.get(0)
    })?
    .collect()
}
