//! Write amplification (`--scenario amplification`): what the database writes for one call.
//! On one connection, `--seed` keyed report_payment calls (the `report` scenario's body), then
//! as many keyed report_refund calls on guaranteed payments made beforehand (not measured).
//! Around each phase the database's own counters are read:
//!
//! - PostgreSQL: rows inserted and updated per table (`pg_stat_user_tables`, after the
//!   backends have flushed their statistics), index entries (rows inserted, and rows updated
//!   other than HOT, times the table's indexes), WAL bytes (`pg_current_wal_lsn`, the whole
//!   cluster), and the CPU time of every `postgres` process.
//! - SQLite: rows inserted per table (net, by count; SQLite keeps no update counts), index
//!   entries of those rows, WAL frames appended (a read transaction held open by this process
//!   keeps the WAL from being restarted or copied past it, so its frame count only grows), and
//!   the CPU time of payrec's writer thread.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde::Serialize;
use sqlx::{Connection, Row};

use super::client::{Conn, form};
use super::scenarios::{report_form, uuid};
use super::server::Database;

/// How long PostgreSQL's backends may hold their statistics before reporting them (PG 15
/// flushes an idle backend's pending counts within 10 s).
const PG_STATS_FLUSH_WAIT: Duration = Duration::from_secs(11);
/// Each WAL frame is a page and a 24-byte header.
const WAL_FRAME_HEADER_BYTES: u64 = 24;
/// Linux reports CPU times in clock ticks of 1/100 s (USER_HZ) on every architecture.
const USER_HZ: f64 = 100.0;

/// What one call cost, averaged over the phase.
#[derive(Debug, Clone, Serialize)]
pub struct CallCost {
    pub call: &'static str,
    pub calls: u64,
    pub rows_inserted: f64,
    /// None on SQLite (it keeps no count).
    pub rows_updated: Option<f64>,
    pub index_entries: f64,
    pub wal_bytes: f64,
    pub writer_cpu_us: f64,
    /// Rows inserted (and updated, where known) per table and call.
    pub tables: BTreeMap<String, (f64, Option<f64>)>,
}

/// A database's counters at one moment.
#[derive(Debug, Default, Clone)]
struct Counters {
    /// Per table: rows inserted, rows updated (None on SQLite), updates that touched indexes.
    tables: BTreeMap<String, (i64, Option<i64>, i64)>,
    indexes: BTreeMap<String, i64>,
    wal_bytes: u64,
    cpu_ticks: u64,
}

/// Runs both phases; `calls` of each.
pub async fn run(conn: &mut Conn, database: &Database, calls: u64) -> Result<Vec<CallCost>, String> {
    let mut rng = SmallRng::from_os_rng();
    let mut guaranteed = Vec::with_capacity(calls as usize);
    for _ in 0..calls {
        guaranteed.push(guaranteed_payment(conn, &mut rng).await?);
    }
    let pin = Pin::hold(database)?;
    let before = counters(database, &pin).await?;
    for _ in 0..calls {
        let key = uuid(&mut rng);
        let reply = conn
            .post("/v1/payment_records/report_payment", report_form(&mut rng), Some(&key))
            .await?;
        ok(reply.status, "report_payment")?;
    }
    let middle = counters(database, &pin).await?;
    for record in &guaranteed {
        let reference = format!("re_{}", &uuid(&mut rng)[..23]);
        let body = form(&[
            ("outcome", "refunded"),
            ("processor_details[type]", "custom"),
            ("processor_details[custom][refund_reference]", &reference),
        ]);
        let key = uuid(&mut rng);
        let path = format!("/v1/payment_records/{record}/report_refund");
        ok(conn.post(&path, body, Some(&key)).await?.status, "report_refund")?;
    }
    let after = counters(database, &pin).await?;
    drop(pin);
    Ok(vec![
        cost("report_payment (keyed)", calls, &before, &middle),
        cost("report_refund (keyed)", calls, &middle, &after),
    ])
}

fn ok(status: u16, call: &str) -> Result<(), String> {
    match status {
        200 => Ok(()),
        other => Err(format!("{call} answered {other}")),
    }
}

