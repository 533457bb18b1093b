//! SQLite's SQL for events and the delivery queue (the webhook endpoints' rows are in
//! `roles/endpoints.rs`). Event rows are written by the shared write path (through
//! `SqliteOps`); the queue's claims and finishes run on the writer thread too
//! (`writer::WriteRequest::Deliveries`), each in its batch's transaction; reads use the read
//! pool.

use crate::store::Released;
use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::prefix::first_live;
use crate::events::health::{
    DISABLE_AFTER_MS, FAILURES_BEFORE_PAUSE, PAUSE_BASE_MS, PAUSE_DOUBLINGS_MAX, PAUSE_MAX_MS,
};
use crate::store::endpoint_health::health_changes;
use crate::store::events::{
    Backlog, Claim, ClaimedDelivery, DELIVERY_PENDING, DeliveryInfo, DeliveryState, FinishedDelivery, PENDING_WEBHOOKS,
    Resend, Resent, as_of_endpoint, event_body,
};
use crate::store::write::PackedEvent;
use crate::store::{DueEndpoint, EventSummary, FailingEndpoint, HealthChange, StoreError, Tenant};

/// Tenants whose enabled endpoints the writer remembers; past this the memory starts over.
pub const SUBSCRIPTIONS_CACHED_MAX: usize = 10_000;

/// The enabled endpoints of each tenant, as (id, events filter), as the writer last read them.
/// Only the writer changes endpoints, and it forgets a tenant's entry whenever it does (and
/// every entry when a batch fails), so an entry is what the database holds: most tenants have
/// no endpoint, and their events then cost no query for deliveries.
#[derive(Debug, Default)]
pub(super) struct Subscriptions {
    by_tenant: HashMap<Tenant, Vec<(String, String)>>,
}

impl Subscriptions {
    fn of(&mut self, conn: &Connection, tenant: &Tenant) -> Result<&[(String, String)], StoreError> {
        if !self.by_tenant.contains_key(tenant) {
            if self.by_tenant.len() >= SUBSCRIPTIONS_CACHED_MAX {
                self.by_tenant.clear();
            }
            let enabled = conn
                .prepare_cached(
                    "SELECT id, events_filter FROM webhook_endpoints \
                     WHERE account_id = ?1 AND livemode = ?2 AND status = 'enabled'",
                )?
                .query_map(params![tenant.account_id, tenant.livemode], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            self.by_tenant.insert(tenant.clone(), enabled);
        }
        Ok(&self.by_tenant[tenant])
    }

    /// The tenant's endpoints changed (or may have: a rolled-back change).
    pub fn forget(&mut self, tenant: &Tenant) {
        self.by_tenant.remove(tenant);
    }

    /// A batch failed: what it read may not be what the database holds.
    pub fn clear(&mut self) {
        self.by_tenant.clear();
    }
}

fn subscribes(filter: &str, kind: &str) -> bool {
    filter == crate::events::catalogue::ALL_EVENTS
        || filter
            .strip_prefix(',')
            .is_some_and(|rest| rest.split(',').any(|t| t == kind))
}

/// `INSERT INTO events … VALUES (…), (…)` for `rows` events (one statement per call).
fn insert_events_sql(rows: usize) -> String {
    let mut sql =
        String::from("INSERT INTO events (account_id, livemode, id, created, type, record_id, head, tail) VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        let n = row * 8;
        sql.push_str(&format!(
            "(?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5,
            n + 6,
            n + 7,
            n + 8
        ));
    }
    sql
}

/// Inserts `events` and their deliveries; returns how many deliveries were queued.
pub(super) fn insert_events(
    conn: &Connection,
    subscriptions: &mut Subscriptions,
    tenant: &Tenant,
    events: &[PackedEvent],
    now_ms: i64,
) -> Result<usize, StoreError> {
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(events.len() * 8);
    for (e, kind) in events.iter().zip(&kinds) {
        values.extend([
            &tenant.account_id as &dyn rusqlite::ToSql,
            &tenant.livemode,
            &e.id,
            &e.created,
            kind,
            &e.record_id,
            &e.head,
            &e.tail,
        ]);
    }
    conn.prepare_cached(&insert_events_sql(events.len()))?
        .execute(values.as_slice())?;
    let endpoints = subscriptions.of(conn, tenant)?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let mut delivery = conn.prepare_cached(
        "INSERT INTO webhook_deliveries (account_id, livemode, event_id, endpoint_id, state, attempts, next_attempt_at, created) \
         VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?6)",
    )?;
    let mut queued = 0;
    for e in events {
        for (endpoint, filter) in endpoints {
            if subscribes(filter, e.kind.as_str()) {
                delivery.execute(params![
                    tenant.account_id,
                    tenant.livemode,
                    e.id,
                    endpoint,
                    now_ms,
                    e.created
                ])?;
                queued += 1;
            }
        }
    }
    Ok(queued)
}

/// The stored parts of an event as its JSON.
fn body(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Result<String, StoreError>> {
    let head: Vec<u8> = r.get(first)?;
    let pending: i64 = r.get(first + 1)?;
    let tail: String = r.get(first + 2)?;
    Ok(event_body(&head, pending, &tail))
}

pub(super) fn get_event(conn: &Connection, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT head, {PENDING_WEBHOOKS}, tail FROM events WHERE account_id = ?1 AND livemode = ?2 AND id = ?3"
    ))?
    .query_row(params![tenant.account_id, tenant.livemode, id], |r| body(r, 0))
    .optional()?
    .transpose()
}

