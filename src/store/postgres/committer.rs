//! Group commit (issue 30). A write that inserts and reads nothing first (report_payment) hands
//! its rows here instead of sending them on its own: the writes of one process that arrive
//! while earlier groups commit are sent together as one statement (`group`), one transaction
//! and one WAL flush for all of them, where each alone cost a statement and a flush.
//!
//! Nothing waits on a timer: a write joins the group being gathered, and a group is sent as
//! soon as one of `GROUPS_IN_FLIGHT` connections is free. At low load every write is a group of
//! one, sent at once; under load a write waits at most for the groups ahead of it.
//!
//! One write's failure is not the others': when a group's statement fails on what one write
//! brought (its idempotency key taken by another request, a constraint), nothing of the group
//! was written, and each of its writes is run again on its own (the write path's own
//! statement), so each gets its own answer. A failure of the database itself (unreachable, disk
//! full) is every write's answer. Nothing is acknowledged before the group's commit.

use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, mpsc, oneshot};

use super::batch::BatchError;
use super::group::{self, NewRows};
use super::primary::Primary;
use crate::store::StoreError;

/// Writes in one group at most: a group's statement holds its totals rows' locks until it
/// commits, so a bound keeps that short and keeps one group's rows in one round trip.
pub const GROUP_WRITES_MAX: usize = 64;
/// Groups being committed at once, each on its own connection: while one waits for the disk,
/// the next gathers and sends. More in flight make smaller groups, and each costs the server
/// a transaction (keyed report_payment, wrk -c32: 1 in flight 6,800-7,900/s, 2 7,100-7,500/s,
/// 3 6,300/s, 4 6,800/s, 8 5,100/s with p99 24 ms; docs/decisions.md).
pub const GROUPS_IN_FLIGHT: usize = 2;
/// Writes waiting to join a group; a full queue makes writers wait (their requests are
/// bounded by the server's own limits before that).
const QUEUE_MAX: usize = 1024;

/// What became of a write handed to the committer.
#[derive(Debug)]
pub(super) enum Grouped {
    /// Committed with its group; the group queued this many webhook deliveries.
    Committed(u64),
    /// Its idempotency key was taken: nothing was written, the saved result is its answer.
    KeyTaken,
    /// The group failed on another write's rows, or on its own: run it again on its own.
    Alone,
}

struct Pending {
    rows: NewRows,
    reply: oneshot::Sender<Result<Grouped, StoreError>>,
}

/// The queue to this process's group committer, started on first use in the caller's runtime
/// (and again if that runtime has ended: a test's, a command's).
#[derive(Debug, Default)]
pub(super) struct Committer {
    queue: Mutex<Option<mpsc::Sender<Pending>>>,
}

impl Committer {
    /// Commits `rows` with whatever other writes are waiting.
    pub async fn commit(&self, primary: &Arc<Primary>, rows: NewRows) -> Result<Grouped, StoreError> {
        assert!(!rows.is_empty(), "a grouped write has rows");
        let (reply, answer) = oneshot::channel();
        let queue = self.queue(primary);
        if queue.send(Pending { rows, reply }).await.is_err() {
            return Err(StoreError::Closed);
        }
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the group commit stopped".into())))
    }

    fn queue(&self, primary: &Arc<Primary>) -> mpsc::Sender<Pending> {
        let mut queue = self.queue.lock().expect("committer lock");
        if let Some(sender) = queue.as_ref().filter(|s| !s.is_closed()) {
            return sender.clone();
        }
        let (sender, receiver) = mpsc::channel(QUEUE_MAX);
        tokio::spawn(gather(primary.clone(), receiver));
        *queue = Some(sender.clone());
        sender
    }
}

/// Gathers groups and sends each on a free connection; ends when the store is dropped.
async fn gather(primary: Arc<Primary>, mut queue: mpsc::Receiver<Pending>) {
    let slots = Arc::new(Semaphore::new(GROUPS_IN_FLIGHT));
    let mut held: Option<Pending> = None;
    loop {
        let slot = slots.clone().acquire_owned().await.expect("the slots are never closed");
        let first = match held.take() {
            Some(pending) => pending,
            None => match queue.recv().await {
                Some(pending) => pending,
                None => return,
            },
        };
        let mut rows = first.rows;
        let mut replies = vec![first.reply];
        while replies.len() < GROUP_WRITES_MAX {
            let Ok(next) = queue.try_recv() else { break };
            if !rows.fits(&next.rows) {
                held = Some(next);
                break;
            }
            rows.append(next.rows);
            replies.push(next.reply);
        }
        let primary = primary.clone();
        tokio::spawn(async move {
            let answer = send(&primary, &rows).await;
            let alone = replies.len() == 1;
            for reply in replies {
                let _ = reply.send(each(&answer, alone));
            }
            drop(slot);
        });
    }
}

/// Sends one group's statement on a kept connection to the primary.
async fn send(primary: &Primary, rows: &NewRows) -> Result<u64, BatchError> {
    crate::telemetry::record_group_commit(rows.writes());
    let serving = primary.serving().map_err(BatchError::Store)?;
    let sent = serving.run(async {
        let mut kept = serving.kept.take().await?;
        let sent = group::run(kept.conn(), rows).await;
        if sent.is_ok() {
            kept.done();
        }
        Ok(sent)
    });
    sent.await.map_err(BatchError::Store)?
}

/// One write's answer from its group's.
fn each(answer: &Result<u64, BatchError>, alone: bool) -> Result<Grouped, StoreError> {
    match answer {
        Ok(deliveries) => Ok(Grouped::Committed(*deliveries)),
        Err(BatchError::KeyTaken) if alone => Ok(Grouped::KeyTaken),
        Err(BatchError::KeyTaken) => Ok(Grouped::Alone),
        // A write's own rows (a constraint, a value the database refuses) or a lock given up
        // on: with others, each is run again on its own; on its own, that is its answer.
        Err(BatchError::Store(StoreError::Database(_) | StoreError::Busy(_))) if !alone => Ok(Grouped::Alone),
        Err(BatchError::Store(e)) => Err(e.clone()),
    }
}
