//! The single writer. SQLite allows one writer at a time, and with `synchronous=FULL` every
//! commit costs an fsync. So all payment writes queue here, and each turn of the loop commits
//! every queued write in one transaction (group commit): one fsync acknowledges many writes,
//! and no caller is answered before the commit that holds its write has returned.
//! One failing write never undoes another (`batch`: a batch with a failed write runs again,
//! each write inside its own SAVEPOINT).
//!
//! The writer is a dedicated thread on a rusqlite connection: a statement costs microseconds
//! there, against tens of microseconds through an async driver's worker hop, and the writer is
//! the one place where that cost is serial (docs/decisions.md has the measurements).
//!
//! Every write to payment data depends on this thread, so a panic on it (a failed assertion:
//! a bug) ends the process (`essential`) instead of leaving a server whose every write fails
//! while it looks ready. Nothing acknowledged is lost: a write is answered only after its commit.

use crate::store::Released;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::{Notify, mpsc, oneshot};

use super::checkpoint::RestartWanted;
use super::connection::{self, Role};
use super::essential::spawn_essential;
use super::key_index::{KeyEntry, KeyHasher};
use super::key_log::KeyLog;
use super::{SharedKeyIndex, SqliteOptions};
use crate::store::write::{AnyDone, AnyWrite};
use crate::store::{Claim, ClaimedDelivery, FailingEndpoint, FinishedDelivery, Health, StoreError, WriteOutcome};

/// Most writes committed together; bounds the time one batch holds the write lock.
pub const GROUP_COMMIT_BATCH_MAX: usize = 256;
/// Past this many times its bound, the writer restarts the WAL without waiting to be asked.
pub const WAL_HARD_BOUND_FACTOR: u64 = 2;
/// Writes queued for the writer before callers wait.
pub const WRITE_QUEUE_CAPACITY: usize = 1024;

/// What the writer is asked to do.
#[derive(Debug)]
pub(super) enum WriteRequest {
    /// A mutation (with its events, when they were rendered before), answered once its batch
    /// has committed.
    Write(
        Box<dyn AnyWrite>,
        oneshot::Sender<Result<WriteOutcome<AnyDone>, StoreError>>,
    ),
    /// Rewrite the probe row (`/readyz` after an outage), answered once its batch has committed.
    Probe(oneshot::Sender<Result<(), StoreError>>),
    /// The delivery worker's claim or finish, answered once its batch has committed.
    Deliveries(DeliveryJob, oneshot::Sender<Result<DeliveryAnswer, StoreError>>),
}

/// A change to the delivery queue.
#[derive(Debug, Clone)]
pub(super) enum DeliveryJob {
    Claim(Claim),
    Finish(Vec<FinishedDelivery>),
    Release(Released),
    CapBacklogs(u64),
}

#[derive(Debug)]
pub(super) enum DeliveryAnswer {
    Claimed(Vec<ClaimedDelivery>),
    Finished(Vec<FailingEndpoint>),
    Released(u64),
    Capped(u64),
}

/// A started writer: where to send writes, and the key index it keeps up to date.
pub(super) struct Started {
    pub writes: mpsc::Sender<WriteRequest>,
    pub keys: SharedKeyIndex,
    pub hasher: KeyHasher,
}

/// Everything the writer thread owns.
pub(super) struct Writer {
    pub conn: Connection,
    /// Ordering tiebreak for lists, allocated by the single writer.
    pub next_seq: i64,
    pub keys: SharedKeyIndex,
    pub hasher: KeyHasher,
    pub log: KeyLog,
    /// Idempotent results saved in the open transaction, published to `keys` once it commits.
    pub new_keys: Vec<KeyEntry>,
    /// Deliveries queued in the open transaction; once it commits, `delivery_signal` wakes the
    /// worker.
    pub deliveries_queued: usize,
    pub delivery_signal: Arc<Notify>,
    pub subscriptions: super::events::Subscriptions,
    health: Arc<Health>,
    restart_wanted: Arc<RestartWanted>,
    /// The WAL file and its bound: the writer restarts a WAL past it itself, should the
    /// checkpointer fall behind (a starved thread, a long pass).
    wal_path: std::path::PathBuf,
    wal_bytes_max: u64,
}

