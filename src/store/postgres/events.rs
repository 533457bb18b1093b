//! PostgreSQL's SQL for events, webhook endpoints and the delivery queue. Replicas share the
//! queue: a claim leases rows with `FOR UPDATE SKIP LOCKED`, so two replicas never claim the
//! same delivery, and a lease that runs out (its replica died) makes the delivery due again.

use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Connection, Row};

use super::batch::{Batch, Rows};
use crate::events::WebhookEndpoint;
use crate::events::health::{
    DISABLE_AFTER_MS, FAILURES_BEFORE_PAUSE, PAUSE_BASE_MS, PAUSE_DOUBLINGS_MAX, PAUSE_MAX_MS,
};
use crate::store::doc::encode;
use crate::store::endpoint_health::health_changes;
use crate::store::events::{
    Backlog, Claim, ClaimedDelivery, DELIVERY_PENDING, DeliveryInfo, DeliveryState, FinishedDelivery, PENDING_WEBHOOKS,
    Released, Resend, Resent, as_of_endpoint, event_body,
};
use crate::store::page::can_exist;
use crate::store::write::PackedEvent;
use crate::store::{DueEndpoint, EventSummary, FailingEndpoint, StoreError, Tenant};

/// Whether endpoint `w` takes event `ev` (of its tenant): enabled, and its filter names the
/// event's type or every type. The deliveries' join, for one write and for a group.
pub(super) const ENDPOINT_TAKES_EVENT: &str =
    "w.status = 'enabled' AND (w.events_filter = '*' OR strpos(w.events_filter, ',' || ev.type || ',') > 0)";

/// Adds `events` and their deliveries, one to each enabled endpoint whose filter takes the
/// event's type, to a write's batch.
pub(super) fn push_events(batch: &mut Batch, tenant: &Tenant, events: &[PackedEvent], now_ms: i64) {
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let created: Vec<i64> = events.iter().map(|e| e.created).collect();
    let types: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let records: Vec<&str> = events.iter().map(|e| e.record_id.as_str()).collect();
    let heads: Vec<&[u8]> = events.iter().map(|e| e.head.as_slice()).collect();
    let tails: Vec<&str> = events.iter().map(|e| e.tail.as_str()).collect();
    let (account, livemode) = (batch.bind(&tenant.account_id), batch.bind(tenant.livemode));
    let inserted = format!(
        "INSERT INTO events (account_id, livemode, id, created, type, record_id, head, tail) \
         SELECT {account}, {livemode}, * FROM unnest({}::text[], {}::bigint[], {}::text[], {}::text[], {}::bytea[], {}::text[]) \
         RETURNING id, type, created",
        batch.bind(&ids),
        batch.bind(&created),
        batch.bind(&types),
        batch.bind(&records),
        batch.bind(&heads),
        batch.bind(&tails),
    );
    let events_part = batch.next_name();
    batch.push(inserted, Rows::Any);
    let deliveries = format!(
        "INSERT INTO webhook_deliveries (account_id, livemode, event_id, endpoint_id, state, attempts, next_attempt_at, created) \
         SELECT {account}, {livemode}, ev.id, w.id, 'pending', 0, {}, ev.created FROM {events_part} ev JOIN webhook_endpoints w \
         ON w.account_id = {account} AND w.livemode = {livemode} AND {ENDPOINT_TAKES_EVENT} RETURNING 1",
        batch.bind(now_ms),
    );
    batch.push(deliveries, Rows::Deliveries);
}

pub(super) async fn count_endpoints(conn: &mut PgConnection, tenant: &Tenant) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE account_id = $1 AND livemode = $2")
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .fetch_one(&mut *conn)
        .await?;
    Ok(n as u64)
}

