//! The single writer. SQLite allows one writer at a time, and with `synchronous=FULL` every
//! commit costs an fsync. So all payment writes queue here, and each turn of the loop commits
//! every queued write in one transaction (group commit): one fsync acknowledges many writes,
//! and no caller is answered before the commit that holds its write has returned.
//! Each write runs inside its own SAVEPOINT so one failing write never undoes another.
//!
//! The writer is a dedicated thread on a rusqlite connection: a statement costs microseconds
//! there, against tens of microseconds through an async driver's worker hop, and the writer is
//! the one place where that cost is serial (docs/decisions.md has the measurements).
//!
//! Every write to payment data depends on this thread, so a panic on it (a failed assertion:
//! a bug) ends the process instead of leaving a server whose every write fails while it looks
//! ready. Nothing acknowledged is lost: a write is answered only after its commit.

use std::path::Path;
use std::sync::Arc;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::checkpoint::RestartWanted;
use super::connection::{self, Role};
use super::key_index::KeyEntry;
use super::ops::SqliteOps;
use super::{SharedKeyIndex, SqliteOptions};
use crate::store::write::apply;
use crate::store::{Health, PROBE_BYTES, StoreError, Write, WriteOutcome};

/// Most writes committed together; bounds the time one batch holds the write lock.
pub const GROUP_COMMIT_BATCH_MAX: usize = 256;
/// Writes queued for the writer before callers wait.
pub const WRITE_QUEUE_CAPACITY: usize = 1024;

/// What the writer is asked to do.
#[derive(Debug)]
pub(super) enum WriteRequest {
    /// A mutation, answered once its batch has committed.
    Write(Write, oneshot::Sender<Result<WriteOutcome, StoreError>>),
    /// Rewrite the probe row (`/readyz` after an outage), answered once its batch has committed.
    Probe(oneshot::Sender<Result<(), StoreError>>),
}

/// A reply waiting for its batch's commit.
enum Reply {
    Write(
        oneshot::Sender<Result<WriteOutcome, StoreError>>,
        Result<WriteOutcome, StoreError>,
    ),
    Probe(oneshot::Sender<Result<(), StoreError>>, Result<(), StoreError>),
}

impl Reply {
    /// Sends the result, or `failed` when the batch did not commit.
    fn send(self, failed: Option<&StoreError>) {
        match (self, failed) {
            (Reply::Write(to, result), None) => drop(to.send(result)),
            (Reply::Write(to, _), Some(e)) => drop(to.send(Err(e.clone()))),
            (Reply::Probe(to, result), None) => drop(to.send(result)),
            (Reply::Probe(to, _), Some(e)) => drop(to.send(Err(e.clone()))),
        }
    }
}

/// Runs `body` on a named thread the server cannot do without: if it panics, the process ends.
pub(super) fn spawn_essential(name: &str, body: impl FnOnce() + Send + 'static) -> Result<(), StoreError> {
    let thread = name.to_owned();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).is_err() {
                tracing::error!(
                    thread,
                    "an essential thread panicked; payrec stops so that it restarts whole"
                );
                std::process::abort();
            }
        })
        .map(|_| ())
        .map_err(|e| StoreError::Database(format!("cannot start the {name} thread: {e}")))
}

/// Starts the writer; first rebuilds `keys` from the table, so no request runs before the
/// index knows every saved result.
pub(super) fn spawn(
    path: &Path,
    options: &SqliteOptions,
    keys: SharedKeyIndex,
    health: Arc<Health>,
) -> Result<mpsc::Sender<WriteRequest>, StoreError> {
    let conn = connection::open(path, Role::Writer, options.synchronous)?;
    let wal_bytes_max = options.wal_bytes_max;
    // On each WAL restart the file is cut back to the bound.
    conn.execute_batch(&format!("PRAGMA journal_size_limit = {wal_bytes_max}"))?;
    {
        let mut index = keys.lock().expect("key index lock");
        index.load(&conn)?;
        tracing::debug!(entries = index.entries(), "idempotency key index loaded");
    }
    let max_seq: Option<i64> = conn.query_row(
        "SELECT MAX(m) FROM (SELECT MAX(seq) AS m FROM payment_records UNION ALL SELECT MAX(seq) FROM payment_attempt_records)",
        [],
        |row| row.get(0),
    )?;
    let restart_wanted = Arc::new(RestartWanted::default());
    super::checkpoint::spawn(path, wal_bytes_max, restart_wanted.clone())?;
    let (sender, receiver) = mpsc::channel(WRITE_QUEUE_CAPACITY);
    spawn_essential("payrec-sqlite-writer", move || {
        run(
            conn,
            receiver,
            max_seq.unwrap_or(0) + 1,
            &keys,
            &health,
            &restart_wanted,
        )
    })?;
    Ok(sender)
}

