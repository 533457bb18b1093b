//! The soak: the mixed load (keyed report_payment, then a retrieve and a list of the new record)
//! at peak for --soak-minutes, one measured window per minute, each followed by the sizes that
//! must stay bounded: the WAL, the database and this process's memory.

use std::sync::Arc;

use serde::Serialize;
use sqlx::Connection;

use super::args::{Args, Scenario};
use super::client::Target;
use super::ids::RecordIds;
use super::load;
use super::server::Database;
use super::stats::rss_mb;

/// Seconds in one row of the soak's report.
const MINUTE_SECONDS: u64 = 60;
const MIB: f64 = 1024.0 * 1024.0;

/// One minute of the soak.
#[derive(Debug, Clone, Serialize)]
pub struct Minute {
    pub minute: u64,
    pub throughput_rps: f64,
    pub p99_ms: f64,
    pub errors: u64,
    /// Keyed reports in the minute (one live idempotency key each).
    pub reports: u64,
    pub wal_mb: Option<f64>,
    pub database_mb: Option<f64>,
    /// VmRSS of this process: the server and the load generator (None with --url).
    pub rss_mb: Option<f64>,
}

/// (WAL, database) sizes in MiB: SQLite's files; PostgreSQL's pg_wal directory and the
/// schema's tables and indexes.
async fn sizes(database: Option<&Database>) -> (Option<f64>, Option<f64>) {
    let file = |path: &std::path::Path, suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        std::fs::metadata(name).ok().map(|m| m.len() as f64 / MIB)
    };
    match database {
        Some(Database::Sqlite { path, .. }) => (file(path, "-wal"), file(path, "")),
        Some(Database::Postgres { admin_url, schema, .. }) => {
            let read = async {
                let mut conn = sqlx::PgConnection::connect(admin_url).await?;
                let wal: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(size), 0)::BIGINT FROM pg_ls_waldir()")
                    .fetch_one(&mut conn)
                    .await?;
                let db: i64 = sqlx::query_scalar(
                    "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
                )
                .bind(schema)
                .fetch_one(&mut conn)
                .await?;
                Ok::<_, sqlx::Error>((wal as f64 / MIB, db as f64 / MIB))
            };
            match read.await {
                Ok((wal, db)) => (Some(wal), Some(db)),
                Err(_) => (None, None),
            }
        }
        None => (None, None),
    }
}

/// Runs the soak; prints one line per minute on stderr as it goes.
pub async fn run(
    args: &Args,
    target: &Target,
    ids: &Arc<RecordIds>,
    database: Option<&Database>,
    in_process: bool,
) -> Result<Vec<Minute>, String> {
    let mut minute_args = args.clone();
    minute_args.warmup = 0;
    minute_args.duration = MINUTE_SECONDS;
    let mut minutes = Vec::new();
    for minute in 1..=args.soak_minutes {
        let result = load::run(Scenario::Mixed, target, ids, &minute_args, in_process).await?;
        let (wal_mb, database_mb) = sizes(database).await;
        let row = Minute {
            minute,
            throughput_rps: result.throughput_rps,
            p99_ms: result.p99_ms,
            errors: result.errors,
            reports: result.steps.first().map_or(0, |s| s.requests),
            wal_mb,
            database_mb,
            rss_mb: if in_process { rss_mb().map(|(rss, _)| rss) } else { None },
        };
        eprintln!("  {}", line(&row));
        minutes.push(row);
    }
    Ok(minutes)
}

fn mb(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.1}"))
}

fn line(m: &Minute) -> String {
    format!(
        "{:>6} {:>10.0} {:>8.2} {:>7} {:>9} {:>9} {:>11} {:>8}",
        m.minute,
        m.throughput_rps,
        m.p99_ms,
        m.errors,
        m.reports,
        mb(m.wal_mb),
        mb(m.database_mb),
        mb(m.rss_mb)
    )
}

/// The soak's table, and the last minute's throughput against the first's.
pub fn print(minutes: &[Minute]) {
    println!(
        "{:>6} {:>10} {:>8} {:>7} {:>9} {:>9} {:>11} {:>8}",
        "minute", "req/s", "p99 ms", "errors", "reports", "WAL MB", "database MB", "RSS MB"
    );
    for m in minutes {
        println!("{}", line(m));
    }
    if let (Some(first), Some(last)) = (minutes.first(), minutes.last()) {
        let largest_wal = minutes.iter().filter_map(|m| m.wal_mb).fold(0.0, f64::max);
        println!(
            "last minute / first minute throughput: {:.3}; largest WAL seen at a minute's end: {largest_wal:.1} MB",
            last.throughput_rps / first.throughput_rps
        );
    }
}