pub(super) async fn lock_endpoint_doc(
    conn: &mut PgConnection,
    tenant: &Tenant,
    id: &str,
) -> Result<Option<String>, StoreError> {
    if !can_exist(id) {
        return Ok(None);
    }
    Ok(sqlx::query_scalar(
        "SELECT doc FROM webhook_endpoints WHERE account_id = $1 AND livemode = $2 AND id = $3 FOR UPDATE",
    )
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

pub(super) async fn insert_endpoint(
    conn: &mut PgConnection,
    tenant: &Tenant,
    e: &WebhookEndpoint,
    secret: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (account_id, livemode, id, created, status, events_filter, url, secret, doc) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(&e.id)
    .bind(e.created)
    .bind(e.status.as_str())
    .bind(e.events_filter())
    .bind(&e.url)
    .bind(secret)
    .bind(encode(e))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn update_endpoint(
    conn: &mut PgConnection,
    tenant: &Tenant,
    e: &WebhookEndpoint,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET status = $1, events_filter = $2, url = $3, doc = $4 \
         WHERE account_id = $5 AND livemode = $6 AND id = $7",
    )
    .bind(e.status.as_str())
    .bind(e.events_filter())
    .bind(&e.url)
    .bind(encode(e))
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(&e.id)
    .execute(&mut *conn)
    .await?;
    assert_eq!(done.rows_affected(), 1, "the locked endpoint exists");
    Ok(())
}

pub(super) async fn delete_endpoint(conn: &mut PgConnection, tenant: &Tenant, id: &str) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM webhook_deliveries WHERE account_id = $1 AND livemode = $2 AND endpoint_id = $3",
        "DELETE FROM webhook_endpoints WHERE account_id = $1 AND livemode = $2 AND id = $3",
    ] {
        sqlx::query(sql)
            .bind(&tenant.account_id)
            .bind(tenant.livemode)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The stored parts of an event (head, pending_webhooks, tail from column `first`) as its JSON.
fn body(r: &PgRow, first: usize) -> Result<String, StoreError> {
    let head: Vec<u8> = r.get(first);
    event_body(&head, r.get(first + 1), r.get(first + 2))
}

pub(super) async fn get_event(pool: &PgPool, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
    if !can_exist(id) {
        return Ok(None);
    }
    sqlx::query(&format!(
        "SELECT head, {PENDING_WEBHOOKS}, tail FROM events WHERE account_id = $1 AND livemode = $2 AND id = $3"
    ))
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(id)
    .fetch_optional(pool)
    .await?
    .map(|r| body(&r, 0))
    .transpose()
}

pub(super) async fn endpoint_secret(pool: &PgPool, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
    if !can_exist(id) {
        return Ok(None);
    }
    Ok(
        sqlx::query_scalar("SELECT secret FROM webhook_endpoints WHERE account_id = $1 AND livemode = $2 AND id = $3")
            .bind(&tenant.account_id)
            .bind(tenant.livemode)
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// The events `ids` of the tenant, as (id, JSON), in no particular order.
pub(super) async fn events_by_id(
    pool: &PgPool,
    tenant: &Tenant,
    ids: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT id, head, {PENDING_WEBHOOKS}, tail FROM events WHERE account_id = $1 AND livemode = $2 AND id = ANY($3)"
    ))
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(ids)
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| Ok((r.get(0), body(r, 1)?))).collect()
}

pub(super) async fn record_events(
    pool: &PgPool,
    tenant: &Tenant,
    record_id: &str,
) -> Result<Vec<EventSummary>, StoreError> {
    if !can_exist(record_id) {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(&format!(
        "SELECT id, type, created, {PENDING_WEBHOOKS} FROM events \
         WHERE account_id = $1 AND livemode = $2 AND record_id = $3 ORDER BY seq"
    ))
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(record_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, created, pending)| EventSummary {
            id,
            kind,
            created,
            pending_webhooks: pending as u64,
        })
        .collect())
}

pub(super) async fn list_deliveries(
    pool: &PgPool,
    tenant: &Tenant,
    endpoint_id: Option<&str>,
    event_id: Option<&str>,
    limit: usize,
) -> Result<Vec<DeliveryInfo>, StoreError> {
    let rows = sqlx::query(
        "SELECT event_id, endpoint_id, state, attempts, last_status, last_error, last_attempt_at FROM webhook_deliveries \
         WHERE account_id = $1 AND livemode = $2 AND ($3::text IS NULL OR endpoint_id = $3) \
         AND ($4::text IS NULL OR event_id = $4) ORDER BY seq DESC LIMIT $5",
    )
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(endpoint_id.filter(|id| can_exist(id)))
    .bind(event_id.filter(|id| can_exist(id)))
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeliveryInfo {
                event_id: r.get(0),
                endpoint_id: r.get(1),
                state: DeliveryState::parse(r.get(2))?,
                attempts: r.get::<i32, _>(3) as u32,
                last_status: r.get::<Option<i32>, _>(4).map(|s| s as u16),
                last_error: r.get(5),
                last_attempt_at_ms: r.get(6),
            })
        })
        .collect()
}

pub(super) async fn due_endpoints(pool: &PgPool, now_ms: i64) -> Result<Vec<DueEndpoint>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT e.id, e.account_id FROM webhook_endpoints e WHERE e.status = 'enabled' \
         AND (e.paused_until IS NULL OR e.paused_until <= $1) AND EXISTS (SELECT 1 FROM webhook_deliveries d \
         WHERE d.endpoint_id = e.id AND d.state = 'pending' AND d.next_attempt_at <= $1)",
    )
    .bind(now_ms)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, account_id)| DueEndpoint { id, account_id })
        .collect())
}