/// A payment reported with outcome=guaranteed; its record's id.
async fn guaranteed_payment(conn: &mut Conn, rng: &mut SmallRng) -> Result<String, String> {
    let body = format!(
        "{}&outcome=guaranteed&guaranteed[guaranteed_at]=1730211400",
        report_form(rng)
    );
    let reply = conn
        .post("/v1/payment_records/report_payment", body, Some(&uuid(rng)))
        .await?;
    ok(reply.status, "report_payment")?;
    reply.object_id("pr_").ok_or("no record id in the answer".into())
}

fn cost(call: &'static str, calls: u64, before: &Counters, after: &Counters) -> CallCost {
    let n = calls.max(1) as f64;
    let mut tables = BTreeMap::new();
    let (mut inserted, mut updated, mut entries) = (0i64, None::<i64>, 0i64);
    for (table, (ins, upd, idx_upd)) in &after.tables {
        let (ins0, upd0, idx_upd0) = before.tables.get(table).cloned().unwrap_or((0, upd.map(|_| 0), 0));
        let ins = ins - ins0;
        let upd = upd.zip(upd0).map(|(a, b)| a - b);
        let indexes = after.indexes.get(table).copied().unwrap_or(0);
        inserted += ins;
        if let Some(u) = upd {
            *updated.get_or_insert(0) += u;
        }
        entries += (ins + (idx_upd - idx_upd0)) * indexes;
        if ins != 0 || upd.is_some_and(|u| u != 0) {
            tables.insert(table.clone(), (ins as f64 / n, upd.map(|u| u as f64 / n)));
        }
    }
    CallCost {
        call,
        calls,
        rows_inserted: inserted as f64 / n,
        rows_updated: updated.map(|u| u as f64 / n),
        index_entries: entries as f64 / n,
        wal_bytes: after.wal_bytes.saturating_sub(before.wal_bytes) as f64 / n,
        writer_cpu_us: after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 * 1e6 / USER_HZ / n,
        tables,
    }
}

/// SQLite: a read transaction held open for the whole measurement, so that the WAL only grows.
struct Pin {
    reader: Option<rusqlite::Connection>,
}

impl Pin {
    fn hold(database: &Database) -> Result<Pin, String> {
        let Database::Sqlite { path, .. } = database else {
            return Ok(Pin { reader: None });
        };
        let reader = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM accounts;")
            .map_err(|e| format!("cannot hold a read transaction: {e}"))?;
        Ok(Pin { reader: Some(reader) })
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        if let Some(reader) = &self.reader {
            let _ = reader.execute_batch("COMMIT");
        }
    }
}

async fn counters(database: &Database, pin: &Pin) -> Result<Counters, String> {
    match database {
        Database::Sqlite { path, .. } => {
            debug_assert!(pin.reader.is_some(), "the WAL is pinned");
            sqlite_counters(path)
        }
        Database::Postgres { admin_url, schema, .. } => pg_counters(admin_url, schema).await,
    }
}

fn sqlite_counters(path: &std::path::Path) -> Result<Counters, String> {
    let e = |e: rusqlite::Error| e.to_string();
    let conn = rusqlite::Connection::open(path).map_err(e)?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).map_err(e)?;
    // A passive checkpoint from here copies nothing past the pinned reader; it answers the
    // frames in the WAL.
    let frames: i64 = conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
        .map_err(e)?;
    let mut tables = BTreeMap::new();
    let mut indexes = BTreeMap::new();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .map_err(e)?
        .query_map([], |r| r.get(0))
        .map_err(e)?
        .collect::<Result<_, _>>()
        .map_err(e)?;
    for table in names {
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| r.get(0))
            .map_err(e)?;
        let count: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1",
                [&table],
                |r| r.get(0),
            )
            .map_err(e)?;
        // The table's own B-tree (its rowid or, WITHOUT ROWID, its primary key) is one entry a
        // row, besides its indexes.
        indexes.insert(table.clone(), count + 1);
        tables.insert(table, (rows, None, 0));
    }
    Ok(Counters {
        tables,
        indexes,
        wal_bytes: frames.max(0) as u64 * (page_size as u64 + WAL_FRAME_HEADER_BYTES),
        cpu_ticks: writer_thread_ticks(),
    })
}

