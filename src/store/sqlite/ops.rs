//! SQLite's SQL for the shared write path (`store::write`), on the writer thread's rusqlite
//! connection inside its transaction. SQLite's single writer is the record lock.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::SharedKeyIndex;
use super::events;
use super::key_index::{KeyEntry, KeyHasher, saved_at};
use crate::events::WebhookEndpoint;
use crate::records::model::{PaymentAttemptRecord, PaymentRecord, Refund};
use crate::records::totals::TotalsChange;
use crate::store::doc::encode;
use crate::store::write::PackedEvent;
use crate::store::write::WriteOps;
use crate::store::{IdempotencySave, SavedIdempotent, SavedResponse, StoreError, Tenant};

#[derive(Debug)]
pub(super) struct SqliteOps<'c> {
    pub conn: &'c mut Connection,
    /// Ordering tiebreak for lists, allocated by the single writer.
    pub next_seq: &'c mut i64,
    /// Where saved idempotent results are (published after commit).
    pub keys: &'c SharedKeyIndex,
    pub hasher: KeyHasher,
    /// Results saved by this batch, not yet published.
    pub new_keys: &'c mut Vec<KeyEntry>,
    /// Deliveries queued by this batch (the worker is woken after the commit).
    pub deliveries_queued: &'c mut usize,
    /// The tenants' enabled endpoints, as the writer knows them.
    pub subscriptions: &'c mut events::Subscriptions,
}

impl SqliteOps<'_> {
    fn take_seq(&mut self) -> i64 {
        let seq = *self.next_seq;
        *self.next_seq += 1;
        seq
    }

    fn doc(&self, sql: &str, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut stmt| {
                stmt.query_row(params![tenant.account_id, tenant.livemode, id], |r| r.get(0))
                    .optional()
            })
            .map_err(StoreError::from)
    }

    fn exec(&self, sql: &str, values: impl rusqlite::Params) -> Result<usize, StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute(values))
            .map_err(StoreError::from)
    }
}

