//! PostgreSQL's SQL for dashboard sessions.

use sqlx::Row;
use sqlx::postgres::PgPool;

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
        kind: crate::store::KeyKind::of_prefix(r.get(3)),
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
