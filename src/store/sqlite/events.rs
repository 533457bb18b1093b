//! SQLite's SQL for events, webhook endpoints and the delivery queue. Event and endpoint rows
//! are written by the shared write path (through `SqliteOps`); the queue's claims and finishes
//! run on the writer thread too (`writer::WriteRequest::Deliveries`), each in its batch's
//! transaction; reads use the read pool.

use rusqlite::{Connection, OptionalExtension, params};

use crate::events::WebhookEndpoint;
use crate::events::render::NewEvent;
use crate::store::doc::encode;
use crate::store::events::{
    Backlog, Claim, ClaimedDelivery, DELIVERY_PENDING, DeliveryInfo, EVENT_JSON, FinishedDelivery, Resend, Resent,
};
use crate::store::{StoreError, Tenant};

/// Inserts `events` and their deliveries; returns how many deliveries were queued.
pub(super) fn insert_events(
    conn: &Connection,
    tenant: &Tenant,
    events: &[NewEvent],
    now_ms: i64,
) -> Result<usize, StoreError> {
    let mut event = conn.prepare_cached(
        "INSERT INTO events (account_id, livemode, id, created, type, record_id, head, tail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut deliveries = conn.prepare_cached(
        "INSERT INTO webhook_deliveries (account_id, livemode, event_id, endpoint_id, state, attempts, next_attempt_at, created) \
         SELECT ?1, ?2, ?3, id, 'pending', 0, ?4, ?5 FROM webhook_endpoints \
         WHERE account_id = ?1 AND livemode = ?2 AND status = 'enabled' \
         AND (events_filter = '*' OR instr(events_filter, ?6) > 0)",
    )?;
    let mut queued = 0;
    for e in events {
        event.execute(params![
            tenant.account_id,
            tenant.livemode,
            e.id,
            e.created,
            e.kind.as_str(),
            e.record_id,
            e.head,
            e.tail
        ])?;
        queued += deliveries.execute(params![
            tenant.account_id,
            tenant.livemode,
            e.id,
            now_ms,
            e.created,
            format!(",{},", e.kind.as_str())
        ])?;
    }
    Ok(queued)
}

pub(super) fn count_endpoints(conn: &Connection, tenant: &Tenant) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM webhook_endpoints WHERE account_id = ?1 AND livemode = ?2")?
        .query_row(params![tenant.account_id, tenant.livemode], |r| r.get(0))?;
    Ok(n as u64)
}

pub(super) fn endpoint_doc(conn: &Connection, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT doc FROM webhook_endpoints WHERE account_id = ?1 AND livemode = ?2 AND id = ?3")?
        .query_row(params![tenant.account_id, tenant.livemode, id], |r| r.get(0))
        .optional()?)
}

pub(super) fn insert_endpoint(
    conn: &Connection,
    tenant: &Tenant,
    seq: i64,
    e: &WebhookEndpoint,
    secret: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO webhook_endpoints (seq, account_id, livemode, id, created, status, events_filter, url, secret, doc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        seq,
        tenant.account_id,
        tenant.livemode,
        e.id,
        e.created,
        e.status.as_str(),
        e.events_filter(),
        e.url,
        secret,
        encode(e)
    ])?;
    Ok(())
}

pub(super) fn update_endpoint(conn: &Connection, tenant: &Tenant, e: &WebhookEndpoint) -> Result<(), StoreError> {
    let done = conn
        .prepare_cached(
            "UPDATE webhook_endpoints SET status = ?1, events_filter = ?2, url = ?3, doc = ?4 \
             WHERE account_id = ?5 AND livemode = ?6 AND id = ?7",
        )?
        .execute(params![
            e.status.as_str(),
            e.events_filter(),
            e.url,
            encode(e),
            tenant.account_id,
            tenant.livemode,
            e.id
        ])?;
    assert_eq!(done, 1, "the locked endpoint exists");
    Ok(())
}

pub(super) fn delete_endpoint(conn: &Connection, tenant: &Tenant, id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM webhook_deliveries WHERE account_id = ?1 AND livemode = ?2 AND endpoint_id = ?3")?
        .execute(params![tenant.account_id, tenant.livemode, id])?;
    conn.prepare_cached("DELETE FROM webhook_endpoints WHERE account_id = ?1 AND livemode = ?2 AND id = ?3")?
        .execute(params![tenant.account_id, tenant.livemode, id])?;
    Ok(())
}