async fn pg_counters(admin_url: &str, schema: &str) -> Result<Counters, String> {
    tokio::time::sleep(PG_STATS_FLUSH_WAIT).await;
    let e = |e: sqlx::Error| e.to_string();
    let mut conn = sqlx::PgConnection::connect(admin_url).await.map_err(e)?;
    let rows = sqlx::query(
        "SELECT t.relname::text AS name, t.n_tup_ins, t.n_tup_upd, t.n_tup_upd - t.n_tup_hot_upd AS indexed, \
         (SELECT count(*) FROM pg_index i WHERE i.indrelid = t.relid) AS indexes \
         FROM pg_stat_user_tables t WHERE t.schemaname = $1",
    )
    .bind(schema)
    .fetch_all(&mut conn)
    .await
    .map_err(e)?;
    let mut tables = BTreeMap::new();
    let mut indexes = BTreeMap::new();
    for row in rows {
        let name: String = row.get("name");
        tables.insert(
            name.clone(),
            (row.get("n_tup_ins"), Some(row.get("n_tup_upd")), row.get("indexed")),
        );
        // The heap counts as one entry per row, besides its indexes.
        indexes.insert(name, row.get::<i64, _>("indexes") + 1);
    }
    let lsn: i64 = sqlx::query_scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")
        .fetch_one(&mut conn)
        .await
        .map_err(e)?;
    Ok(Counters {
        tables,
        indexes,
        wal_bytes: lsn as u64,
        cpu_ticks: postgres_ticks(),
    })
}

/// utime + stime of a /proc stat line (fields 14 and 15, after the parenthesised name).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// CPU time of payrec's SQLite writer thread, in this process.
fn writer_thread_ticks() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim().starts_with("payrec-sqlite-w"))
        })
        .filter_map(|t| cpu_ticks(&std::fs::read_to_string(t.path().join("stat")).ok()?))
        .sum()
}

/// CPU time of every `postgres` process on this machine (the server is local).
fn postgres_ticks() -> u64 {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return 0;
    };
    procs
        .flatten()
        .filter(|p| p.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter(|p| std::fs::read_to_string(p.path().join("comm")).is_ok_and(|c| c.trim() == "postgres"))
        .filter_map(|p| cpu_ticks(&std::fs::read_to_string(p.path().join("stat")).ok()?))
        .sum()
}

pub fn print(costs: &[CallCost], backend: &str) {
    println!(
        "{:<24} {:>7} {:>9} {:>9} {:>9} {:>10} {:>11}",
        "call", "calls", "rows ins", "rows upd", "idx ent", "WAL bytes", "writer CPU"
    );
    for c in costs {
        let updated = c.rows_updated.map_or("-".into(), |u| format!("{u:.2}"));
        println!(
            "{:<24} {:>7} {:>9.2} {:>9} {:>9.2} {:>10.0} {:>8.0} µs",
            c.call, c.calls, c.rows_inserted, updated, c.index_entries, c.wal_bytes, c.writer_cpu_us
        );
        for (table, (ins, upd)) in &c.tables {
            let upd = upd.map_or(String::new(), |u| format!(", {u:.2} updated"));
            println!("  {table}: {ins:.2} inserted{upd}");
        }
    }
    let cpu = if backend == "postgres" {
        "every postgres process"
    } else {
        "payrec's SQLite writer thread"
    };
    println!("writer CPU: {cpu}, per call; index entries: of inserted and (PostgreSQL) non-HOT updated rows");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_utime_plus_stime_whatever_the_name_holds() {
        let stat = "4242 (payrec (w) x) S 1 2 3 4 5 6 7 8 9 10 111 222 13 14 15";
        assert_eq!(cpu_ticks(stat), Some(333));
        assert_eq!(cpu_ticks("1 (x) S"), None);
    }

    #[test]
    fn a_calls_cost_is_the_counters_difference_per_call() {
        let mut before = Counters::default();
        before.tables.insert("events".into(), (10, Some(0), 0));
        let mut after = before.clone();
        after.tables.insert("events".into(), (30, Some(10), 4));
        after.indexes.insert("events".into(), 3);
        after.wal_bytes = 1000;
        after.cpu_ticks = 10;
        let cost = cost("report", 10, &before, &after);
        assert_eq!(cost.rows_inserted, 2.0);
        assert_eq!(cost.rows_updated, Some(1.0));
        assert_eq!(cost.index_entries, (20.0 + 4.0) * 3.0 / 10.0);
        assert_eq!(cost.wal_bytes, 100.0);
        assert_eq!(cost.writer_cpu_us, 10_000.0);
    }
}
