//! PostgreSQL's SQL for the shared write path (`store::write`): one transaction, its rows
//! in one statement (`batch`).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, Transaction};

use super::batch::{Batch, BatchError, Rows};
use super::kept::KeptConnections;
use super::{ATTEMPT_DOC, RECORD_DOC_FOR_UPDATE, doc, events, totals};
use crate::events::WebhookEndpoint;
use crate::records::command::RecordCommand;
use crate::records::model::{PaymentAttemptRecord, PaymentRecord, Refund};
use crate::records::totals::TotalsChange;
use crate::store::doc::encode;
use crate::store::write::{Command, PackedEvent, Write, WriteOps, WriteOutcome, apply};
use crate::store::{IdempotencySave, SavedIdempotent, SavedResponse, StoreError, Tenant};

/// The write path's SQL. Row writes collect in `batch`, sent as one statement by `finish`
/// (or at once, `immediate`, for an import, whose later reads must see its earlier rows).
/// Reads, and the writes whose outcome the path needs at once, run in a transaction begun on
/// the first of them; a write with none, like report_payment, never sends BEGIN.
pub(super) struct PgOps<'p> {
    pool: &'p PgPool,
    /// Where a write with no transaction sends its one statement.
    kept: &'p KeptConnections,
    tx: Option<Transaction<'static, Postgres>>,
    batch: Batch,
    immediate: bool,
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
    async fn read_conn(&mut self) -> Result<&mut PgConnection, StoreError> {
        assert!(self.batch.is_empty(), "a write reads before it writes its rows");
        begun(&mut self.tx, self.pool).await
    }

    /// After a row write was batched: sends it at once when writing immediately.
    async fn batched(&mut self) -> Result<(), StoreError> {
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
async fn begun<'t>(
    tx: &'t mut Option<Transaction<'static, Postgres>>,
    pool: &PgPool,
) -> Result<&'t mut PgConnection, StoreError> {
    if tx.is_none() {
        *tx = Some(pool.begin().await?);
    }
    Ok(tx.as_mut().expect("begun"))
}