pub(super) fn get_event(conn: &Connection, tenant: &Tenant, id: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(&format!(
        "SELECT {EVENT_JSON} FROM events WHERE account_id = ?1 AND livemode = ?2 AND id = ?3"
    ))?
    .query_row(params![tenant.account_id, tenant.livemode, id], |r| r.get(0))
    .optional()
}

pub(super) fn record_events(conn: &Connection, tenant: &Tenant, record_id: &str) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(&format!(
        "SELECT {EVENT_JSON} FROM events WHERE account_id = ?1 AND livemode = ?2 AND record_id = ?3 ORDER BY seq"
    ))?
    .query_map(params![tenant.account_id, tenant.livemode, record_id], |r| r.get(0))?
    .collect()
}

pub(super) fn list_deliveries(
    conn: &Connection,
    tenant: &Tenant,
    endpoint_id: Option<&str>,
    event_id: Option<&str>,
    limit: usize,
) -> rusqlite::Result<Vec<DeliveryInfo>> {
    conn.prepare_cached(
        "SELECT event_id, endpoint_id, state, attempts, last_status, last_error, last_attempt_at FROM webhook_deliveries \
         WHERE account_id = ?1 AND livemode = ?2 AND (?3 IS NULL OR endpoint_id = ?3) AND (?4 IS NULL OR event_id = ?4) \
         ORDER BY seq DESC LIMIT ?5",
    )?
    .query_map(
        params![tenant.account_id, tenant.livemode, endpoint_id, event_id, limit as i64],
        |r| {
            Ok(DeliveryInfo {
                event_id: r.get(0)?,
                endpoint_id: r.get(1)?,
                state: r.get(2)?,
                attempts: r.get(3)?,
                last_status: r.get::<_, Option<i64>>(4)?.map(|s| s as u16),
                last_error: r.get(5)?,
                last_attempt_at_ms: r.get(6)?,
            })
        },
    )?
    .collect()
}

pub(super) fn due_endpoints(conn: &Connection, now_ms: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT e.id FROM webhook_endpoints e WHERE e.status = 'enabled' AND EXISTS (SELECT 1 FROM webhook_deliveries d \
         WHERE d.endpoint_id = e.id AND d.state = 'pending' AND d.next_attempt_at <= ?1)",
    )?
    .query_map([now_ms], |r| r.get(0))?
    .collect()
}

/// Leases due deliveries of one endpoint; the single writer runs it, so no two claims overlap.
pub(super) fn claim(conn: &Connection, claim: &Claim) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let leased: Vec<i64> = conn
        .prepare_cached(
            "UPDATE webhook_deliveries SET lease_owner = ?1, next_attempt_at = ?2 WHERE seq IN \
             (SELECT seq FROM webhook_deliveries WHERE endpoint_id = ?3 AND state = 'pending' AND next_attempt_at <= ?4 \
             ORDER BY next_attempt_at LIMIT ?5) RETURNING seq",
        )?
        .query_map(
            params![
                claim.owner,
                claim.lease_until_ms,
                claim.endpoint_id,
                claim.now_ms,
                claim.limit as i64
            ],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut details = conn.prepare_cached(&format!(
        "SELECT d.seq, d.account_id, d.livemode, d.event_id, d.endpoint_id, d.attempts, w.url, w.secret, {EVENT_JSON} \
         FROM webhook_deliveries d \
         JOIN webhook_endpoints w ON w.account_id = d.account_id AND w.livemode = d.livemode AND w.id = d.endpoint_id \
         JOIN events ON events.account_id = d.account_id AND events.livemode = d.livemode AND events.id = d.event_id \
         WHERE d.seq = ?1"
    ))?;
    let mut claimed = Vec::with_capacity(leased.len());
    for seq in leased {
        if let Some(delivery) = details.query_row([seq], claimed_delivery).optional()? {
            claimed.push(delivery);
        }
    }
    Ok(claimed)
}

fn claimed_delivery(r: &rusqlite::Row<'_>) -> rusqlite::Result<ClaimedDelivery> {
    Ok(ClaimedDelivery {
        seq: r.get(0)?,
        tenant: Tenant {
            account_id: r.get(1)?,
            livemode: r.get(2)?,
        },
        event_id: r.get(3)?,
        endpoint_id: r.get(4)?,
        attempts: r.get(5)?,
        url: r.get(6)?,
        secret: r.get(7)?,
        body: r.get(8)?,
    })
}

