//! One group commit: every queued request in one transaction, each write inside its own
//! SAVEPOINT (so one failing write never undoes another), the key log extended, and no reply
//! sent before the COMMIT has returned.

use tokio::sync::oneshot;

use super::events;
use super::ops::SqliteOps;
use super::writer::{DeliveryAnswer, DeliveryJob, WriteRequest, Writer};
use crate::store::write::{PreparedEvents, apply};
use crate::store::{PROBE_BYTES, StoreError, Write, WriteOutcome};

/// A reply waiting for its batch's commit.
enum Reply {
    Write(
        oneshot::Sender<Result<WriteOutcome, StoreError>>,
        Result<WriteOutcome, StoreError>,
    ),
    Probe(oneshot::Sender<Result<(), StoreError>>, Result<(), StoreError>),
    Deliveries(
        oneshot::Sender<Result<DeliveryAnswer, StoreError>>,
        Result<DeliveryAnswer, StoreError>,
    ),
}

impl Reply {
    /// Sends the result, or `failed` when the batch did not commit.
    fn send(self, failed: Option<&StoreError>) {
        match (self, failed) {
            (Reply::Write(to, result), None) => drop(to.send(result)),
            (Reply::Write(to, _), Some(e)) => drop(to.send(Err(e.clone()))),
            (Reply::Probe(to, result), None) => drop(to.send(result)),
            (Reply::Probe(to, _), Some(e)) => drop(to.send(Err(e.clone()))),
            (Reply::Deliveries(to, result), None) => drop(to.send(result)),
            (Reply::Deliveries(to, _), Some(e)) => drop(to.send(Err(e.clone()))),
        }
    }
}

impl Writer {
    /// Runs `queued` in one transaction and answers each request after it commits; the
    /// commit's own result is returned for the store's health.
    pub(super) fn commit_batch(&mut self, queued: &mut Vec<WriteRequest>) -> Result<(), StoreError> {
        let writer = self;
        if let Err(e) = writer.conn.execute_batch("BEGIN IMMEDIATE") {
            let error = StoreError::from(e);
            crate::throttle::error("sqlite_begin", "could not begin a write transaction", &error);
            for request in queued.drain(..) {
                match request {
                    WriteRequest::Write(_, _, to) => drop(to.send(Err(error.clone()))),
                    WriteRequest::Probe(to) => drop(to.send(Err(error.clone()))),
                    WriteRequest::Deliveries(_, to) => drop(to.send(Err(error.clone()))),
                }
            }
            return Err(error);
        }
        let mut replies = Vec::with_capacity(queued.len());
        for request in queued.drain(..) {
            replies.push(match request {
                WriteRequest::Write(write, prepared, to) => {
                    Reply::Write(to, apply_in_savepoint(writer, write, prepared))
                }
                WriteRequest::Probe(to) => Reply::Probe(to, probe(&writer.conn)),
                WriteRequest::Deliveries(job, to) => Reply::Deliveries(to, deliveries(&writer.conn, job)),
            });
        }
        let cursor = writer.log.cursor();
        let committed = writer
            .log
            .append(&writer.conn, &writer.new_keys)
            .and_then(|()| writer.conn.execute_batch("COMMIT"));
        match committed {
            Ok(()) => {
                // Before any reply: a client that saw a response must find its key on a retry.
                writer
                    .keys
                    .lock()
                    .expect("key index lock")
                    .publish(writer.new_keys.drain(..));
                for reply in replies {
                    reply.send(None);
                }
                if std::mem::take(&mut writer.deliveries_queued) > 0 {
                    writer.delivery_signal.notify_one();
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
                let _ = writer.conn.execute_batch("ROLLBACK");
                writer.new_keys.clear();
                writer.deliveries_queued = 0;
                writer.subscriptions.clear();
                writer.log.restore(cursor);
                for reply in replies {
                    reply.send(Some(&error));
                }
                Err(error)
            }
        }
    }
}

fn apply_in_savepoint(
    writer: &mut Writer,
    write: Write,
    prepared: Option<PreparedEvents>,
) -> Result<WriteOutcome, StoreError> {
    writer.conn.execute_batch("SAVEPOINT command")?;
    let saved_before = writer.new_keys.len();
    let queued_before = writer.deliveries_queued;
    // The ops never suspend (rusqlite is synchronous), so the shared async write path runs to
    // completion in one poll on this thread.
    let result = futures_executor::block_on(apply(
        &mut SqliteOps {
            conn: &mut writer.conn,
            next_seq: &mut writer.next_seq,
            keys: &writer.keys,
            hasher: writer.hasher,
            new_keys: &mut writer.new_keys,
            deliveries_queued: &mut writer.deliveries_queued,
            subscriptions: &mut writer.subscriptions,
        },
        write,
        prepared,
    ));
    if matches!(result, Err(_) | Ok(WriteOutcome::AlreadySaved(_))) {
        writer.new_keys.truncate(saved_before);
        writer.deliveries_queued = queued_before;
        writer.conn.execute_batch("ROLLBACK TO command")?;
    }
    writer.conn.execute_batch("RELEASE command")?;
    result
}

/// A claim or finish of the delivery queue, in its own SAVEPOINT.
fn deliveries(conn: &rusqlite::Connection, job: DeliveryJob) -> Result<DeliveryAnswer, StoreError> {
    conn.execute_batch("SAVEPOINT deliveries")?;
    let result = match &job {
        DeliveryJob::Claim(claim) => events::claim(conn, claim).map(DeliveryAnswer::Claimed),
        DeliveryJob::Finish(finished) => events::finish(conn, finished).map(|()| DeliveryAnswer::Finished),
    };
    if result.is_err() {
        conn.execute_batch("ROLLBACK TO deliveries")?;
    }
    conn.execute_batch("RELEASE deliveries")?;
    result
}

/// The probe row, rewritten inside the batch's transaction.
fn probe(conn: &rusqlite::Connection) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR REPLACE INTO payrec_probe (id, at, ballast) VALUES (1, ?1, zeroblob(?2))")?
        .execute(rusqlite::params![crate::clock::unix_now(), PROBE_BYTES as i64])?;
    Ok(())
}