/// A batch run outside `finish`: no idempotency key goes in those batches.
fn batch_error(e: BatchError) -> StoreError {
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
    write: Write,
) -> Result<(WriteOutcome, u64), StoreError> {
    // An import reads what it wrote a moment before (a refund reference, say).
    let immediate = matches!(write.command, Command::Record(RecordCommand::Import(_)));
    let key = write
        .idempotency
        .as_ref()
        .map(|idem| (write.tenant.clone(), idem.key.clone()));
    let mut ops = PgOps::new(pool, kept, immediate);
    let outcome = apply(&mut ops, write, None).await?;
    assert!(
        matches!(outcome, WriteOutcome::Executed { .. }),
        "PostgreSQL finds a taken key when it commits"
    );
    match ops.finish().await {
        Ok(queued) => Ok((outcome, queued)),
        Err(BatchError::KeyTaken) => {
            let (tenant, key) = key.expect("only a keyed write saves a key");
            let saved = saved(pool, &tenant, &key)
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

#[async_trait]
impl WriteOps for PgOps<'_> {
    /// Lazy: the key is saved with the write's rows (`finish_key`), in its statement. Two
    /// replicas running the same key both execute; the second's insert of the key waits for
    /// the first's commit, finds the key taken, and its whole statement fails and is rolled
    /// back before the first result is replayed, so only one execution ever commits.
    async fn claim_key(
        &mut self,
        _tenant: &Tenant,
        _idem: &IdempotencySave,
    ) -> Result<Option<SavedIdempotent>, StoreError> {
        Ok(None)
    }

    async fn finish_key(
        &mut self,
        tenant: &Tenant,
        idem: &IdempotencySave,
        response: &SavedResponse,
    ) -> Result<Option<SavedIdempotent>, StoreError> {
        assert!(!self.immediate, "an immediate write carries no idempotency key");
        // New key: insert. Expired key: take it over. Live key: no row, and `finish` fails.
        let b = &mut self.batch;
        let values = [
            b.bind(&tenant.account_id),
            b.bind(tenant.livemode),
            b.bind(&idem.key),
            b.bind(&idem.fingerprint),
            b.bind(&idem.request_id),
            b.bind(i32::from(response.status)),
            b.bind(&response.body),
            b.bind(idem.created),
        ];
        let sql = format!(
            "INSERT INTO idempotency_keys (account_id, livemode, key, fingerprint, request_id, status, body, created) \
             VALUES ({}) ON CONFLICT (account_id, livemode, key) DO UPDATE SET \
             fingerprint = excluded.fingerprint, request_id = excluded.request_id, status = excluded.status, \
             body = excluded.body, created = excluded.created WHERE idempotency_keys.created < {} RETURNING 1",
            values.join(", "),
            b.bind(idem.expired_before)
        );
        b.push(sql, Rows::Key);
        Ok(None)
    }

    async fn lock_record_doc(&mut self, tenant: &Tenant, record_id: &str) -> Result<Option<String>, StoreError> {
        doc(self.read_conn().await?, RECORD_DOC_FOR_UPDATE, tenant, record_id).await
    }

    async fn attempt_doc(&mut self, tenant: &Tenant, attempt_id: &str) -> Result<Option<String>, StoreError> {
        doc(self.read_conn().await?, ATTEMPT_DOC, tenant, attempt_id).await
    }

    async fn insert_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError> {
        assert_eq!(
            record.livemode, tenant.livemode,
            "records are written in their tenant's mode"
        );
        let b = &mut self.batch;
        let values = [
            b.bind(&tenant.account_id),
            b.bind(tenant.livemode),
            b.bind(record.id.as_str()),
            b.bind(record.created),
            b.bind(encode(record)),
            b.bind(&record.details.processor_details.payment_reference),
            b.bind(record.amount_requested.currency.as_str()),
            b.bind(record.amount_requested.value),
            b.bind(record.latest_attempt_state.as_str()),
        ];
        b.push(
            format!(
                "INSERT INTO payment_records (account_id, livemode, id, created, doc, payment_reference, currency, amount, state) \
                 VALUES ({}) RETURNING 1",
                values.join(", ")
            ),
            Rows::Any,
        );
        self.batched().await
    }

    async fn update_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError> {
        let b = &mut self.batch;
        let sql = format!(
            "UPDATE payment_records SET doc = {}, state = {} WHERE account_id = {} AND livemode = {} AND id = {} RETURNING 1",
            b.bind(encode(record)),
            b.bind(record.latest_attempt_state.as_str()),
            b.bind(&tenant.account_id),
            b.bind(tenant.livemode),
            b.bind(record.id.as_str()),
        );
        // One row: the locked record.
        b.push(sql, Rows::One);
        self.batched().await
    }

    async fn insert_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError> {
        assert_eq!(
            attempt.livemode, tenant.livemode,
            "attempts are written in their tenant's mode"
        );
        let b = &mut self.batch;
        let values = [
            b.bind(&tenant.account_id),
            b.bind(tenant.livemode),
            b.bind(attempt.id.as_str()),
            b.bind(attempt.payment_record.as_str()),
            b.bind(attempt.created),
            b.bind(attempt.state.as_str()),
            b.bind(encode(attempt)),
        ];
        b.push(
            format!(
                "INSERT INTO payment_attempt_records (account_id, livemode, id, payment_record, created, state, doc) \
                 VALUES ({}) RETURNING 1",
                values.join(", ")
            ),
            Rows::Any,
        );
        self.batched().await
    }

    async fn update_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError> {
        let b = &mut self.batch;
        let sql = format!(
            "UPDATE payment_attempt_records SET state = {}, doc = {} WHERE account_id = {} AND livemode = {} AND id = {} RETURNING 1",
            b.bind(attempt.state.as_str()),
            b.bind(encode(attempt)),
            b.bind(&tenant.account_id),
            b.bind(tenant.livemode),
            b.bind(attempt.id.as_str()),
        );
        // One row: the latest attempt of the locked record.
        b.push(sql, Rows::One);
        self.batched().await
    }

    /// At once: whether the reference was free decides the rest of the write.
    async fn insert_refund(&mut self, tenant: &Tenant, refund: &Refund) -> Result<bool, StoreError> {
        assert!(self.batch.is_empty(), "a refund is its write's first row");
        let b = &mut self.batch;
        let values = [
            b.bind(&tenant.account_id),
            b.bind(tenant.livemode),
            b.bind(&refund.refund_reference),
            b.bind(refund.payment_record.as_str()),
            b.bind(refund.payment_attempt_record.as_str()),
            b.bind(refund.amount.currency.as_str()),
            b.bind(refund.amount.value),
            b.bind(refund.refunded_at),
            b.bind(refund.initiated_at),
            b.bind(refund.created),
        ];
        b.push(
            format!(
                "INSERT INTO refunds (account_id, livemode, refund_reference, payment_record, payment_attempt_record, currency, value, refunded_at, initiated_at, created) \
                 VALUES ({}) ON CONFLICT (account_id, livemode, refund_reference) DO NOTHING RETURNING 1",
                values.join(", ")
            ),
            Rows::Any,
        );
        let conn = begun(&mut self.tx, self.pool).await?;
        let ran = self.batch.run(conn).await.map_err(batch_error)?;
        Ok(ran.counts == [1])
    }

    async fn refund_reference_used(&mut self, tenant: &Tenant, reference: &str) -> Result<bool, StoreError> {
        let used: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM refunds WHERE account_id = $1 AND livemode = $2 AND refund_reference = $3)",
        )
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(reference)
        .fetch_one(self.read_conn().await?)
        .await?;
        Ok(used)
    }

    async fn add_totals(&mut self, tenant: &Tenant, change: &TotalsChange) -> Result<(), StoreError> {
        totals::push_add(&mut self.batch, tenant, change);
        self.batched().await
    }

    async fn insert_events(&mut self, tenant: &Tenant, events: &[PackedEvent], now_ms: i64) -> Result<(), StoreError> {
        events::push_events(&mut self.batch, tenant, events, now_ms);
        self.batched().await
    }

    async fn count_endpoints(&mut self, tenant: &Tenant) -> Result<u64, StoreError> {
        events::count_endpoints(self.read_conn().await?, tenant).await
    }

    async fn lock_endpoint_doc(&mut self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        events::lock_endpoint_doc(self.read_conn().await?, tenant, id).await
    }

    async fn insert_endpoint(
        &mut self,
        tenant: &Tenant,
        endpoint: &WebhookEndpoint,
        secret: &str,
    ) -> Result<(), StoreError> {
        events::insert_endpoint(self.read_conn().await?, tenant, endpoint, secret).await
    }

    async fn update_endpoint(&mut self, tenant: &Tenant, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        events::update_endpoint(self.read_conn().await?, tenant, endpoint).await
    }

    async fn delete_endpoint(&mut self, tenant: &Tenant, id: &str) -> Result<(), StoreError> {
        events::delete_endpoint(self.read_conn().await?, tenant, id).await
    }
}
