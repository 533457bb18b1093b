//! One group commit: every queued request in one transaction, the key log extended, and no
//! reply sent before the COMMIT has returned. One failing write never undoes another: a batch
//! in which a write failed runs again with each write inside its own SAVEPOINT (`Savepoints`).

use super::events;
use super::ops::SqliteOps;
use super::writer::{DeliveryAnswer, DeliveryJob, WriteRequest, Writer};
use crate::store::write::{AnyDone, AnyWrite};
use crate::store::{PROBE_BYTES, StoreError, WriteOutcome};

/// What one queued request came to, before its batch commits.
enum Answer {
    Write(Result<WriteOutcome<AnyDone>, StoreError>),
    Probe(Result<(), StoreError>),
    Deliveries(Result<DeliveryAnswer, StoreError>),
}

impl Answer {
    fn failed(&self) -> bool {
        match self {
            Answer::Write(r) => r.is_err(),
            Answer::Probe(r) => r.is_err(),
            Answer::Deliveries(r) => r.is_err(),
        }
    }
}

/// Sends `answer` to the request that asked (its batch committed).
fn send(request: WriteRequest, answer: Answer) {
    match (request, answer) {
        (WriteRequest::Write(_, to), Answer::Write(result)) => drop(to.send(result)),
        (WriteRequest::Probe(to), Answer::Probe(result)) => drop(to.send(result)),
        (WriteRequest::Deliveries(_, to), Answer::Deliveries(result)) => drop(to.send(result)),
        _ => unreachable!("each request gets the answer of its own kind"),
    }
}

/// Answers `request` with `error`: its batch did not begin or did not commit.
fn fail(request: WriteRequest, error: &StoreError) {
    match request {
        WriteRequest::Write(_, to) => drop(to.send(Err(error.clone()))),
        WriteRequest::Probe(to) => drop(to.send(Err(error.clone()))),
        WriteRequest::Deliveries(_, to) => drop(to.send(Err(error.clone()))),
    }
}

/// Whether each write gets its own SAVEPOINT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Savepoints {
    /// None: the first try. A savepoint copies every page its write touches to the
    /// sub-journal, a fifth of the writer's time (issue 18), and only a database error (disk
    /// full, a damaged file) stops a write partway: the lifecycle's refusals write nothing.
    Off,
    /// One per write: the retry of a batch in which a write failed, so that one failing write
    /// never undoes another.
    On,
}

impl Writer {
    fn begin(&self, queued: &mut Vec<WriteRequest>) -> Result<(), StoreError> {
        let Err(e) = run(&self.conn, "BEGIN IMMEDIATE") else {
            return Ok(());
        };
        crate::throttle::error("sqlite_begin", "could not begin a write transaction", &e);
        for request in queued.drain(..) {
            fail(request, &e);
        }
        Err(e)
    }

    /// Forgets what the batch's writes told the writer (after a rollback).
    fn forget_batch(&mut self) {
        self.new_keys.clear();
        self.deliveries_queued = 0;
        self.subscriptions.clear();
    }

    /// Runs `queued` in one transaction and answers each request after it commits; the
    /// commit's own result is returned for the store's health.
    pub(super) fn commit_batch(&mut self, queued: &mut Vec<WriteRequest>) -> Result<(), StoreError> {
        self.begin(queued)?;
        let mut answers = self.answer(queued, Savepoints::Off);
        if answers.iter().any(Answer::failed) {
            // A write stopped partway: start the batch over, every write in its own savepoint.
            let _ = run(&self.conn, "ROLLBACK");
            self.forget_batch();
            self.begin(queued)?;
            answers = self.answer(queued, Savepoints::On);
        }
        let cursor = self.log.cursor();
        let committed = self
            .log
            .append(&self.conn, &self.new_keys)
            .map_err(StoreError::from)
            .and_then(|()| run(&self.conn, "COMMIT"));
        match committed {
            Ok(()) => {
                // Before any reply: a client that saw a response must find its key on a retry.
                self.keys
                    .lock()
                    .expect("key index lock")
                    .publish(self.new_keys.drain(..));
                for (request, answer) in queued.drain(..).zip(answers) {
                    send(request, answer);
                }
                if std::mem::take(&mut self.deliveries_queued) > 0 {
                    self.delivery_signal.notify_one();
                }
                Ok(())
            }
            Err(error) => {
                crate::throttle::error(
                    "sqlite_commit",
                    "group commit failed; no write in the batch is acknowledged",
                    &error,
                );
                let _ = run(&self.conn, "ROLLBACK");
                self.forget_batch();
                self.log.restore(cursor);
                for request in queued.drain(..) {
                    fail(request, &error);
                }
                Err(error)
            }
        }
    }

