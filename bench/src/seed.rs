//! Seeding. One template payment is made through the API (report → failed → new attempt →
//! guaranteed: a record with two attempts), so its rows are exactly what the server writes.
//! Bulk seeding then copies its rows with direct SQL, in large multi-row INSERTs, replacing the
//! template's ids by derived ones (`ids`): same documents, same sizes, same indexes.
//! Idempotency keys are not copied: the server prunes them after 24 hours, so their table holds
//! one day of writes, not the history.

use std::time::Instant;

use rusqlite::types::Value as SqlValue;
use serde_json::Value;
use sqlx::{Connection, PgConnection, QueryBuilder, Row};

use super::client::{Conn, form};
use super::ids::{Object, derived_id, derived_reference};
use super::scenarios::report_form;
use super::server::Database;

/// Records per multi-row INSERT (two statements: records, then attempts); well under SQLite's 32766
/// bound parameters and PostgreSQL's 65535.
const RECORDS_PER_STATEMENT: u64 = 500;
/// Records per transaction.
const RECORDS_PER_TRANSACTION: u64 = 20_000;
const _: () = assert!(RECORDS_PER_TRANSACTION.is_multiple_of(RECORDS_PER_STATEMENT));
const _: () = assert!(RECORDS_PER_STATEMENT * 2 * 8 < 32_766);

/// A payment made through the API.
#[derive(Debug, Clone)]
pub struct Made {
    pub record: String,
}

fn json(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))
}