/// The events `ids` of the tenant, as (id, JSON), in no particular order.
pub(super) fn events_by_id(
    conn: &Connection,
    tenant: &Tenant,
    ids: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT id, head, {PENDING_WEBHOOKS}, tail FROM events WHERE account_id = ?1 AND livemode = ?2 AND id = ?3"
    ))?;
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some((id, json)) = statement
            .query_row(params![tenant.account_id, tenant.livemode, id], |r| {
                Ok((r.get::<_, String>(0)?, body(r, 1)?))
            })
            .optional()?
        {
            found.push((id, json?));
        }
    }
    Ok(found)
}

pub(super) fn record_events(
    conn: &Connection,
    tenant: &Tenant,
    record_id: &str,
) -> rusqlite::Result<Vec<EventSummary>> {
    conn.prepare_cached(&format!(
        "SELECT id, type, created, {PENDING_WEBHOOKS} FROM events \
         WHERE account_id = ?1 AND livemode = ?2 AND record_id = ?3 ORDER BY seq"
    ))?
    .query_map(params![tenant.account_id, tenant.livemode, record_id], |r| {
        Ok(EventSummary {
            id: r.get(0)?,
            kind: r.get(1)?,
            created: r.get(2)?,
            pending_webhooks: r.get::<_, i64>(3)? as u64,
        })
    })?
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
            let state: String = r.get(2)?;
            Ok(DeliveryInfo {
                event_id: r.get(0)?,
                endpoint_id: r.get(1)?,
                state: DeliveryState::parse(&state).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
                })?,
                attempts: r.get(3)?,
                last_status: r.get::<_, Option<i64>>(4)?.map(|s| s as u16),
                last_error: r.get(5)?,
                last_attempt_at_ms: r.get(6)?,
            })
        },
    )?
    .collect()
}

pub(super) fn due_endpoints(conn: &Connection, now_ms: i64) -> rusqlite::Result<Vec<DueEndpoint>> {
    conn.prepare_cached(
        "SELECT e.id, e.account_id FROM webhook_endpoints e WHERE e.status = 'enabled' \
         AND (e.paused_until IS NULL OR e.paused_until <= ?1) AND EXISTS (SELECT 1 FROM webhook_deliveries d \
         WHERE d.endpoint_id = e.id AND d.state = 'pending' AND d.next_attempt_at <= ?1)",
    )?
    .query_map([now_ms], |r| {
        Ok(DueEndpoint {
            id: r.get(0)?,
            account_id: r.get(1)?,
        })
    })?
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
        "SELECT d.seq, d.account_id, d.livemode, d.event_id, d.endpoint_id, d.attempts, w.url, w.secret, \
         events.head, {PENDING_WEBHOOKS}, events.tail, json_extract(w.doc, '$.api_version') \
         FROM webhook_deliveries d \
         JOIN webhook_endpoints w ON w.account_id = d.account_id AND w.livemode = d.livemode AND w.id = d.endpoint_id \
         JOIN events ON events.account_id = d.account_id AND events.livemode = d.livemode AND events.id = d.event_id \
         WHERE d.seq = ?1"
    ))?;
    let mut claimed = Vec::with_capacity(leased.len());
    for seq in leased {
        if let Some(delivery) = details.query_row([seq], claimed_delivery).optional()? {
            claimed.push(delivery?);
        }
    }
    Ok(claimed)
}