    /// Runs every queued request in the open transaction; the requests stay queued, for a
    /// retry or for their replies. With savepoints off, the first failure ends the pass.
    fn answer(&mut self, queued: &[WriteRequest], savepoints: Savepoints) -> Vec<Answer> {
        let mut answers = Vec::with_capacity(queued.len());
        for request in queued {
            let answer = match request {
                WriteRequest::Write(write, _) => Answer::Write(self.apply(&**write, savepoints)),
                WriteRequest::Probe(_) => Answer::Probe(probe(&self.conn)),
                WriteRequest::Deliveries(job, _) => Answer::Deliveries(deliveries(&self.conn, job, savepoints)),
            };
            let failed = answer.failed();
            answers.push(answer);
            if failed && savepoints == Savepoints::Off {
                break;
            }
        }
        answers
    }

    fn apply(&mut self, write: &dyn AnyWrite, savepoints: Savepoints) -> Result<WriteOutcome<AnyDone>, StoreError> {
        if savepoints == Savepoints::On {
            run(&self.conn, "SAVEPOINT command")?;
        }
        let saved_before = self.new_keys.len();
        let queued_before = self.deliveries_queued;
        // The ops never suspend (rusqlite is synchronous), so the shared async write path runs
        // to completion in one poll on this thread.
        let result = futures_executor::block_on(write.apply(&mut SqliteOps {
            conn: &mut self.conn,
            next_seq: &mut self.next_seq,
            keys: &self.keys,
            hasher: self.hasher,
            new_keys: &mut self.new_keys,
            deliveries_queued: &mut self.deliveries_queued,
            subscriptions: &mut self.subscriptions,
        }));
        if let Ok(WriteOutcome::AlreadySaved(_)) = result {
            // A replay is found before anything is written (the key is read first).
            debug_assert_eq!(self.new_keys.len(), saved_before, "a replay saves no key");
        }
        if savepoints == Savepoints::On {
            if matches!(result, Err(_) | Ok(WriteOutcome::AlreadySaved(_))) {
                self.new_keys.truncate(saved_before);
                self.deliveries_queued = queued_before;
                run(&self.conn, "ROLLBACK TO command")?;
            }
            run(&self.conn, "RELEASE command")?;
        }
        result
    }
}

/// A claim or finish of the delivery queue, in its own SAVEPOINT.
fn deliveries(
    conn: &rusqlite::Connection,
    job: &DeliveryJob,
    savepoints: Savepoints,
) -> Result<DeliveryAnswer, StoreError> {
    if savepoints == Savepoints::Off {
        return run_deliveries(conn, job);
    }
    run(conn, "SAVEPOINT deliveries")?;
    let result = run_deliveries(conn, job);
    if result.is_err() {
        run(conn, "ROLLBACK TO deliveries")?;
    }
    run(conn, "RELEASE deliveries")?;
    result
}

fn run_deliveries(conn: &rusqlite::Connection, job: &DeliveryJob) -> Result<DeliveryAnswer, StoreError> {
    match job {
        DeliveryJob::Claim(claim) => events::claim(conn, claim).map(DeliveryAnswer::Claimed),
        DeliveryJob::Finish(finished) => events::finish(conn, finished).map(DeliveryAnswer::Finished),
        DeliveryJob::Release(released) => events::release(conn, released).map(DeliveryAnswer::Released),
        DeliveryJob::CapBacklogs(max) => events::cap_backlogs(conn, *max).map(DeliveryAnswer::Capped),
    }
}

/// A statement without parameters, kept prepared (`execute_batch` prepares it every time).
fn run(conn: &rusqlite::Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// The probe row, rewritten inside the batch's transaction.
fn probe(conn: &rusqlite::Connection) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR REPLACE INTO payrec_probe (id, at, ballast) VALUES (1, ?1, zeroblob(?2))")?
        .execute(rusqlite::params![crate::clock::unix_now(), PROBE_BYTES as i64])?;
    Ok(())
}