pub(super) async fn claim(pool: &PgPool, claim: &Claim) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let rows = sqlx::query(&format!(
        "WITH claimed AS (UPDATE webhook_deliveries SET lease_owner = $1, next_attempt_at = $2 WHERE seq IN \
         (SELECT seq FROM webhook_deliveries WHERE endpoint_id = $3 AND state = 'pending' AND next_attempt_at <= $4 \
         ORDER BY next_attempt_at LIMIT $5 FOR UPDATE SKIP LOCKED) \
         RETURNING seq, account_id, livemode, event_id, endpoint_id, attempts) \
         SELECT c.seq, c.account_id, c.livemode, c.event_id, c.endpoint_id, c.attempts, w.url, w.secret, \
         events.head, {PENDING_WEBHOOKS}, events.tail, (w.doc::jsonb)->>'api_version' \
         FROM claimed c \
         JOIN webhook_endpoints w ON w.account_id = c.account_id AND w.livemode = c.livemode AND w.id = c.endpoint_id \
         JOIN events ON events.account_id = c.account_id AND events.livemode = c.livemode AND events.id = c.event_id"
    ))
    .bind(&claim.owner)
    .bind(claim.lease_until_ms)
    .bind(&claim.endpoint_id)
    .bind(claim.now_ms)
    .bind(claim.limit as i64)
    .fetch_all(pool)
    .await?;
    rows.iter().map(claimed_delivery).collect()
}

fn claimed_delivery(r: &PgRow) -> Result<ClaimedDelivery, StoreError> {
    Ok(ClaimedDelivery {
        seq: r.get(0),
        tenant: Tenant {
            account_id: r.get(1),
            livemode: r.get(2),
        },
        event_id: r.get(3),
        endpoint_id: r.get(4),
        attempts: r.get::<i32, _>(5) as u32,
        url: r.get(6),
        secret: r.get(7),
        body: as_of_endpoint(body(r, 8)?, r.get(11)),
    })
}

/// Every finished attempt in one statement.
/// The endpoint's new failure count, written three times below (SET sees the old values).
const NEW_FAILURES: &str = "(CASE WHEN o.reset THEN o.n ELSE e.failures + o.n END)";

/// `Outbox::release_deliveries`.
pub(super) async fn release(pool: &PgPool, released: &Released) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET lease_owner = NULL, next_attempt_at = $1 \
         WHERE seq = ANY($2) AND lease_owner = $3 AND state = 'pending'",
    )
    .bind(released.now_ms)
    .bind(&released.seqs)
    .bind(&released.owner)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// The attempts' results and their endpoints' health (`events::health`'s rule, in SQL), in one
/// statement; answers the enabled endpoints failing for long enough to be disabled.
pub(super) async fn finish(pool: &PgPool, finished: &[FinishedDelivery]) -> Result<Vec<FailingEndpoint>, StoreError> {
    let seqs: Vec<i64> = finished.iter().map(|f| f.seq).collect();
    let owners: Vec<&str> = finished.iter().map(|f| f.owner.as_str()).collect();
    let states: Vec<&str> = finished.iter().map(|f| f.state()).collect();
    let next: Vec<i64> = finished.iter().map(|f| f.next_attempt_at()).collect();
    let at: Vec<i64> = finished.iter().map(|f| f.attempted_at_ms).collect();
    let status: Vec<Option<i32>> = finished.iter().map(|f| f.status.map(i32::from)).collect();
    let errors: Vec<Option<&str>> = finished.iter().map(|f| f.error.as_deref()).collect();
    let latency: Vec<i32> = finished.iter().map(|f| f.latency_ms as i32).collect();
    let outcomes = health_changes(finished);
    let ids: Vec<&str> = outcomes.iter().map(|o| o.endpoint_id.as_str()).collect();
    let resets: Vec<bool> = outcomes.iter().map(|o| o.reset).collect();
    let failures: Vec<i64> = outcomes.iter().map(|o| o.failures).collect();
    let first: Vec<Option<i64>> = outcomes.iter().map(|o| o.first_failure_ms).collect();
    let last: Vec<i64> = outcomes.iter().map(|o| o.last_attempt_ms).collect();
    let rows = sqlx::query(&format!(
        "WITH attempts AS (UPDATE webhook_deliveries d SET state = f.state, attempts = d.attempts + 1, \
         next_attempt_at = f.next, lease_owner = NULL, last_attempt_at = f.at, last_status = f.status, \
         last_error = f.error, last_latency_ms = f.latency \
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::int[], $7::text[], $8::int[]) \
         AS f(seq, owner, state, next, at, status, error, latency) \
         WHERE d.seq = f.seq AND d.lease_owner = f.owner RETURNING 1) \
         UPDATE webhook_endpoints e SET failures = {NEW_FAILURES}, \
         failing_since = CASE WHEN o.n = 0 THEN NULL WHEN o.reset THEN o.first ELSE COALESCE(e.failing_since, o.first) END, \
         paused_until = CASE WHEN {NEW_FAILURES} < {FAILURES_BEFORE_PAUSE} THEN NULL \
         ELSE o.last + LEAST({PAUSE_MAX_MS}, {PAUSE_BASE_MS}::bigint << LEAST({NEW_FAILURES} - {FAILURES_BEFORE_PAUSE}, {PAUSE_DOUBLINGS_MAX})::int) END \
         FROM unnest($9::text[], $10::bool[], $11::bigint[], $12::bigint[], $13::bigint[]) AS o(id, reset, n, first, last) \
         WHERE e.id = o.id \
         RETURNING e.account_id, e.livemode, e.id, e.status, e.failing_since, o.last"
    ))
    .bind(&seqs)
    .bind(&owners)
    .bind(&states)
    .bind(&next)
    .bind(&at)
    .bind(&status)
    .bind(&errors)
    .bind(&latency)
    .bind(&ids)
    .bind(&resets)
    .bind(&failures)
    .bind(&first)
    .bind(&last)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .filter(|r| {
            let since: Option<i64> = r.get(4);
            let last: i64 = r.get(5);
            r.get::<&str, _>(3) == "enabled" && since.is_some_and(|s| s <= last - DISABLE_AFTER_MS)
        })
        .map(|r| FailingEndpoint {
            tenant: Tenant {
                account_id: r.get(0),
                livemode: r.get(1),
            },
            endpoint_id: r.get(2),
        })
        .collect())
}

