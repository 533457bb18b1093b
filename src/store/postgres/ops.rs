//! PostgreSQL's SQL for the shared write path (`store::write`): one transaction, its rows
//! in one statement (`batch`).

use std::sync::Arc;

use sqlx::Row;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, Transaction};

use super::batch::{Batch, BatchError};
use super::committer::{Committer, Grouped};
use super::group::NewRows;
use super::kept::KeptConnections;
use super::primary::Primary;
use crate::store::write::{AnyDone, AnyWrite, WriteOutcome};
use crate::store::{SavedIdempotent, SavedResponse, StoreError, Tenant};

/// The write path's SQL. Row writes collect in `batch`, sent as one statement by `finish`
/// (or at once, `immediate`, for an import, whose later reads must see its earlier rows).
/// Reads, and the writes whose outcome the path needs at once, run in a transaction begun on
/// the first of them; a write with none, like report_payment, never sends BEGIN.
pub(super) struct PgOps<'p> {
    pub(super) pool: &'p PgPool,
    /// Where a write with no transaction sends its one statement.
    pub(super) kept: &'p KeptConnections,
    pub(super) tx: Option<Transaction<'static, Postgres>>,
    pub(super) batch: Batch,
    pub(super) immediate: bool,
    /// Whether a write that reads nothing first hands its rows to the group commit.
    grouping: bool,
    /// Those rows, when it does (`committer`).
    pub(super) group: Option<NewRows>,
    /// Deliveries queued by this transaction (the worker is woken after the commit).
    pub deliveries_queued: u64,
}

impl std::fmt::Debug for PgOps<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOps")
            .field("in_transaction", &self.tx.is_some())
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl<'p> PgOps<'p> {
    pub fn new(pool: &'p PgPool, kept: &'p KeptConnections, immediate: bool) -> Self {
        PgOps {
            pool,
            kept,
            tx: None,
            batch: Batch::default(),
            immediate,
            grouping: false,
            group: None,
            deliveries_queued: 0,
        }
    }

    /// Rows of a write that reads nothing before them go to the group commit.
    fn grouped(mut self) -> Self {
        self.grouping = !self.immediate;
        self
    }

    /// Where a row insert goes when the write is grouped: it has read nothing (no
    /// transaction is open), so it never will (a write reads before it writes).
    pub(super) fn group_rows(&mut self) -> Option<&mut NewRows> {
        match self.grouping && self.tx.is_none() {
            true => Some(self.group.get_or_insert_with(NewRows::of_one_write)),
            false => None,
        }
    }

    /// The connection for a read: the batch holds nothing it should see.
    pub(super) async fn read_conn(&mut self) -> Result<&mut PgConnection, StoreError> {
        assert!(
            self.batch.is_empty() && self.group.is_none(),
            "a write reads before it writes its rows"
        );
        begun(&mut self.tx, self.pool).await
    }

    /// After a row write was batched: sends it at once when writing immediately.
    pub(super) async fn batched(&mut self) -> Result<(), StoreError> {
        if self.immediate {
            let conn = begun(&mut self.tx, self.pool).await?;
            let ran = self.batch.run(conn).await.map_err(batch_error)?;
            self.deliveries_queued += ran.deliveries;
        }
        Ok(())
    }

    /// Sends what is batched and commits. `KeyTaken`: the key was live, nothing was written
    /// (the statement's error rolled it back).
    pub async fn finish(mut self) -> Result<u64, BatchError> {
        let ran = match self.tx.as_mut() {
            Some(tx) => self.batch.run(&mut **tx).await,
            None => {
                let mut kept = self.kept.take().await.map_err(BatchError::Store)?;
                let ran = self.batch.run(kept.conn()).await;
                if ran.is_ok() {
                    kept.done();
                }
                ran
            }
        };
        let ran = match ran {
            Ok(ran) => ran,
            Err(e) => {
                if let Some(tx) = self.tx.take() {
                    tx.rollback().await.map_err(|e| BatchError::Store(e.into()))?;
                }
                return Err(e);
            }
        };
        if let Some(tx) = self.tx.take() {
            tx.commit().await.map_err(|e| BatchError::Store(e.into()))?;
        }
        Ok(self.deliveries_queued + ran.deliveries)
    }
}

/// The write's transaction, begun now if it has not been.
pub(super) async fn begun<'t>(
    tx: &'t mut Option<Transaction<'static, Postgres>>,
    pool: &PgPool,
) -> Result<&'t mut PgConnection, StoreError> {
    if tx.is_none() {
        *tx = Some(pool.begin().await?);
    }
    Ok(tx.as_mut().expect("begun"))
}

