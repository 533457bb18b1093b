//! A group's rows as one statement: an INSERT per table, each reading its rows from arrays.
//! The text is the same for every group (made once), so the server plans it once per
//! connection, whatever the group's size.

use super::*;
use crate::store::postgres::events::ENDPOINT_TAKES_EVENT;
use crate::store::postgres::ops::KEY_TAKEN_OVER;
use crate::store::postgres::totals::{UPSERT_COLUMNS, UPSERT_SUMS};

/// The statement's text; its parameters are bound by `run` in the order they are numbered.
static GROUP_INSERT: LazyLock<String> = LazyLock::new(|| {
    let mut p = Placeholders::default();
    let records = p.unnest(&[
        "text", "bool", "text", "bigint", "text", "text", "text", "bigint", "text",
    ]);
    let attempts = p.unnest(&["text", "bool", "text", "text", "bigint", "text", "text"]);
    let events = p.unnest(&["text", "bool", "text", "bigint", "text", "text", "bytea", "text"]);
    let due = p.next("bigint");
    let mut totals_types = vec!["text", "bool", "bigint", "text", "smallint"];
    totals_types.extend(TOTALS_COLUMNS.iter().map(|_| "bigint"));
    let totals = p.unnest(&totals_types);
    let keys = p.unnest(&["text", "bool", "text", "text", "text", "int", "bytea", "bigint"]);
    let (retention, key_count) = (p.next("bigint"), p.next("bigint"));
    let (columns, sums) = (&*UPSERT_COLUMNS, &*UPSERT_SUMS);
    format!(
        "WITH r AS (INSERT INTO payment_records (account_id, livemode, id, created, doc, payment_reference, currency, amount, state) \
         SELECT * FROM {records} RETURNING 1), \
         a AS (INSERT INTO payment_attempt_records (account_id, livemode, id, payment_record, created, state, doc) \
         SELECT * FROM {attempts} RETURNING 1), \
         e AS (INSERT INTO events (account_id, livemode, id, created, type, record_id, head, tail) \
         SELECT * FROM {events} RETURNING account_id, livemode, id, type, created), \
         d AS (INSERT INTO webhook_deliveries (account_id, livemode, event_id, endpoint_id, state, attempts, next_attempt_at, created) \
         SELECT ev.account_id, ev.livemode, ev.id, w.id, 'pending', 0, {due}, ev.created FROM e ev JOIN webhook_endpoints w \
         ON w.account_id = ev.account_id AND w.livemode = ev.livemode AND {ENDPOINT_TAKES_EVENT} RETURNING 1), \
         t AS (INSERT INTO daily_totals (account_id, livemode, day, currency, shard, {columns}) SELECT * FROM {totals} \
         ON CONFLICT (account_id, livemode, day, currency, shard) DO UPDATE SET {sums} RETURNING 1), \
         k AS (INSERT INTO idempotency_keys (account_id, livemode, key, fingerprint, request_id, status, packed, created) \
         SELECT * FROM {keys} ON CONFLICT (account_id, livemode, key) DO UPDATE SET {KEY_TAKEN_OVER} \
         WHERE idempotency_keys.created < excluded.created - {retention} \
         RETURNING 1) \
         SELECT ARRAY[(SELECT count(*) FROM r), (SELECT count(*) FROM a), (SELECT count(*) FROM e), \
         (SELECT count(*) FROM d), (SELECT count(*) FROM t), payrec_key_saved(((SELECT count(*) FROM k) = {key_count})::int)]::bigint[]"
    )
    // The array's elements are evaluated in order: the totals' rows are locked before the keys.
});

/// Numbers a statement's parameters in the order they are written.
#[derive(Default)]
struct Placeholders {
    n: usize,
}

impl Placeholders {
    fn next(&mut self, sql_type: &str) -> String {
        self.n += 1;
        format!("${}::{sql_type}", self.n)
    }

    /// `unnest` of one array parameter per column.
    fn unnest(&mut self, types: &[&str]) -> String {
        let arrays: Vec<String> = types.iter().map(|t| self.next(&format!("{t}[]"))).collect();
        format!("unnest({})", arrays.join(", "))
    }
}

/// The column of `rows` that `f` picks.
fn column<R, T>(rows: &[(Tenant, R)], f: impl Fn(&Tenant, &R) -> T) -> Vec<T> {
    rows.iter().map(|(tenant, row)| f(tenant, row)).collect()
}

fn accounts<R>(rows: &[(Tenant, R)]) -> Vec<String> {
    column(rows, |t, _| t.account_id.clone())
}