/// Gives up each endpoint's oldest pending deliveries past its newest `max` (`events::health`).
pub(super) async fn cap_backlogs(pool: &PgPool, max: u64) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE webhook_deliveries SET state = 'failed', last_error = 'backlog' WHERE seq IN \
     (SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY endpoint_id ORDER BY seq DESC) AS newer \
     FROM webhook_deliveries WHERE state = 'pending' AND lease_owner IS NULL AND endpoint_id IN \
     (SELECT endpoint_id FROM webhook_deliveries WHERE state = 'pending' GROUP BY endpoint_id HAVING COUNT(*) > $1)) \
     AS ranked WHERE newer > $1)",
    )
    .bind(max as i64)
    .execute(pool)
    .await?
    .rows_affected())
}

pub(super) async fn backlog(pool: &PgPool) -> Result<Backlog, StoreError> {
    let (pending, oldest): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MIN(created) FROM webhook_deliveries WHERE state = 'pending'")
            .fetch_one(pool)
            .await?;
    Ok(Backlog {
        pending: pending as u64,
        oldest_created: oldest,
    })
}

pub(super) async fn resend(pool: &PgPool, resend: &Resend) -> Result<Resent, StoreError> {
    if !can_exist(&resend.event_id) || !resend.endpoint_id.as_deref().is_none_or(can_exist) {
        return Ok(Resent::EventMissing);
    }
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let Some((account_id, livemode)): Option<(String, bool)> =
        sqlx::query_as("SELECT account_id, livemode FROM events WHERE id = $1")
            .bind(&resend.event_id)
            .fetch_optional(&mut *tx)
            .await?
    else {
        return Ok(Resent::EventMissing);
    };
    if let Some(endpoint) = &resend.endpoint_id {
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM webhook_endpoints WHERE account_id = $1 AND livemode = $2 AND id = $3")
                .bind(&account_id)
                .bind(livemode)
                .bind(endpoint)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Ok(Resent::EndpointMissing);
        }
    }
    let updated = sqlx::query(
        "UPDATE webhook_deliveries SET state = $1, attempts = 0, next_attempt_at = $2, lease_owner = NULL \
         WHERE account_id = $3 AND livemode = $4 AND event_id = $5 AND ($6::text IS NULL OR endpoint_id = $6)",
    )
    .bind(DELIVERY_PENDING)
    .bind(resend.now_ms)
    .bind(&account_id)
    .bind(livemode)
    .bind(&resend.event_id)
    .bind(&resend.endpoint_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let mut queued = updated;
    if updated == 0
        && let Some(endpoint) = &resend.endpoint_id
    {
        queued += sqlx::query(
            "INSERT INTO webhook_deliveries (account_id, livemode, event_id, endpoint_id, state, attempts, next_attempt_at, created) \
             SELECT account_id, livemode, id, $1, 'pending', 0, $2, created FROM events \
             WHERE account_id = $3 AND livemode = $4 AND id = $5",
        )
        .bind(endpoint)
        .bind(resend.now_ms)
        .bind(&account_id)
        .bind(livemode)
        .bind(&resend.event_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(Resent::Queued(queued))
}

/// Deletes events created before `cutoff` (found through the BRIN index) and their deliveries.
pub(super) async fn prune(pool: &PgPool, cutoff: i64) -> Result<u64, StoreError> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE created < $1")
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
    let deleted = sqlx::query("DELETE FROM events WHERE created < $1")
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(deleted)
}
