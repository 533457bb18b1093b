//! The single writer. SQLite allows one writer at a time, and with `synchronous=FULL` every
//! commit costs an fsync. So all payment writes queue here, and each turn of the loop commits
//! every queued command in one transaction (group commit): one fsync acknowledges many writes,
//! and no caller is answered before the commit that holds its write has returned.
//! Each command runs inside its own SAVEPOINT so one failing command never undoes another.

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::mpsc;

use super::ops::SqliteOps;
use super::{WRITE_QUEUE_CAPACITY, WriteRequest};
use crate::store::write::apply;
use crate::store::{StoreError, WriteCommand, WriteOutcome};

/// Most commands committed together; bounds the time one batch holds the write lock.
pub const GROUP_COMMIT_BATCH_MAX: usize = 256;

pub(super) async fn spawn(connect: SqliteConnectOptions) -> Result<mpsc::Sender<WriteRequest>, StoreError> {
    let mut conn = SqliteConnection::connect_with(&connect).await?;
    let max_seq: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(m) FROM (SELECT MAX(seq) AS m FROM payment_records UNION ALL SELECT MAX(seq) FROM payment_attempt_records)",
    )
    .fetch_one(&mut conn)
    .await?;
    let (sender, receiver) = mpsc::channel(WRITE_QUEUE_CAPACITY);
    tokio::spawn(run(conn, receiver, max_seq.unwrap_or(0) + 1));
    Ok(sender)
}

async fn run(mut conn: SqliteConnection, mut receiver: mpsc::Receiver<WriteRequest>, mut next_seq: i64) {
    let mut batch: Vec<WriteRequest> = Vec::with_capacity(GROUP_COMMIT_BATCH_MAX);
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        while batch.len() < GROUP_COMMIT_BATCH_MAX {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, &mut batch, &mut next_seq).await;
    }
}

async fn commit_batch(conn: &mut SqliteConnection, batch: &mut Vec<WriteRequest>, next_seq: &mut i64) {
    let mut results = Vec::with_capacity(batch.len());
    if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
        tracing::error!(error = %e, "could not begin a write transaction");
        for (_, reply) in batch.drain(..) {
            let _ = reply.send(Err(StoreError::Corrupt("write transaction failed".into())));
        }
        return;
    }
    let mut replies = Vec::with_capacity(batch.len());
    for (command, reply) in batch.drain(..) {
        results.push(apply_in_savepoint(conn, command, next_seq).await);
        replies.push(reply);
    }
    match sqlx::query("COMMIT").execute(&mut *conn).await {
        Ok(_) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed; no write in the batch is acknowledged");
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            for reply in replies {
                let _ = reply.send(Err(StoreError::Corrupt("commit failed".into())));
            }
        }
    }
}

async fn apply_in_savepoint(
    conn: &mut SqliteConnection,
    command: WriteCommand,
    next_seq: &mut i64,
) -> Result<WriteOutcome, StoreError> {
    sqlx::query("SAVEPOINT command").execute(&mut *conn).await?;
    let result = apply(
        &mut SqliteOps {
            conn: &mut *conn,
            next_seq: &mut *next_seq,
        },
        command,
    )
    .await;
    if result.is_err() {
        sqlx::query("ROLLBACK TO command").execute(&mut *conn).await?;
    }
    sqlx::query("RELEASE command").execute(&mut *conn).await?;
    result
}