fn modes<R>(rows: &[(Tenant, R)]) -> Vec<bool> {
    column(rows, |t, _| t.livemode)
}

/// Sends `rows` as one statement (its own transaction) on `conn`; how many webhook deliveries
/// it queued. `KeyTaken`: a key was live, and nothing was written.
pub(in crate::store::postgres) async fn run(conn: &mut PgConnection, rows: &NewRows) -> Result<u64, BatchError> {
    let (r, a, e) = (&rows.records[..], &rows.attempts[..], &rows.events[..]);
    let q = sqlx::query_scalar::<_, Vec<i64>>(&GROUP_INSERT)
        .bind(accounts(r))
        .bind(modes(r))
        .bind(column(r, |_, r| r.id.clone()))
        .bind(column(r, |_, r| r.created))
        .bind(column(r, |_, r| r.doc.clone()))
        .bind(column(r, |_, r| r.payment_reference.clone()))
        .bind(column(r, |_, r| r.currency.clone()))
        .bind(column(r, |_, r| r.amount))
        .bind(column(r, |_, r| r.state.clone()))
        .bind(accounts(a))
        .bind(modes(a))
        .bind(column(a, |_, a| a.id.clone()))
        .bind(column(a, |_, a| a.payment_record.clone()))
        .bind(column(a, |_, a| a.created))
        .bind(column(a, |_, a| a.state.clone()))
        .bind(column(a, |_, a| a.doc.clone()))
        .bind(accounts(e))
        .bind(modes(e))
        .bind(column(e, |_, e| e.id.clone()))
        .bind(column(e, |_, e| e.created))
        .bind(column(e, |_, e| e.kind.as_str().to_owned()))
        .bind(column(e, |_, e| e.record_id.clone()))
        .bind(column(e, |_, e| e.head.clone()))
        .bind(column(e, |_, e| e.tail.clone()))
        .bind(rows.due_ms);
    let q = bind_totals(q, &rows.totals);
    let k: Vec<_> = rows.keys.iter().collect();
    let q = q
        .bind(k.iter().map(|(key, _)| key.0.clone()).collect::<Vec<_>>())
        .bind(k.iter().map(|(key, _)| key.1).collect::<Vec<_>>())
        .bind(k.iter().map(|(key, _)| key.2.clone()).collect::<Vec<_>>())
        .bind(k.iter().map(|(_, row)| row.fingerprint.clone()).collect::<Vec<_>>())
        .bind(k.iter().map(|(_, row)| row.request_id.clone()).collect::<Vec<_>>())
        .bind(k.iter().map(|(_, row)| row.status).collect::<Vec<_>>())
        .bind(k.iter().map(|(_, row)| row.packed_body.clone()).collect::<Vec<_>>())
        .bind(k.iter().map(|(_, row)| row.created).collect::<Vec<_>>())
        .bind(rows.retention.unwrap_or(0))
        .bind(k.len() as i64);
    let counts = q.fetch_one(conn).await?;
    let expected = [r.len(), a.len(), e.len()];
    let inserted_as_expected = counts.len() == 6
        && counts[..3].iter().zip(expected).all(|(n, want)| *n as usize == want)
        && counts[4] as usize == rows.totals.len();
    if !inserted_as_expected {
        return Err(BatchError::Store(crate::store::StoreError::Database(format!(
            "a group's rows: {counts:?} inserted, {expected:?} and {} totals expected",
            rows.totals.len()
        ))));
    }
    Ok(counts[3] as u64)
}

type Scalar<'q> = sqlx::query::QueryScalar<'q, sqlx::Postgres, Vec<i64>, sqlx::postgres::PgArguments>;

/// Binds the totals' columns: the key's five, then each sum's.
fn bind_totals<'q>(q: Scalar<'q>, totals: &BTreeMap<TotalsKey, Totals>) -> Scalar<'q> {
    let keys: Vec<&TotalsKey> = totals.keys().collect();
    let sums: Vec<[i64; TOTALS_COLUMNS.len()]> = totals.values().map(Totals::values).collect();
    let mut q = q
        .bind(keys.iter().map(|k| k.0.clone()).collect::<Vec<_>>())
        .bind(keys.iter().map(|k| k.1).collect::<Vec<_>>())
        .bind(keys.iter().map(|k| k.2).collect::<Vec<_>>())
        .bind(keys.iter().map(|k| k.3.clone()).collect::<Vec<_>>())
        .bind(keys.iter().map(|k| k.4).collect::<Vec<_>>());
    for i in 0..TOTALS_COLUMNS.len() {
        q = q.bind(sums.iter().map(|v| v[i]).collect::<Vec<_>>());
    }
    q
}