async fn post_ok(conn: &mut Conn, path: &str, body: String) -> Result<Value, String> {
    let reply = conn.post(path, body, None).await?;
    if !reply.is_success() {
        return Err(format!(
            "POST {path}: HTTP {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        ));
    }
    json(&reply.body)
}

/// One payment through the API: report, failed, new attempt, guaranteed.
pub async fn make_payment(conn: &mut Conn, rng: &mut rand::rngs::SmallRng) -> Result<Made, String> {
    let created = post_ok(conn, "/v1/payment_records/report_payment", report_form(rng)).await?;
    let text = |v: &Value, field: &str| v[field].as_str().map(str::to_owned).ok_or(format!("no {field}"));
    let record = text(&created, "id")?;
    let on = |call: &str| format!("/v1/payment_records/{record}/{call}");
    post_ok(
        conn,
        &on("report_payment_attempt_failed"),
        form(&[("failed_at", "1730211400")]),
    )
    .await?;
    post_ok(
        conn,
        &on("report_payment_attempt"),
        form(&[("initiated_at", "1730211400")]),
    )
    .await?;
    post_ok(
        conn,
        &on("report_payment_attempt_guaranteed"),
        form(&[("guaranteed_at", "1730211500")]),
    )
    .await?;
    Ok(Made { record })
}

/// The template's rows as stored.
#[derive(Debug)]
struct Rows {
    account_id: String,
    livemode: bool,
    record_id: String,
    created: i64,
    doc: String,
    /// The template's processor reference (each copy gets its own, `derived_reference`).
    reference: Option<String>,
    /// The record's filter columns: currency, requested amount, latest attempt state.
    currency: String,
    amount: i64,
    state: String,
    /// (id, created, state, doc) of each attempt, oldest first.
    attempts: Vec<(String, i64, String, String)>,
}

/// One copy: the record's (id, doc, reference) and each attempt's (id, created, state, doc).
type Copy = ((String, String, String), Vec<(String, i64, String, String)>);

impl Rows {
    fn copy(&self, salt: u64, index: u64) -> Copy {
        let record_id = derived_id(salt, index, Object::Record);
        let attempt_ids = [
            derived_id(salt, index, Object::FirstAttempt),
            derived_id(salt, index, Object::SecondAttempt),
        ];
        let reference = derived_reference(salt, index);
        let swap = |doc: &str| -> String {
            let mut doc = doc.replace(&self.record_id, &record_id);
            if let Some(old) = &self.reference {
                doc = doc.replace(old, &reference);
            }
            for ((old, ..), new) in self.attempts.iter().zip(&attempt_ids) {
                doc = doc.replace(old, new);
            }
            doc
        };
        let attempts = self
            .attempts
            .iter()
            .zip(&attempt_ids)
            .map(|((_, created, state, doc), id)| (id.clone(), *created, state.clone(), swap(doc)))
            .collect();
        ((record_id.clone(), swap(&self.doc), reference), attempts)
    }

    fn new(account_id: String, livemode: bool, record_id: &str, created: i64, doc: String) -> Rows {
        let parsed: Value = serde_json::from_str(&doc).expect("the template's document is JSON");
        let reference = parsed["details"]["processor_details"]["payment_reference"]
            .as_str()
            .map(str::to_owned);
        Rows {
            account_id,
            livemode,
            record_id: record_id.to_owned(),
            created,
            reference,
            currency: parsed["amount_requested"]["currency"]
                .as_str()
                .unwrap_or("usd")
                .to_owned(),
            amount: parsed["amount_requested"]["value"].as_i64().unwrap_or(0),
            state: parsed["latest_attempt_state"]["status"]
                .as_str()
                .unwrap_or("pending")
                .to_owned(),
            doc,
            attempts: Vec::new(),
        }
    }
}

/// Recomputes the seeded tenant's daily totals from its records, as the migration that
/// introduced them does (the copies bypass the write path that keeps them).
const REBUILD_TOTALS_SQLITE: &str = "DELETE FROM daily_totals;      INSERT INTO daily_totals SELECT account_id, livemode, currency, created / 86400, count(*), sum(amount),      sum(state = 'pending'), sum(CASE WHEN state = 'pending' THEN amount ELSE 0 END),      sum(state = 'guaranteed'), sum(CASE WHEN state = 'guaranteed' THEN amount ELSE 0 END),      sum(state = 'failed'), sum(CASE WHEN state = 'failed' THEN amount ELSE 0 END),      sum(state = 'canceled'), sum(CASE WHEN state = 'canceled' THEN amount ELSE 0 END),      sum(json_extract(doc, '$.amount_refunded') > 0), sum(json_extract(doc, '$.amount_refunded'))      FROM payment_records GROUP BY account_id, livemode, currency, created / 86400";
const REBUILD_TOTALS_PG: [&str; 2] = [
    "DELETE FROM daily_totals",
    "INSERT INTO daily_totals SELECT account_id, livemode, floor(created / 86400.0)::bigint, currency, 0,      count(*), sum(amount),      count(*) FILTER (WHERE state = 'pending'), coalesce(sum(amount) FILTER (WHERE state = 'pending'), 0),      count(*) FILTER (WHERE state = 'guaranteed'), coalesce(sum(amount) FILTER (WHERE state = 'guaranteed'), 0),      count(*) FILTER (WHERE state = 'failed'), coalesce(sum(amount) FILTER (WHERE state = 'failed'), 0),      count(*) FILTER (WHERE state = 'canceled'), coalesce(sum(amount) FILTER (WHERE state = 'canceled'), 0),      count(*) FILTER (WHERE ((doc::json) #>> '{amount_refunded}')::bigint > 0),      sum(((doc::json) #>> '{amount_refunded}')::bigint) FROM payment_records GROUP BY 1, 2, 3, 4",
];

/// What bulk seeding did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeedReport {
    pub records: u64,
    pub seconds: f64,
    /// Database size after seeding (SQLite: the file after a checkpoint; PostgreSQL: tables,
    /// indexes and TOAST of the schema).
    pub database_bytes: u64,
    pub bytes_per_record: f64,
}

/// SQLite page cache of the seeding process, in KiB: large, so random inserts into a big
/// B-tree stay fast. It lives and dies with the child process, never in the measured one.
const SEED_SQLITE_CACHE_KIB: i64 = 1024 * 1024;

/// Copies the template `count` times into the database at `url` (the server must not be
/// running). Runs in a child process (`--seed-copies-of`), so the seeding's buffers and page
/// cache never count in the RSS the bench reports.
pub async fn copy_rows(url: &str, template: &str, count: u64, salt: u64, keys: u64) -> Result<(), String> {
    let template = Made {
        record: template.to_owned(),
    };
    if url.starts_with("sqlite:") {
        let path = payrec::store::sqlite::path_of(url).map_err(|e| e.to_string())?;
        let mut conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
        // The seed need not survive a power cut: no fsync while copying.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF; \
             PRAGMA cache_size = -{SEED_SQLITE_CACHE_KIB};"
        ))
        .map_err(|e| e.to_string())?;
        sqlite_copies(&mut conn, &template, count, salt).map_err(|e| e.to_string())?;
        sqlite_keys(&mut conn, &template, keys, salt).map_err(|e| e.to_string())?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(|e| e.to_string())
    } else {
        if keys > 0 {
            return Err("--seed-keys seeds SQLite only".into());
        }
        let mut conn = PgConnection::connect(url).await.map_err(|e| e.to_string())?;
        pg_copies(&mut conn, &template, count, salt)
            .await
            .map_err(|e| e.to_string())?;
        // Autovacuum would analyze the new rows soon; doing it now makes plans repeatable.
        sqlx::query("ANALYZE payment_records, payment_attempt_records")
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        conn.close().await.map_err(|e| e.to_string())
    }
}