fn claimed_delivery(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<ClaimedDelivery, StoreError>> {
    let body = match body(r, 8)? {
        Ok(body) => as_of_endpoint(body, r.get(11)?),
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(ClaimedDelivery {
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
        body,
    }))
}

pub(super) fn finish(conn: &Connection, finished: &[FinishedDelivery]) -> Result<Vec<FailingEndpoint>, StoreError> {
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
    let mut failing = Vec::new();
    for outcome in health_changes(finished) {
        failing.extend(endpoint_health(conn, &outcome)?);
    }
    Ok(failing)
}

/// The endpoint's new failure count, written twice below (SET sees the old values).
const NEW_FAILURES: &str = "(CASE WHEN ?2 THEN ?3 ELSE failures + ?3 END)";

/// Applies one endpoint's outcome (`events::health`'s rule, in SQL); the endpoint, when it is
/// enabled and has been failing for long enough to be disabled.
fn endpoint_health(conn: &Connection, o: &HealthChange) -> Result<Option<FailingEndpoint>, StoreError> {
    let sql = format!(
        "UPDATE webhook_endpoints SET failures = {NEW_FAILURES}, \
         failing_since = CASE WHEN ?3 = 0 THEN NULL WHEN ?2 THEN ?4 ELSE COALESCE(failing_since, ?4) END, \
         paused_until = CASE WHEN {NEW_FAILURES} < {FAILURES_BEFORE_PAUSE} THEN NULL \
         ELSE ?5 + MIN({PAUSE_MAX_MS}, {PAUSE_BASE_MS} << MIN({NEW_FAILURES} - {FAILURES_BEFORE_PAUSE}, {PAUSE_DOUBLINGS_MAX})) END \
         WHERE id = ?1 RETURNING account_id, livemode, status, failing_since"
    );
    let row = conn
        .prepare_cached(&sql)?
        .query_row(
            params![
                o.endpoint_id,
                o.reset,
                o.failures,
                o.first_failure_ms,
                o.last_attempt_ms
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            },
        )
        .optional()?;
    Ok(row.and_then(|(account_id, livemode, status, since)| {
        let long = since.is_some_and(|s| s <= o.last_attempt_ms - DISABLE_AFTER_MS);
        (status == "enabled" && long).then(|| FailingEndpoint {
            tenant: Tenant { account_id, livemode },
            endpoint_id: o.endpoint_id.clone(),
        })
    }))
}

/// When delivery starts: no other process serves this file (`serve` holds its lock), so every
/// lease is a dead process's, and its deliveries are due now.
/// `Outbox::release_deliveries`; the single writer runs it.
pub(super) fn release(conn: &Connection, released: &Released) -> Result<u64, StoreError> {
    let mut update = conn.prepare_cached(
        "UPDATE webhook_deliveries SET lease_owner = NULL, next_attempt_at = ?1 \
         WHERE seq = ?2 AND lease_owner = ?3 AND state = 'pending'",
    )?;
    let mut n = 0;
    for seq in &released.seqs {
        n += update.execute(params![released.now_ms, seq, released.owner])? as u64;
    }
    Ok(n)
}

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

/// Gives up each endpoint's oldest pending deliveries past its newest `max` (`events::health`).
pub(super) fn cap_backlogs(conn: &Connection, max: u64) -> Result<u64, StoreError> {
    Ok(conn.prepare_cached(CAP_BACKLOGS)?.execute([max as i64])? as u64)
}

const CAP_BACKLOGS: &str = "UPDATE webhook_deliveries SET state = 'failed', last_error = 'backlog' WHERE seq IN \
     (SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY endpoint_id ORDER BY seq DESC) AS newer \
     FROM webhook_deliveries WHERE state = 'pending' AND lease_owner IS NULL AND endpoint_id IN \
     (SELECT endpoint_id FROM webhook_deliveries WHERE state = 'pending' GROUP BY endpoint_id HAVING COUNT(*) > ?1)) \
     AS ranked WHERE newer > ?1)";

pub(super) fn resend(conn: &Connection, resend: &Resend) -> Result<Resent, StoreError> {
    // IMMEDIATE: it reads, then writes; a deferred transaction would fail (not wait) if the
    // writer committed in between.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
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
    // IMMEDIATE: it reads, then writes; a deferred transaction would fail (not wait) if the
    // writer committed in between.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let first_live_event = first_live(&tx, "events", "seq", cutoff)?;
    // Deliveries are queued with their events, so theirs are a prefix too (a resent delivery of
    // an old event, queued later, goes when its own time comes).
    let first_live_delivery = first_live(&tx, "webhook_deliveries", "seq", cutoff)?;
    tx.execute("DELETE FROM webhook_deliveries WHERE seq < ?1", [first_live_delivery])?;
    let deleted = tx.execute("DELETE FROM events WHERE seq < ?1", [first_live_event])?;
    tx.commit()?;
    Ok(deleted as u64)
}