#[async_trait]
impl WriteOps for SqliteOps<'_> {
    /// The single writer runs one command at a time, so nothing can take the key between this
    /// read and `finish_key`. Reading it first keeps a replay from writing anything it must
    /// then undo. Candidates come from the in-memory index (`key_index`) and this batch's own
    /// unpublished results; the row decides.
    async fn claim_key(
        &mut self,
        tenant: &Tenant,
        idem: &IdempotencySave,
    ) -> Result<Option<SavedIdempotent>, StoreError> {
        let hash = self.hasher.hash(tenant, &idem.key);
        let published = self.keys.lock().expect("key index lock").candidates(hash);
        let mut rowids: Vec<i64> = self
            .new_keys
            .iter()
            .rev()
            .filter(|e| e.hash == hash)
            .map(|e| e.rowid)
            .collect();
        rowids.extend(published);
        let saved = saved_at(self.conn, &rowids, tenant, &idem.key)?;
        Ok(saved.filter(|s| idem.replays(s)))
    }

    /// Appends the result; an expired row of the same key stays until the pruner removes it.
    async fn finish_key(
        &mut self,
        tenant: &Tenant,
        idem: &IdempotencySave,
        response: &SavedResponse,
    ) -> Result<Option<SavedIdempotent>, StoreError> {
        self.exec(
            "INSERT INTO idempotency_keys (account_id, livemode, key, fingerprint, request_id, status, body, created) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                tenant.account_id,
                tenant.livemode,
                idem.key,
                idem.fingerprint,
                idem.request_id,
                i64::from(response.status),
                response.body,
                idem.created
            ],
        )?;
        self.new_keys.push(KeyEntry {
            hash: self.hasher.hash(tenant, &idem.key),
            rowid: self.conn.last_insert_rowid(),
        });
        Ok(None)
    }

    async fn lock_record_doc(&mut self, tenant: &Tenant, record_id: &str) -> Result<Option<String>, StoreError> {
        // The single writer is the lock.
        self.doc(
            "SELECT doc FROM payment_records WHERE account_id = ?1 AND livemode = ?2 AND id = ?3",
            tenant,
            record_id,
        )
    }

    async fn attempt_doc(&mut self, tenant: &Tenant, attempt_id: &str) -> Result<Option<String>, StoreError> {
        self.doc(
            "SELECT doc FROM payment_attempt_records WHERE account_id = ?1 AND livemode = ?2 AND id = ?3",
            tenant,
            attempt_id,
        )
    }

    async fn insert_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError> {
        assert_eq!(
            record.livemode, tenant.livemode,
            "records are written in their tenant's mode"
        );
        let seq = self.take_seq();
        self.exec(
            "INSERT INTO payment_records (account_id, livemode, id, created, seq, doc, payment_reference, \
             currency, amount, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                tenant.account_id,
                tenant.livemode,
                record.id.as_str(),
                record.created,
                seq,
                encode(record),
                record.details.processor_details.payment_reference,
                record.amount_requested.currency.as_str(),
                record.amount_requested.value,
                record.latest_attempt_state.as_str()
            ],
        )?;
        Ok(())
    }

    async fn update_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError> {
        let done = self.exec(
            "UPDATE payment_records SET doc = ?1, state = ?2 WHERE account_id = ?3 AND livemode = ?4 AND id = ?5",
            params![
                encode(record),
                record.latest_attempt_state.as_str(),
                tenant.account_id,
                tenant.livemode,
                record.id.as_str()
            ],
        )?;
        assert_eq!(done, 1, "the locked record exists");
        Ok(())
    }

    async fn insert_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError> {
        assert_eq!(
            attempt.livemode, tenant.livemode,
            "attempts are written in their tenant's mode"
        );
        let seq = self.take_seq();
        self.exec(
            "INSERT INTO payment_attempt_records (account_id, livemode, id, payment_record, created, seq, state, doc) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                tenant.account_id,
                tenant.livemode,
                attempt.id.as_str(),
                attempt.payment_record.as_str(),
                attempt.created,
                seq,
                attempt.state.as_str(),
                encode(attempt)
            ],
        )?;
        Ok(())
    }

    async fn update_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError> {
        let done = self.exec(
            "UPDATE payment_attempt_records SET state = ?1, doc = ?2 WHERE account_id = ?3 AND livemode = ?4 AND id = ?5",
            params![attempt.state.as_str(), encode(attempt), tenant.account_id, tenant.livemode, attempt.id.as_str()],
        )?;
        assert_eq!(done, 1, "the latest attempt exists");
        Ok(())
    }

    async fn insert_refund(&mut self, tenant: &Tenant, refund: &Refund) -> Result<bool, StoreError> {
        let done = self.exec(
            "INSERT INTO refunds (account_id, livemode, refund_reference, payment_record, payment_attempt_record, \
             currency, value, refunded_at, initiated_at, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT (account_id, livemode, refund_reference) DO NOTHING",
            params![
                tenant.account_id,
                tenant.livemode,
                refund.refund_reference,
                refund.payment_record.as_str(),
                refund.payment_attempt_record.as_str(),
                refund.amount.currency.as_str(),
                refund.amount.value,
                refund.refunded_at,
                refund.initiated_at,
                refund.created
            ],
        )?;
        Ok(done == 1)
    }

    async fn refund_reference_used(&mut self, tenant: &Tenant, reference: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM refunds WHERE account_id = ?1 AND livemode = ?2 AND refund_reference = ?3)",
            )
            .and_then(|mut stmt| stmt.query_row(params![tenant.account_id, tenant.livemode, reference], |r| r.get(0)))
            .map_err(StoreError::from)
    }

    async fn add_totals(&mut self, tenant: &Tenant, change: &TotalsChange) -> Result<(), StoreError> {
        let v = change.delta.values();
        self.exec(
            &super::totals::ADD_TOTALS,
            params![
                tenant.account_id,
                tenant.livemode,
                change.currency,
                change.day,
                v[0],
                v[1],
                v[2],
                v[3],
                v[4],
                v[5],
                v[6],
                v[7],
                v[8],
                v[9],
                v[10],
                v[11]
            ],
        )?;
        Ok(())
    }

    async fn insert_events(&mut self, tenant: &Tenant, events: &[PackedEvent], now_ms: i64) -> Result<(), StoreError> {
        *self.deliveries_queued += events::insert_events(self.conn, self.subscriptions, tenant, events, now_ms)?;
        Ok(())
    }

    async fn count_endpoints(&mut self, tenant: &Tenant) -> Result<u64, StoreError> {
        events::count_endpoints(self.conn, tenant)
    }

    async fn lock_endpoint_doc(&mut self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        // The single writer is the lock.
        events::endpoint_doc(self.conn, tenant, id)
    }

    async fn insert_endpoint(
        &mut self,
        tenant: &Tenant,
        endpoint: &WebhookEndpoint,
        secret: &str,
    ) -> Result<(), StoreError> {
        let seq = self.take_seq();
        self.subscriptions.forget(tenant);
        events::insert_endpoint(self.conn, tenant, seq, endpoint, secret)
    }

    async fn update_endpoint(&mut self, tenant: &Tenant, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        self.subscriptions.forget(tenant);
        events::update_endpoint(self.conn, tenant, endpoint)
    }

    async fn delete_endpoint(&mut self, tenant: &Tenant, id: &str) -> Result<(), StoreError> {
        self.subscriptions.forget(tenant);
        events::delete_endpoint(self.conn, tenant, id)
    }
}