/// A batch run outside `finish`: no idempotency key goes in those batches.
pub(super) fn batch_error(e: BatchError) -> StoreError {
    match e {
        BatchError::Store(e) => e,
        BatchError::KeyTaken => StoreError::Database("a key in an immediate write".into()),
    }
}

/// Where writes are sent: the primary's pool and kept connections, and the group commit.
pub(super) struct Target<'t> {
    pub primary: &'t Arc<Primary>,
    pub pool: &'t PgPool,
    pub kept: &'t KeptConnections,
    pub committer: &'t Committer,
}

/// One write, in one transaction; with how many webhook deliveries it queued (the worker is
/// woken for them). A write that reads nothing first is committed with others (`committer`);
/// any other, or one whose group failed on another write's rows, on its own, its rows in one
/// statement.
pub(super) async fn write(to: &Target<'_>, write: &dyn AnyWrite) -> Result<(WriteOutcome<AnyDone>, u64), StoreError> {
    let mut ops = PgOps::new(to.pool, to.kept, write.reads_its_own_rows()).grouped();
    let outcome = write.apply(&mut ops).await?;
    let Some(rows) = ops.group.take() else {
        return finish(to.pool, write, ops, outcome).await;
    };
    assert!(ops.batch.is_empty(), "a grouped write's rows are all in its group");
    match to.committer.commit(to.primary, rows).await? {
        Grouped::Committed(queued) => Ok((outcome, queued)),
        Grouped::KeyTaken => Ok((replay(to.pool, write).await?, 0)),
        Grouped::Alone => {
            crate::telemetry::record_group_rerun();
            let mut ops = PgOps::new(to.pool, to.kept, write.reads_its_own_rows());
            let outcome = write.apply(&mut ops).await?;
            finish(to.pool, write, ops, outcome).await
        }
    }
}

/// Commits a write's transaction (or sends its one statement).
async fn finish(
    pool: &PgPool,
    write: &dyn AnyWrite,
    ops: PgOps<'_>,
    outcome: WriteOutcome<AnyDone>,
) -> Result<(WriteOutcome<AnyDone>, u64), StoreError> {
    assert!(
        matches!(outcome, WriteOutcome::Executed { .. }),
        "PostgreSQL finds a taken key when it commits"
    );
    match ops.finish().await {
        Ok(queued) => Ok((outcome, queued)),
        Err(BatchError::KeyTaken) => Ok((replay(pool, write).await?, 0)),
        Err(BatchError::Store(e)) => Err(e),
    }
}

/// The outcome of a write whose key another request saved first: that request's result.
async fn replay(pool: &PgPool, write: &dyn AnyWrite) -> Result<WriteOutcome<AnyDone>, StoreError> {
    let key = write.idempotency_key().expect("only a keyed write saves a key");
    let saved = saved(pool, write.tenant(), key)
        .await?
        .ok_or_else(|| StoreError::Database(format!("idempotency key {key:?} was taken, then gone")))?;
    Ok(WriteOutcome::AlreadySaved(saved))
}

/// What an idempotency key's insert sets when it takes over an expired key (`ON CONFLICT … DO
/// UPDATE SET`), for one write and for a group.
pub(super) const KEY_TAKEN_OVER: &str = "fingerprint = excluded.fingerprint, request_id = excluded.request_id, \
     status = excluded.status, body = excluded.body, packed = excluded.packed, created = excluded.created";

/// The result saved under `key`.
pub(super) async fn saved(pool: &PgPool, tenant: &Tenant, key: &str) -> Result<Option<SavedIdempotent>, StoreError> {
    let row = sqlx::query(
        "SELECT fingerprint, request_id, status, body, packed, created FROM idempotency_keys \
         WHERE account_id = $1 AND livemode = $2 AND key = $3",
    )
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(saved_from_row).transpose()
}

fn saved_from_row(r: &PgRow) -> Result<SavedIdempotent, StoreError> {
    // Rows saved before migration 0010 hold the body as text.
    let body = match r.get::<Option<Vec<u8>>, _>("packed") {
        Some(packed) => crate::store::idempotency::unpack_body(&packed)?,
        None => r.get::<Option<String>, _>("body").unwrap_or_default(),
    };
    Ok(SavedIdempotent {
        fingerprint: r.get("fingerprint"),
        request_id: r.get("request_id"),
        response: SavedResponse {
            status: r.get::<i32, _>("status") as u16,
            body,
        },
        created: r.get("created"),
    })
}
