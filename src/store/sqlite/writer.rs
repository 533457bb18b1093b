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

use super::key_index::KeyEntry;
use super::ops::SqliteOps;
use super::{BUSY_TIMEOUT, SharedKeyIndex, SqliteSync, WRITE_QUEUE_CAPACITY, WriteRequest};
use crate::store::write::apply;
use crate::store::{StoreError, WriteCommand, WriteOutcome};

/// Most commands committed together; bounds the time one batch holds the write lock.
pub const GROUP_COMMIT_BATCH_MAX: usize = 256;
/// The writer's page cache: the B-tree pages inserts touch stay in memory. Inserts append (time-ordered
/// ids, rowid tables) and idempotency keys are indexed in memory, so the working set is small.
pub const WRITER_CACHE_KIB: u32 = 8 * 1024;
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

/// Starts the writer; first rebuilds `keys` from the table, so no request runs before the
/// index knows every saved result.
pub(super) fn spawn(
    path: PathBuf,
    synchronous: SqliteSync,
    keys: SharedKeyIndex,
) -> Result<mpsc::Sender<WriteRequest>, StoreError> {
    let conn = open_connection(&path, synchronous)?;
    {
        let mut index = keys.lock().expect("key index lock");
        index.load(&conn).map_err(writer_error)?;
        tracing::debug!(entries = index.entries(), "idempotency key index loaded");
    }
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
        .spawn(move || run(conn, receiver, max_seq.unwrap_or(0) + 1, &keys))
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

fn run(mut conn: Connection, mut receiver: mpsc::Receiver<WriteRequest>, mut next_seq: i64, keys: &SharedKeyIndex) {
    let mut batch: Vec<WriteRequest> = Vec::with_capacity(GROUP_COMMIT_BATCH_MAX);
    let mut new_keys: Vec<KeyEntry> = Vec::with_capacity(GROUP_COMMIT_BATCH_MAX);
    while let Some(first) = receiver.blocking_recv() {
        batch.push(first);
        while batch.len() < GROUP_COMMIT_BATCH_MAX {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let mut batch_state = Batch {
            next_seq: &mut next_seq,
            keys,
            new_keys: &mut new_keys,
        };
        commit_batch(&mut conn, &mut batch, &mut batch_state);
    }
}

/// What a group commit carries from command to command.
struct Batch<'a> {
    next_seq: &'a mut i64,
    keys: &'a SharedKeyIndex,
    /// Idempotent results saved in this transaction, published to `keys` once it commits.
    new_keys: &'a mut Vec<KeyEntry>,
}

fn commit_batch(conn: &mut Connection, batch: &mut Vec<WriteRequest>, state: &mut Batch<'_>) {
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
        results.push(apply_in_savepoint(conn, command, state));
        replies.push(reply);
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            // Before any reply: a client that saw a response must find its key on a retry.
            state
                .keys
                .lock()
                .expect("key index lock")
                .publish(state.new_keys.drain(..));
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed; no write in the batch is acknowledged");
            let _ = conn.execute_batch("ROLLBACK");
            state.new_keys.clear();
            for reply in replies {
                let _ = reply.send(Err(StoreError::Corrupt("commit failed".into())));
            }
        }
    }
}

fn apply_in_savepoint(
    conn: &mut Connection,
    command: WriteCommand,
    state: &mut Batch<'_>,
) -> Result<WriteOutcome, StoreError> {
    conn.execute_batch("SAVEPOINT command").map_err(writer_error)?;
    let saved_before = state.new_keys.len();
    // The ops never suspend (rusqlite is synchronous), so the shared async write path runs to
    // completion in one poll on this thread.
    let result = futures_executor::block_on(apply(
        &mut SqliteOps {
            conn,
            next_seq: &mut *state.next_seq,
            keys: state.keys,
            new_keys: &mut *state.new_keys,
        },
        command,
    ));
    if matches!(result, Err(_) | Ok(WriteOutcome::AlreadySaved(_))) {
        state.new_keys.truncate(saved_before);
        conn.execute_batch("ROLLBACK TO command").map_err(writer_error)?;
    }
    conn.execute_batch("RELEASE command").map_err(writer_error)?;
    result
}
