//! The single writer. SQLite allows one writer at a time, and with `synchronous=FULL` every
//! commit costs an fsync. So all payment writes queue here, and each turn of the loop commits
//! every queued command in one transaction (group commit): one fsync acknowledges many writes,
//! and no caller is answered before the commit that holds its write has returned.
//! Each command runs inside its own SAVEPOINT so one failing command never undoes another.
//!
//! The writer is a dedicated thread on a rusqlite connection: a statement costs microseconds
//! there, against tens of microseconds through an async driver's worker hop, and the writer is
//! the one place where that cost is serial (docs/decisions.md has the measurements).

use std::path::PathBuf;

use rusqlite::Connection;
use tokio::sync::mpsc;

use super::ops::SqliteOps;
use super::{BUSY_TIMEOUT, SqliteSync, WRITE_QUEUE_CAPACITY, WriteRequest};
use crate::store::write::apply;
use crate::store::{StoreError, WriteCommand, WriteOutcome};

/// Most commands committed together; bounds the time one batch holds the write lock.
pub const GROUP_COMMIT_BATCH_MAX: usize = 256;
/// The writer's page cache: the B-tree pages inserts touch stay in memory.
pub const WRITER_CACHE_KIB: u32 = 16 * 1024;
/// How often the checkpointer copies the WAL back into the database file. The writer does not
/// checkpoint itself (`wal_autocheckpoint = 0`): profiling showed checkpoints inside commits
/// taking 41% of the writer's time.
pub const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

fn open_connection(path: &PathBuf, synchronous: SqliteSync) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(writer_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(writer_error)?;
    let sync = match synchronous {
        SqliteSync::Full => "FULL",
        SqliteSync::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; \
         PRAGMA cache_size = -{WRITER_CACHE_KIB}; PRAGMA wal_autocheckpoint = 0;"
    ))
    .map_err(writer_error)?;
    Ok(conn)
}

pub(super) fn writer_error(e: rusqlite::Error) -> StoreError {
    StoreError::Corrupt(format!("sqlite writer: {e}"))
}

pub(super) fn spawn(path: PathBuf, synchronous: SqliteSync) -> Result<mpsc::Sender<WriteRequest>, StoreError> {
    let conn = open_connection(&path, synchronous)?;
    let max_seq: Option<i64> = conn
        .query_row(
            "SELECT MAX(m) FROM (SELECT MAX(seq) AS m FROM payment_records UNION ALL SELECT MAX(seq) FROM payment_attempt_records)",
            [],
            |row| row.get(0),
        )
        .map_err(writer_error)?;
    spawn_checkpointer(path.clone())?;
    let (sender, receiver) = mpsc::channel(WRITE_QUEUE_CAPACITY);
    std::thread::Builder::new()
        .name("payrec-sqlite-writer".into())
        .spawn(move || run(conn, receiver, max_seq.unwrap_or(0) + 1))
        .map_err(|e| StoreError::Corrupt(format!("cannot start the writer thread: {e}")))?;
    Ok(sender)
}

/// Checkpoints the WAL from its own connection, off the commit path. PASSIVE never waits for
/// the writer or for readers; it copies what it can and leaves the rest for the next turn.
fn spawn_checkpointer(path: PathBuf) -> Result<(), StoreError> {
    let conn = Connection::open(&path).map_err(writer_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(writer_error)?;
    std::thread::Builder::new()
        .name("payrec-sqlite-checkpoint".into())
        .spawn(move || {
            loop {
                std::thread::sleep(CHECKPOINT_INTERVAL);
                if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
                }
            }
        })
        .map_err(|e| StoreError::Corrupt(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(())
}

fn run(mut conn: Connection, mut receiver: mpsc::Receiver<WriteRequest>, mut next_seq: i64) {
    let mut batch: Vec<WriteRequest> = Vec::with_capacity(GROUP_COMMIT_BATCH_MAX);
    while let Some(first) = receiver.blocking_recv() {
        batch.push(first);
        while batch.len() < GROUP_COMMIT_BATCH_MAX {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, &mut batch, &mut next_seq);
    }
}

fn commit_batch(conn: &mut Connection, batch: &mut Vec<WriteRequest>, next_seq: &mut i64) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "could not begin a write transaction");
        for (_, reply) in batch.drain(..) {
            let _ = reply.send(Err(StoreError::Corrupt("write transaction failed".into())));
        }
        return;
    }
    let mut results = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    for (command, reply) in batch.drain(..) {
        results.push(apply_in_savepoint(conn, command, next_seq));
        replies.push(reply);
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed; no write in the batch is acknowledged");
            let _ = conn.execute_batch("ROLLBACK");
            for reply in replies {
                let _ = reply.send(Err(StoreError::Corrupt("commit failed".into())));
            }
        }
    }
}

fn apply_in_savepoint(
    conn: &mut Connection,
    command: WriteCommand,
    next_seq: &mut i64,
) -> Result<WriteOutcome, StoreError> {
    conn.execute_batch("SAVEPOINT command").map_err(writer_error)?;
    // The ops never suspend (rusqlite is synchronous), so the shared async write path runs to
    // completion in one poll on this thread.
    let result = futures_executor::block_on(apply(
        &mut SqliteOps {
            conn,
            next_seq: &mut *next_seq,
        },
        command,
    ));
    if matches!(result, Err(_) | Ok(WriteOutcome::AlreadySaved(_))) {
        conn.execute_batch("ROLLBACK TO command").map_err(writer_error)?;
    }
    conn.execute_batch("RELEASE command").map_err(writer_error)?;
    result
}
