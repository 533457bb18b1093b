//! `payrec doctor`: checks a deployment without changing it, and says how to fix what is wrong.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Pool, Postgres, Sqlite};

use crate::cli::{Failure, redact_url};

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
    Sqlite(Pool<Sqlite>, PathBuf),
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
        let options = SqliteConnectOptions::from_str(url).map_err(|e| {
            Finding::problem(
                format!("DATABASE_URL is not a valid SQLite URL: {e}"),
                "use sqlite://PATH",
            )
        })?;
        let path = options.get_filename().to_path_buf();
        if !path.exists() {
            return Err(Finding::problem(
                format!("the SQLite file {} does not exist", path.display()),
                "run `payrec migrate` (or `payrec serve`) with this DATABASE_URL to create it",
            ));
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options.read_only(true))
            .await
            .map_err(|e| {
                Finding::problem(
                    format!("cannot open {}: {e}", path.display()),
                    "check the file's permissions",
                )
            })?;
        return Ok(Db::Sqlite(pool, path));
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
        Db::Sqlite(pool, _) => (applied_count(pool).await, crate::store::sqlite::MIGRATOR.iter().count()),
        Db::Postgres(pool) => (
            applied_count(pool).await,
            crate::store::postgres::MIGRATOR.iter().count(),
        ),
    };
    match applied {
        Some(n) if n as usize >= known => Finding::ok(format!("migrations are current ({n} of {known})")),
        Some(n) => Finding::problem(format!("{n} of {known} migrations applied"), "run `payrec migrate`"),
        None => Finding::problem("the database has no payrec schema yet", "run `payrec migrate`"),
    }
}

async fn applied_count<DB: sqlx::Database>(pool: &Pool<DB>) -> Option<i64>
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    (i64,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    let row: Result<(i64,), _> = sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await;
    row.ok().map(|(n,)| n)
}

const KEYS_BY_ACCOUNT: &str = "SELECT a.id, \
     (SELECT COUNT(*) FROM api_keys k WHERE k.account_id = a.id AND k.revoked_at IS NULL) \
     FROM accounts a ORDER BY a.id";

async fn keys(db: &Db) -> Vec<Finding> {
    let rows: Result<Vec<(String, i64)>, sqlx::Error> = match db {
        Db::Sqlite(pool, _) => sqlx::query_as(KEYS_BY_ACCOUNT).fetch_all(pool).await,
        Db::Postgres(pool) => sqlx::query_as(KEYS_BY_ACCOUNT).fetch_all(pool).await,
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
