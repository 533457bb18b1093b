//! PostgreSQL's SQL for dashboard sessions and the dashboard's lookups (refunds, search).

use sqlx::Row;
use sqlx::postgres::PgPool;

use crate::records::model::{Amount, Currency, PaymentAttemptRecordId, PaymentRecordId, Refund};
use crate::store::page::can_exist;
use crate::store::{NewSession, Session, StoreError, Tenant};

pub(super) async fn create(pool: &PgPool, session: &NewSession) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO dashboard_sessions (digest, key_id, account_id, livemode, csrf, created, expires) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&session.digest[..])
    .bind(&session.key_id)
    .bind(&session.tenant.account_id)
    .bind(session.tenant.livemode)
    .bind(&session.csrf)
    .bind(session.created)
    .bind(session.expires)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn find(pool: &PgPool, digest: &[u8; 32], now: i64) -> Result<Option<Session>, StoreError> {
    let row = sqlx::query(
        "SELECT s.key_id, s.account_id, s.livemode, k.prefix, s.csrf, s.expires FROM dashboard_sessions s \
         JOIN api_keys k ON k.id = s.key_id AND k.revoked_at IS NULL \
         WHERE s.digest = $1 AND s.expires > $2",
    )
    .bind(&digest[..])
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Session {
        key_id: r.get(0),
        tenant: Tenant {
            account_id: r.get(1),
            livemode: r.get(2),
        },
        prefix: r.get(3),
        csrf: r.get(4),
        expires: r.get(5),
    }))
}

pub(super) async fn delete(pool: &PgPool, digest: &[u8; 32], now: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM dashboard_sessions WHERE digest = $1 OR expires <= $2")
        .bind(&digest[..])
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn refunds(pool: &PgPool, tenant: &Tenant, record_id: &str) -> Result<Vec<Refund>, StoreError> {
    if !can_exist(record_id) {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT refund_reference, payment_attempt_record, currency, value, refunded_at, initiated_at, created \
         FROM refunds WHERE account_id = $1 AND livemode = $2 AND payment_record = $3 ORDER BY created, refund_reference",
    )
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(record_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Refund {
            payment_record: PaymentRecordId::new_unchecked(record_id),
            refund_reference: r.get(0),
            payment_attempt_record: PaymentAttemptRecordId::new_unchecked(r.get::<String, _>(1)),
            amount: Amount {
                currency: Currency::new_unchecked(r.get::<String, _>(2)),
                value: r.get(3),
            },
            refunded_at: r.get(4),
            initiated_at: r.get(5),
            created: r.get(6),
        })
        .collect())
}

/// The indexed column of `payment_records_reference`.
const REFERENCE: &str = "payment_reference";

pub(super) async fn by_reference(
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

pub(super) async fn record_of_refund(
    pool: &PgPool,
    tenant: &Tenant,
    reference: &str,
) -> Result<Option<String>, StoreError> {
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

pub(super) async fn containing(
    pool: &PgPool,
    tenant: &Tenant,
    text: &str,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    if !can_exist(text) {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(
        "SELECT doc FROM payment_records WHERE account_id = $1 AND livemode = $2 AND strpos(lower(doc), lower($3)) > 0 \
         ORDER BY created DESC, seq DESC LIMIT $4",
    )
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(text)
    .bind(limit as i64)
    .fetch_all(pool)
    .await?)
}