pub(super) fn finish(conn: &Connection, finished: &[FinishedDelivery]) -> Result<(), StoreError> {
    let mut update = conn.prepare_cached(
        "UPDATE webhook_deliveries SET state = ?1, attempts = attempts + 1, next_attempt_at = ?2, lease_owner = NULL, \
         last_attempt_at = ?3, last_status = ?4, last_error = ?5, last_latency_ms = ?6 \
         WHERE seq = ?7 AND lease_owner = ?8",
    )?;
    for f in finished {
        update.execute(params![
            f.state(),
            f.next_attempt_at(),
            f.attempted_at_ms,
            f.status.map(i64::from),
            f.error,
            f.latency_ms,
            f.seq,
            f.owner
        ])?;
    }
    Ok(())
}

/// When delivery starts: no other process serves this file (`serve` holds its lock), so every
/// lease is a dead process's, and its deliveries are due now.
pub(super) fn release_leases(conn: &Connection, now_ms: i64) -> Result<u64, StoreError> {
    Ok(conn.execute(
        "UPDATE webhook_deliveries SET lease_owner = NULL, next_attempt_at = MIN(next_attempt_at, ?1) \
         WHERE lease_owner IS NOT NULL AND state = 'pending'",
        [now_ms],
    )? as u64)
}

pub(super) fn backlog(conn: &Connection) -> rusqlite::Result<Backlog> {
    conn.prepare_cached("SELECT COUNT(*), MIN(created) FROM webhook_deliveries WHERE state = 'pending'")?
        .query_row([], |r| {
            Ok(Backlog {
                pending: r.get::<_, i64>(0)? as u64,
                oldest_created: r.get(1)?,
            })
        })
}

pub(super) fn resend(conn: &Connection, resend: &Resend) -> Result<Resent, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let Some((account_id, livemode)): Option<(String, bool)> = tx
        .query_row(
            "SELECT account_id, livemode FROM events WHERE id = ?1",
            [&resend.event_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
    else {
        return Ok(Resent::EventMissing);
    };
    if let Some(endpoint) = &resend.endpoint_id {
        let exists = tx
            .query_row(
                "SELECT 1 FROM webhook_endpoints WHERE account_id = ?1 AND livemode = ?2 AND id = ?3",
                params![account_id, livemode, endpoint],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !exists {
            return Ok(Resent::EndpointMissing);
        }
    }
    let updated = tx.execute(
        "UPDATE webhook_deliveries SET state = ?1, attempts = 0, next_attempt_at = ?2, lease_owner = NULL \
         WHERE account_id = ?3 AND livemode = ?4 AND event_id = ?5 AND (?6 IS NULL OR endpoint_id = ?6)",
        params![
            DELIVERY_PENDING,
            resend.now_ms,
            account_id,
            livemode,
            resend.event_id,
            resend.endpoint_id
        ],
    )?;
    let mut queued = updated as u64;
    if updated == 0
        && let Some(endpoint) = &resend.endpoint_id
    {
        queued += tx.execute(
            "INSERT INTO webhook_deliveries (account_id, livemode, event_id, endpoint_id, state, attempts, next_attempt_at, created) \
             SELECT account_id, livemode, id, ?1, 'pending', 0, ?2, created FROM events \
             WHERE account_id = ?3 AND livemode = ?4 AND id = ?5",
            params![endpoint, resend.now_ms, account_id, livemode, resend.event_id],
        )? as u64;
    }
    tx.commit()?;
    Ok(Resent::Queued(queued))
}

/// Deletes the expired prefix of events (rowids grow with time) and their deliveries.
pub(super) fn prune(conn: &mut Connection, cutoff: i64) -> Result<u64, StoreError> {
    let tx = conn.transaction()?;
    let first_live: i64 = tx.query_row(
        "SELECT COALESCE((SELECT seq FROM events WHERE created >= ?1 ORDER BY seq LIMIT 1), \
         (SELECT COALESCE(MAX(seq), 0) + 1 FROM events))",
        [cutoff],
        |r| r.get(0),
    )?;
    // Deliveries are queued with their events, so theirs are a prefix too (a resent delivery of
    // an old event, queued later, goes when its own time comes).
    let first_live_delivery: i64 = tx.query_row(
        "SELECT COALESCE((SELECT seq FROM webhook_deliveries WHERE created >= ?1 ORDER BY seq LIMIT 1), \
         (SELECT COALESCE(MAX(seq), 0) + 1 FROM webhook_deliveries))",
        [cutoff],
        |r| r.get(0),
    )?;
    tx.execute("DELETE FROM webhook_deliveries WHERE seq < ?1", [first_live_delivery])?;
    let deleted = tx.execute("DELETE FROM events WHERE seq < ?1", [first_live])?;
    tx.commit()?;
    Ok(deleted as u64)
}