fn run(
    mut conn: Connection,
    mut receiver: mpsc::Receiver<WriteRequest>,
    mut next_seq: i64,
    keys: &SharedKeyIndex,
    health: &Health,
    restart_wanted: &RestartWanted,
) {
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
        let committed = commit_batch(&mut conn, &mut batch, &mut batch_state);
        health.observe(&committed);
        if restart_wanted.take()
            && let Err(e) = super::checkpoint::restart(&conn)
        {
            crate::throttle::warn("sqlite_wal_restart", "restarting the WAL failed; will retry", &e);
        }
    }
}

/// What a group commit carries from write to write.
struct Batch<'a> {
    next_seq: &'a mut i64,
    keys: &'a SharedKeyIndex,
    /// Idempotent results saved in this transaction, published to `keys` once it commits.
    new_keys: &'a mut Vec<KeyEntry>,
}

/// Runs every request of the batch in one transaction and answers them after it commits; the
/// commit's own result is returned for the store's health.
fn commit_batch(conn: &mut Connection, batch: &mut Vec<WriteRequest>, state: &mut Batch<'_>) -> Result<(), StoreError> {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let error = StoreError::from(e);
        crate::throttle::error("sqlite_begin", "could not begin a write transaction", &error);
        for request in batch.drain(..) {
            match request {
                WriteRequest::Write(_, to) => drop(to.send(Err(error.clone()))),
                WriteRequest::Probe(to) => drop(to.send(Err(error.clone()))),
            }
        }
        return Err(error);
    }
    let mut replies = Vec::with_capacity(batch.len());
    for request in batch.drain(..) {
        replies.push(match request {
            WriteRequest::Write(write, to) => Reply::Write(to, apply_in_savepoint(conn, write, state)),
            WriteRequest::Probe(to) => Reply::Probe(to, probe(conn)),
        });
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            // Before any reply: a client that saw a response must find its key on a retry.
            state
                .keys
                .lock()
                .expect("key index lock")
                .publish(state.new_keys.drain(..));
            for reply in replies {
                reply.send(None);
            }
            Ok(())
        }
        Err(e) => {
            let error = StoreError::from(e);
            crate::throttle::error(
                "sqlite_commit",
                "group commit failed; no write in the batch is acknowledged",
                &error,
            );
            let _ = conn.execute_batch("ROLLBACK");
            state.new_keys.clear();
            for reply in replies {
                reply.send(Some(&error));
            }
            Err(error)
        }
    }
}

/// The probe row, rewritten inside the batch's transaction.
fn probe(conn: &Connection) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR REPLACE INTO payrec_probe (id, at, ballast) VALUES (1, ?1, zeroblob(?2))")?
        .execute(rusqlite::params![crate::clock::unix_now(), PROBE_BYTES as i64])?;
    Ok(())
}

fn apply_in_savepoint(conn: &mut Connection, write: Write, state: &mut Batch<'_>) -> Result<WriteOutcome, StoreError> {
    conn.execute_batch("SAVEPOINT command")?;
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
        write,
    ));
    if matches!(result, Err(_) | Ok(WriteOutcome::AlreadySaved(_))) {
        state.new_keys.truncate(saved_before);
        conn.execute_batch("ROLLBACK TO command")?;
    }
    conn.execute_batch("RELEASE command")?;
    result
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::time::Duration;

    use super::spawn_essential;

    /// Set for the child process that plays the server.
    const CHILD_ENV: &str = "PAYREC_TEST_ESSENTIAL_THREAD_PANICS";

    #[test]
    fn a_panic_on_an_essential_thread_ends_the_process() {
        if std::env::var_os(CHILD_ENV).is_some() {
            spawn_essential("payrec-test-essential", || panic!("an assertion failed")).expect("spawned");
            std::thread::sleep(Duration::from_secs(30));
            // Reached only if the process survived the panic: the parent sees a clean exit.
            return;
        }
        let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "store::sqlite::writer::tests::a_panic_on_an_essential_thread_ends_the_process",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .output()
            .expect("run the child");
        assert_eq!(
            output.status.signal(),
            Some(6),
            "the child must abort (SIGABRT), not {:?}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
