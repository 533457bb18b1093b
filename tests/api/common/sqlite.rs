//! A server's SQLite file opened beside it with rusqlite, for tests that age, break or inspect
//! what it stored. The work runs on a blocking thread, off the test's runtime.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Longest wait for the server's writer to let go of the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the existing SQLite file at `path`, as sqlx would: read-write, foreign keys on.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    Ok(conn)
}

/// Runs `work` on the SQLite file at `path`.
pub async fn with<T, F>(path: &Path, work: F) -> rusqlite::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
{
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || work(&open(&path)?))
        .await
        .expect("the SQLite task ran")
}
