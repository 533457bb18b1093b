//! Every SQLite connection payrec opens, with its pragmas said once. WAL lets readers run beside
//! the one writer; `synchronous` decides whether a commit is on disk when it returns.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::store::StoreError;

/// How long a connection waits for SQLite's write lock (held briefly by the writer thread).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The writer's page cache: the B-tree pages inserts touch stay in memory. Inserts append
/// (time-ordered ids, rowid tables) and idempotency keys are indexed in memory, so the working
/// set is small.
pub const WRITER_CACHE_KIB: u32 = 8 * 1024;

/// Page cache of each read connection. SQLite's default (2 MiB) cannot hold the interior pages
/// of the records' B-trees at 10⁶ records (a few MiB by their sizes), so a retrieve read more
/// of its pages through the OS: 0.309 × the ceiling against 0.341 × with this (issue 18).
pub const READER_CACHE_KIB: u32 = 8 * 1024;
/// Prepared statements each connection keeps (rusqlite keeps 16 by default): a report runs
/// more distinct statements than that on the writer, and a statement pushed out is prepared
/// again on its next use.
pub const STATEMENT_CACHE_CAPACITY: usize = 64;

/// How long the writer sleeps between tries while another connection holds the write lock (a
/// RESTART checkpoint, for a few milliseconds): SQLite's own busy handler backs off to 100 ms
/// sleeps, far longer than the wait.
pub const WRITER_BUSY_SLEEP: Duration = Duration::from_micros(250);
const WRITER_BUSY_TRIES_MAX: i32 = (BUSY_TIMEOUT.as_micros() / WRITER_BUSY_SLEEP.as_micros()) as i32;

/// The writer's busy handler: short sleeps, up to `BUSY_TIMEOUT` in all.
fn writer_waits(tries: i32) -> bool {
    std::thread::sleep(WRITER_BUSY_SLEEP);
    tries < WRITER_BUSY_TRIES_MAX
}

/// Durability of a commit: `full` fsyncs the WAL on every commit (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqliteSync {
    Full,
    Normal,
}

impl SqliteSync {
    fn pragma(self) -> &'static str {
        match self {
            SqliteSync::Full => "FULL",
            SqliteSync::Normal => "NORMAL",
        }
    }
}

/// What a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The writer thread: owns every payment write. It never checkpoints (`wal_autocheckpoint
    /// = 0`): profiling showed checkpoints inside commits taking 41% of its time.
    Writer,
    /// Migrations and the rare account and key writes.
    Admin,
    /// Read-only, for the per-request reads.
    Reader,
    /// Copies the WAL back into the database file, off the commit path.
    Checkpointer,
}

/// The file a `sqlite://PATH` (or `sqlite:PATH`) URL names; a `?…` suffix is ignored.
pub fn path_of(url: &str) -> Result<PathBuf, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::Unavailable(format!("not a SQLite URL: {url}")))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() {
        return Err(StoreError::Unavailable(format!("no file in the SQLite URL {url}")));
    }
    Ok(PathBuf::from(path))
}

/// Opens a connection to `path` for `role` (creating the file unless it is a reader).
pub fn open(path: &Path, role: Role, synchronous: SqliteSync) -> Result<Connection, StoreError> {
    let conn = match role {
        Role::Reader => {
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?
        }
        Role::Writer | Role::Admin | Role::Checkpointer => Connection::open(path)?,
    };
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    let sync = synchronous.pragma();
    match role {
        Role::Writer => {
            conn.execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; \
                 PRAGMA cache_size = -{WRITER_CACHE_KIB}; PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY;"
            ))?;
            conn.busy_handler(Some(writer_waits))?;
        }
        Role::Admin => conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;"
        ))?,
        Role::Reader => {
            conn.execute_batch(&format!("PRAGMA cache_size = -{READER_CACHE_KIB};"))?;
            super::reads::stop_scans_at_their_deadline(&conn);
        }
        Role::Checkpointer => {}
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_file() {
        assert_eq!(path_of("sqlite://payrec.db").unwrap(), PathBuf::from("payrec.db"));
        assert_eq!(
            path_of("sqlite:///var/lib/payrec.db").unwrap(),
            PathBuf::from("/var/lib/payrec.db")
        );
        assert_eq!(path_of("sqlite:x.db?mode=rwc").unwrap(), PathBuf::from("x.db"));
        assert!(path_of("postgres://h/db").is_err());
        assert!(path_of("sqlite://").is_err());
    }
}
