//! SQLite's SQL for dashboard sessions.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{NewSession, Session, StoreError, Tenant};

pub(super) fn create(conn: &mut Connection, s: &NewSession) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO dashboard_sessions (digest, key_id, account_id, livemode, csrf, created, expires) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            &s.digest[..],
            s.key_id,
            s.tenant.account_id,
            s.tenant.livemode,
            s.csrf,
            s.created,
            s.expires
        ],
    )?;
    Ok(())
}

pub(super) fn find(conn: &Connection, digest: &[u8; 32], now: i64) -> rusqlite::Result<Option<Session>> {
    conn.prepare_cached(
        "SELECT s.key_id, s.account_id, s.livemode, k.prefix, s.csrf, s.expires FROM dashboard_sessions s \
         JOIN api_keys k ON k.id = s.key_id AND k.revoked_at IS NULL \
         WHERE s.digest = ?1 AND s.expires > ?2",
    )?
    .query_row(params![&digest[..], now], |r| {
        Ok(Session {
            key_id: r.get(0)?,
            tenant: Tenant {
                account_id: r.get(1)?,
                livemode: r.get(2)?,
            },
            kind: crate::store::KeyKind::of_prefix(&r.get::<_, String>(3)?),
            csrf: r.get(4)?,
            expires: r.get(5)?,
        })
    })
    .optional()
}

pub(super) fn delete(conn: &mut Connection, digest: &[u8; 32], now: i64) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM dashboard_sessions WHERE digest = ?1 OR expires <= ?2",
        params![&digest[..], now],
    )?;
    Ok(())
}