/// Seeds `count` copies of `template` through a child process, then measures the database.
pub async fn bulk(db: &Database, template: &Made, count: u64, salt: u64, keys: u64) -> Result<SeedReport, String> {
    let started = Instant::now();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let status = tokio::process::Command::new(exe)
        .args(["--database-url", db.url(), "--seed-copies-of", &template.record])
        .args(["--seed", &count.to_string(), "--seed-salt", &salt.to_string()])
        .args(["--seed-keys", &keys.to_string()])
        .status()
        .await
        .map_err(|e| format!("cannot start the seeding process: {e}"))?;
    if !status.success() {
        return Err(format!("seeding failed: {status}"));
    }
    let seconds = started.elapsed().as_secs_f64();
    let database_bytes = match db {
        Database::Sqlite { path, .. } => std::fs::metadata(path).map_err(|e| e.to_string())?.len(),
        Database::Postgres { admin_url, schema, .. } => {
            let mut conn = PgConnection::connect(admin_url).await.map_err(|e| e.to_string())?;
            let bytes: i64 = sqlx::query_scalar(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
            )
            .bind(schema)
            .fetch_one(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
            bytes as u64
        }
    };
    let records = count + 1;
    Ok(SeedReport {
        records,
        seconds,
        database_bytes,
        bytes_per_record: database_bytes as f64 / records as f64,
    })
}

fn progress(done: u64, count: u64, started: Instant) {
    if done.is_multiple_of(100_000) || done == count {
        eprintln!(
            "  seeded {done}/{count} records ({:.0} records/s)",
            done as f64 / started.elapsed().as_secs_f64()
        );
    }
}

/// Keys per multi-row INSERT of `sqlite_keys` (8 columns each).
const KEYS_PER_STATEMENT: u64 = 2_000;
/// Keys per transaction.
const KEYS_PER_TRANSACTION: u64 = 100_000;
/// Bytes of each seeded key's saved body: a typical report_payment answer.
const SAVED_BODY_BYTES: usize = 1_500;
const _: () = assert!(KEYS_PER_TRANSACTION.is_multiple_of(KEYS_PER_STATEMENT));
const _: () = assert!(KEYS_PER_STATEMENT * 8 < 32_766);

/// `count` live idempotency keys of the template's tenant, created evenly over the last 24 hours,
/// each saving the template record's document as its body (the size of a report's answer).
fn sqlite_keys(conn: &mut rusqlite::Connection, t: &Made, count: u64, salt: u64) -> rusqlite::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let (account_id, livemode, doc): (String, bool, String) = conn.query_row(
        "SELECT account_id, livemode, doc FROM payment_records WHERE id = ?1",
        [&t.record],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    // A report's answer is the rendered record, larger than its stored document.
    let body = format!("{doc:<SAVED_BODY_BYTES$}");
    let now = payrec::clock::unix_now();
    const DAY_SECONDS: u64 = 24 * 60 * 60;
    let started = Instant::now();
    let mut done = 0;
    while done < count {
        let tx = conn.transaction()?;
        let end = (done + KEYS_PER_TRANSACTION).min(count);
        while done < end {
            let n = (KEYS_PER_STATEMENT).min(end - done);
            let mut values: Vec<SqlValue> = Vec::with_capacity(n as usize * 8);
            for i in done..done + n {
                // Oldest first, as the server appends them.
                let created = now - (DAY_SECONDS - 1 - i * DAY_SECONDS / count) as i64;
                values.extend([
                    SqlValue::Text(account_id.clone()),
                    SqlValue::Integer(i64::from(livemode)),
                    SqlValue::Text(format!("seed-{salt:x}-{i}")),
                    SqlValue::Text("0".repeat(64)),
                    SqlValue::Text(format!("req_seed{i}")),
                    SqlValue::Integer(200),
                    SqlValue::Text(body.clone()),
                    SqlValue::Integer(created),
                ]);
            }
            let sql = multi_row_insert(
                "idempotency_keys",
                "account_id, livemode, key, fingerprint, request_id, status, body, created",
                8,
                n as usize,
            );
            tx.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(values))?;
            done += n;
            if done.is_multiple_of(1_000_000) || done == count {
                eprintln!(
                    "  seeded {done}/{count} idempotency keys ({:.0} keys/s)",
                    done as f64 / started.elapsed().as_secs_f64()
                );
            }
        }
        tx.commit()?;
    }
    conn.execute_batch(REBUILD_TOTALS_SQLITE)
}

