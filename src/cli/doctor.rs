//! `payrec doctor`: checks a deployment without changing it, and says how to fix what is wrong.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres};

use crate::cli::{Failure, redact_url};
use crate::store::sqlite::migrate::MIGRATIONS;

/// Below this much free disk next to the SQLite file, doctor warns.
pub const DISK_FREE_WARN_BYTES: u64 = 1024 * 1024 * 1024;
/// How long doctor waits for the database.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One finding: fine, or a problem with its fix.
#[derive(Debug)]
struct Finding {
    ok: bool,
    what: String,
    fix: Option<String>,
}

impl Finding {
    fn ok(what: impl Into<String>) -> Self {
        Finding {
            ok: true,
            what: what.into(),
            fix: None,
        }
    }
    fn problem(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Finding {
            ok: false,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }
}

enum Db {
    Sqlite(Connection, PathBuf),
    Postgres(Pool<Postgres>),
}

/// Runs every check, prints them, and fails if any found a problem.
pub async fn doctor(database_url: &str) -> Result<(), Failure> {
    println!("payrec doctor: {}", redact_url(database_url));
    let mut findings = Vec::new();
    match connect(database_url).await {
        Ok(db) => {
            findings.push(Finding::ok("the database answers"));
            findings.push(migrations(&db).await);
            findings.extend(keys(&db).await);
            if let Db::Sqlite(_, path) = &db {
                findings.push(disk_space(path));
            }
        }
        Err(problem) => findings.push(problem),
    }
    let problems = findings.iter().filter(|f| !f.ok).count();
    for f in &findings {
        println!("  [{}] {}", if f.ok { " ok " } else { "FAIL" }, f.what);
        if let Some(fix) = &f.fix {
            println!("         fix: {fix}");
        }
    }
    if problems == 0 {
        println!("everything looks right");
        Ok(())
    } else {
        Err(Failure(format!("{problems} problem(s) found")))
    }
}

async fn connect(url: &str) -> Result<Db, Finding> {
    if url.starts_with("sqlite:") {
        let path = crate::store::sqlite::path_of(url).map_err(|e| {
            Finding::problem(
                format!("DATABASE_URL is not a valid SQLite URL: {e}"),
                "use sqlite://PATH",
            )
        })?;
        if !path.exists() {
            return Err(Finding::problem(
                format!("the SQLite file {} does not exist", path.display()),
                "run `payrec migrate` (or `payrec serve`) with this DATABASE_URL to create it",
            ));
        }
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|conn| conn.busy_timeout(CONNECT_TIMEOUT).map(|()| conn))
            .map_err(|e| {
                Finding::problem(
                    format!("cannot open {}: {e}", path.display()),
                    "check the file's permissions",
                )
            })?;
        return Ok(Db::Sqlite(conn, path));
    }
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            Finding::problem(
                format!("DATABASE_URL is not a valid PostgreSQL URL: {e}"),
                "use postgres://USER@HOST/DB",
            )
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| {
                Finding::problem(
                    format!("PostgreSQL does not answer: {e}"),
                    "check that the server runs, and the host, port, user and database in DATABASE_URL",
                )
            })?;
        return Ok(Db::Postgres(pool));
    }
    Err(Finding::problem(
        format!("unsupported DATABASE_URL {}", redact_url(url)),
        "use sqlite://PATH (embedded) or postgres://USER@HOST/DB",
    ))
}

async fn migrations(db: &Db) -> Finding {
    let (applied, known) = match db {
        Db::Sqlite(conn, _) => (
            conn.query_row(APPLIED_COUNT, [], |r| r.get::<_, i64>(0)).ok(),
            MIGRATIONS.len(),
        ),
        Db::Postgres(pool) => (
            sqlx::query_scalar(APPLIED_COUNT).fetch_one(pool).await.ok(),
            crate::store::postgres::MIGRATOR.iter().count(),
        ),
    };
    match applied {
        Some(n) if n as usize >= known => Finding::ok(format!("migrations are current ({n} of {known})")),
        Some(n) => Finding::problem(format!("{n} of {known} migrations applied"), "run `payrec migrate`"),
        None => Finding::problem("the database has no payrec schema yet", "run `payrec migrate`"),
    }
}

const APPLIED_COUNT: &str = "SELECT COUNT(*) FROM _sqlx_migrations WHERE success";

const KEYS_BY_ACCOUNT: &str = "SELECT a.id, \
     (SELECT COUNT(*) FROM api_keys k WHERE k.account_id = a.id AND k.revoked_at IS NULL) \
     FROM accounts a ORDER BY a.id";

async fn keys(db: &Db) -> Vec<Finding> {
    let rows: Result<Vec<(String, i64)>, String> = match db {
        Db::Sqlite(conn, _) => conn
            .prepare(KEYS_BY_ACCOUNT)
            .and_then(|mut stmt| stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .map_err(|e| e.to_string()),
        Db::Postgres(pool) => sqlx::query_as(KEYS_BY_ACCOUNT)
            .fetch_all(pool)
            .await
            .map_err(|e| e.to_string()),
    };
    let Ok(rows) = rows else {
        return vec![Finding::problem(
            "cannot read accounts and keys",
            "run `payrec migrate`",
        )];
    };
    if rows.is_empty() {
        return vec![Finding::problem(
            "no account exists",
            "start `payrec serve` once (it creates an account and prints its keys) or run `payrec keys create`",
        )];
    }
    rows.into_iter()
        .map(|(account, n)| match n {
            0 => Finding::problem(
                format!("account {account} has no active key"),
                format!("run `payrec keys create --account {account}`"),
            ),
            n => Finding::ok(format!("account {account} has {n} active key(s)")),
        })
        .collect()
}

fn disk_space(path: &std::path::Path) -> Finding {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    match fs4::available_space(dir) {
        Ok(free) if free >= DISK_FREE_WARN_BYTES => {
            Finding::ok(format!("{} MiB free next to the database", free / (1024 * 1024)))
        }
        Ok(free) => Finding::problem(
            format!("only {} MiB free next to the database", free / (1024 * 1024)),
            "free disk space or move the database: SQLite needs room for its WAL and for VACUUM",
        ),
        Err(e) => Finding::problem(
            format!("cannot read free disk space: {e}"),
            "check the directory exists",
        ),
    }
}
