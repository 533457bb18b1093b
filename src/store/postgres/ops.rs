//! PostgreSQL's SQL for the shared write path (`store::write`): one transaction, its rows
//! in one statement (`batch`).

use sqlx::Row;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, Transaction};

use super::batch::{Batch, BatchError};
use super::kept::KeptConnections;
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
            deliveries_queued: 0,
        }
    }

    /// The connection for a read: the batch holds nothing it should see.
    pub(super) async fn read_conn(&mut self) -> Result<&mut PgConnection, StoreError> {
        assert!(self.batch.is_empty(), "a write reads before it writes its rows");
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

/// One write, in one transaction, its rows in one statement; with how many webhook deliveries
/// it queued (the worker is woken for them).
pub(super) async fn write(
    pool: &PgPool,
    kept: &KeptConnections,
    write: &dyn AnyWrite,
) -> Result<(WriteOutcome<AnyDone>, u64), StoreError> {
    let mut ops = PgOps::new(pool, kept, write.reads_its_own_rows());
    let outcome = write.apply(&mut ops).await?;
    assert!(
        matches!(outcome, WriteOutcome::Executed { .. }),
        "PostgreSQL finds a taken key when it commits"
    );
    match ops.finish().await {
        Ok(queued) => Ok((outcome, queued)),
        Err(BatchError::KeyTaken) => {
            let key = write.idempotency_key().expect("only a keyed write saves a key");
            let saved = saved(pool, write.tenant(), key)
                .await?
                .ok_or_else(|| StoreError::Database(format!("idempotency key {key:?} was taken, then gone")))?;
            Ok((WriteOutcome::AlreadySaved(saved), 0))
        }
        Err(BatchError::Store(e)) => Err(e),
    }
}

/// The result saved under `key`.
pub(super) async fn saved(pool: &PgPool, tenant: &Tenant, key: &str) -> Result<Option<SavedIdempotent>, StoreError> {
    let row = sqlx::query(
        "SELECT fingerprint, request_id, status, body, created FROM idempotency_keys \
         WHERE account_id = $1 AND livemode = $2 AND key = $3",
    )
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(saved_from_row))
}

fn saved_from_row(r: &PgRow) -> SavedIdempotent {
    SavedIdempotent {
        fingerprint: r.get("fingerprint"),
        request_id: r.get("request_id"),
        response: SavedResponse {
            status: r.get::<i32, _>("status") as u16,
            body: r.get("body"),
        },
        created: r.get("created"),
    }
}