/// `INSERT INTO <table> (<columns>) VALUES (?, …), (?, …), …` for `rows` rows.
fn multi_row_insert(table: &str, columns: &str, per_row: usize, rows: usize) -> String {
    let row = format!("({})", vec!["?"; per_row].join(", "));
    format!("INSERT INTO {table} ({columns}) VALUES {}", vec![row; rows].join(", "))
}

fn sqlite_copies(conn: &mut rusqlite::Connection, t: &Made, count: u64, salt: u64) -> rusqlite::Result<()> {
    let (account_id, livemode, created, doc): (String, bool, i64, String) = conn.query_row(
        "SELECT account_id, livemode, created, doc FROM payment_records WHERE id = ?1",
        [&t.record],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let attempts = conn
        .prepare("SELECT id, created, state, doc FROM payment_attempt_records WHERE payment_record = ?1 ORDER BY seq")?
        .query_map([&t.record], |a| Ok((a.get(0)?, a.get(1)?, a.get(2)?, a.get(3)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let rows = Rows {
        attempts,
        ..Rows::new(account_id, livemode, &t.record, created, doc)
    };
    let seq_base: i64 = conn.query_row("SELECT MAX(seq) + 1 FROM payment_attempt_records", [], |r| r.get(0))?;
    let started = Instant::now();
    let mut done = 0;
    while done < count {
        let tx = conn.transaction()?;
        let end = (done + RECORDS_PER_TRANSACTION).min(count);
        while done < end {
            let batch: Vec<(u64, Copy)> = (done..(done + RECORDS_PER_STATEMENT).min(end))
                .map(|i| (i, rows.copy(salt, i)))
                .collect();
            let seq = |i: u64, k: u64| seq_base + (3 * i + k) as i64;
            let mut values: Vec<SqlValue> = Vec::with_capacity(batch.len() * 10);
            for (i, ((id, doc, reference), _)) in &batch {
                values.extend([
                    SqlValue::Text(rows.account_id.clone()),
                    SqlValue::Integer(i64::from(rows.livemode)),
                    SqlValue::Text(id.clone()),
                    SqlValue::Integer(rows.created),
                    SqlValue::Integer(seq(*i, 0)),
                    SqlValue::Text(doc.clone()),
                    SqlValue::Text(reference.clone()),
                    SqlValue::Text(rows.currency.clone()),
                    SqlValue::Integer(rows.amount),
                    SqlValue::Text(rows.state.clone()),
                ]);
            }
            let sql = multi_row_insert(
                "payment_records",
                "account_id, livemode, id, created, seq, doc, payment_reference, currency, amount, state",
                10,
                batch.len(),
            );
            tx.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(values))?;
            let mut values: Vec<SqlValue> = Vec::new();
            let mut attempt_rows = 0;
            for (i, (record, attempts)) in &batch {
                for (k, (id, created, state, doc)) in attempts.iter().enumerate() {
                    values.extend([
                        SqlValue::Text(rows.account_id.clone()),
                        SqlValue::Integer(i64::from(rows.livemode)),
                        SqlValue::Text(id.clone()),
                        SqlValue::Text(record.0.clone()),
                        SqlValue::Integer(*created),
                        SqlValue::Integer(seq(*i, 1 + k as u64)),
                        SqlValue::Text(state.clone()),
                        SqlValue::Text(doc.clone()),
                    ]);
                    attempt_rows += 1;
                }
            }
            let sql = multi_row_insert(
                "payment_attempt_records",
                "account_id, livemode, id, payment_record, created, seq, state, doc",
                8,
                attempt_rows,
            );
            tx.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(values))?;
            done += batch.len() as u64;
            progress(done, count, started);
        }
        tx.commit()?;
    }
    conn.execute_batch(REBUILD_TOTALS_SQLITE)
}

async fn pg_copies(conn: &mut PgConnection, t: &Made, count: u64, salt: u64) -> Result<(), sqlx::Error> {
    let record = sqlx::query("SELECT account_id, livemode, created, doc FROM payment_records WHERE id = $1")
        .bind(&t.record)
        .fetch_one(&mut *conn)
        .await?;
    let attempts = sqlx::query(
        "SELECT id, created, state, doc FROM payment_attempt_records WHERE payment_record = $1 ORDER BY seq",
    )
    .bind(&t.record)
    .fetch_all(&mut *conn)
    .await?;
    let rows = Rows {
        attempts: attempts
            .iter()
            .map(|a| (a.get("id"), a.get("created"), a.get("state"), a.get("doc")))
            .collect(),
        ..Rows::new(
            record.get("account_id"),
            record.get("livemode"),
            &t.record,
            record.get("created"),
            record.get("doc"),
        )
    };
    let started = Instant::now();
    let mut done = 0;
    while done < count {
        let mut tx = conn.begin().await?;
        let end = (done + RECORDS_PER_TRANSACTION).min(count);
        while done < end {
            let batch: Vec<Copy> = (done..(done + RECORDS_PER_STATEMENT).min(end))
                .map(|i| rows.copy(salt, i))
                .collect();
            // `seq` is a BIGSERIAL: the database numbers the rows, as for the server's inserts.
            let mut q = QueryBuilder::new(
                "INSERT INTO payment_records (account_id, livemode, id, created, doc, payment_reference, currency, amount, state) ",
            );
            q.push_values(&batch, |mut b, ((id, doc, reference), _)| {
                b.push_bind(&rows.account_id)
                    .push_bind(rows.livemode)
                    .push_bind(id)
                    .push_bind(rows.created)
                    .push_bind(doc)
                    .push_bind(reference)
                    .push_bind(&rows.currency)
                    .push_bind(rows.amount)
                    .push_bind(&rows.state);
            });
            q.build().execute(&mut *tx).await?;
            let attempts = batch
                .iter()
                .flat_map(|(record, attempts)| attempts.iter().map(move |a| (&record.0, a)));
            let mut q = QueryBuilder::new(
                "INSERT INTO payment_attempt_records (account_id, livemode, id, payment_record, created, state, doc) ",
            );
            q.push_values(attempts, |mut b, (record_id, (id, created, state, doc))| {
                b.push_bind(&rows.account_id)
                    .push_bind(rows.livemode)
                    .push_bind(id)
                    .push_bind(record_id)
                    .push_bind(*created)
                    .push_bind(state)
                    .push_bind(doc);
            });
            q.build().execute(&mut *tx).await?;
            done += batch.len() as u64;
            progress(done, count, started);
        }
        tx.commit().await?;
    }
    for sql in REBUILD_TOTALS_PG {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    Ok(())
}