/// Starts the writer; first rebuilds the key index from its log, so no request runs before the
/// index knows every saved result.
pub(super) fn spawn(
    path: &Path,
    options: &SqliteOptions,
    health: Arc<Health>,
    delivery_signal: Arc<Notify>,
) -> Result<Started, StoreError> {
    let conn = connection::open(path, Role::Writer, options.synchronous)?;
    let wal_bytes_max = options.wal_bytes_max;
    // On each WAL restart the file is cut back to the bound.
    conn.execute_batch(&format!("PRAGMA journal_size_limit = {wal_bytes_max}"))?;
    let loading = std::time::Instant::now();
    let (index, log) = KeyLog::open(&conn)?;
    tracing::info!(
        keys = index.entries(),
        generations = index.generations(),
        ms = loading.elapsed().as_millis() as u64,
        "idempotency key index loaded"
    );
    let hasher = index.hasher();
    let keys: SharedKeyIndex = Arc::new(Mutex::new(index));
    let max_seq: Option<i64> = conn.query_row(
        "SELECT MAX(m) FROM (SELECT MAX(seq) AS m FROM payment_records UNION ALL SELECT MAX(seq) FROM payment_attempt_records \
         UNION ALL SELECT MAX(seq) FROM webhook_endpoints)",
        [],
        |row| row.get(0),
    )?;
    let restart_wanted = Arc::new(RestartWanted::default());
    super::checkpoint::spawn(path, wal_bytes_max, restart_wanted.clone())?;
    let (writes, receiver) = mpsc::channel(WRITE_QUEUE_CAPACITY);
    let writer = Writer {
        conn,
        next_seq: max_seq.unwrap_or(0) + 1,
        keys: keys.clone(),
        hasher,
        log,
        new_keys: Vec::with_capacity(GROUP_COMMIT_BATCH_MAX),
        deliveries_queued: 0,
        delivery_signal,
        subscriptions: Default::default(),
        health,
        restart_wanted,
        wal_path: super::checkpoint::wal_path(path),
        wal_bytes_max,
    };
    spawn_essential("payrec-sqlite-writer", move || writer.run(receiver))?;
    Ok(Started { writes, keys, hasher })
}

impl Writer {
    /// Each turn: everything queued, in one transaction; then the WAL restart, if it is due.
    fn run(mut self, mut receiver: mpsc::Receiver<WriteRequest>) {
        let mut queued: Vec<WriteRequest> = Vec::with_capacity(GROUP_COMMIT_BATCH_MAX);
        while let Some(first) = receiver.blocking_recv() {
            queued.push(first);
            while queued.len() < GROUP_COMMIT_BATCH_MAX {
                match receiver.try_recv() {
                    Ok(request) => queued.push(request),
                    Err(_) => break,
                }
            }
            let committed = self.commit_batch(&mut queued);
            self.health.observe(&committed);
            // Asked by the checkpointer; or, should it fall behind (starved of CPU on a busy
            // machine), past twice the bound on the writer's own look (one stat a batch). The
            // copying stays the checkpointer's unless it cannot keep up.
            let past_bound = || {
                std::fs::metadata(&self.wal_path).is_ok_and(|m| m.len() > WAL_HARD_BOUND_FACTOR * self.wal_bytes_max)
            };
            if (self.restart_wanted.take() || past_bound())
                && let Err(e) = super::checkpoint::restart(&self.conn)
            {
                crate::throttle::warn("sqlite_wal_restart", "restarting the WAL failed; will retry", &e);
            }
        }
    }
}
