//! SQLite's SQL for dashboard sessions and the dashboard's lookups (refunds, search).

use rusqlite::{Connection, OptionalExtension, params};

use crate::records::model::{Amount, Currency, PaymentAttemptRecordId, PaymentRecordId, Refund};
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
            prefix: r.get(3)?,
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

pub(super) fn refunds(conn: &Connection, tenant: &Tenant, record_id: &str) -> rusqlite::Result<Vec<Refund>> {
    conn.prepare_cached(
        "SELECT refund_reference, payment_attempt_record, currency, value, refunded_at, initiated_at, created \
         FROM refunds WHERE account_id = ?1 AND livemode = ?2 AND payment_record = ?3 ORDER BY created, refund_reference",
    )?
    .query_map(params![tenant.account_id, tenant.livemode, record_id], |r| {
        Ok(Refund {
            payment_record: PaymentRecordId::new_unchecked(record_id),
            refund_reference: r.get(0)?,
            payment_attempt_record: PaymentAttemptRecordId::new_unchecked(r.get::<_, String>(1)?),
            amount: Amount {
                currency: Currency::new_unchecked(r.get::<_, String>(2)?),
                value: r.get(3)?,
            },
            refunded_at: r.get(4)?,
            initiated_at: r.get(5)?,
            created: r.get(6)?,
        })
    })?
    .collect()
}

/// The indexed column of `payment_records_reference`.
const REFERENCE: &str = "payment_reference";

pub(super) fn by_reference(
    conn: &Connection,
    tenant: &Tenant,
    reference: &str,
    limit: usize,
) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(&format!(
        "SELECT doc FROM payment_records WHERE account_id = ?1 AND livemode = ?2 AND {REFERENCE} = ?3 \
         ORDER BY created DESC, seq DESC LIMIT ?4"
    ))?
    .query_map(
        params![tenant.account_id, tenant.livemode, reference, limit as i64],
        |r| r.get(0),
    )?
    .collect()
}

pub(super) fn record_of_refund(
    conn: &Connection,
    tenant: &Tenant,
    reference: &str,
) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT payment_record FROM refunds WHERE account_id = ?1 AND livemode = ?2 AND refund_reference = ?3",
    )?
    .query_row(params![tenant.account_id, tenant.livemode, reference], |r| r.get(0))
    .optional()
}

pub(super) fn containing(
    conn: &Connection,
    tenant: &Tenant,
    text: &str,
    limit: usize,
) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT doc FROM payment_records WHERE account_id = ?1 AND livemode = ?2 AND instr(lower(doc), lower(?3)) > 0 \
         ORDER BY created DESC, seq DESC LIMIT ?4",
    )?
    .query_map(params![tenant.account_id, tenant.livemode, text, limit as i64], |r| {
        r.get(0)
    })?
    .collect()
}
