//! The embedded default: SQLite in WAL mode with `synchronous=FULL`, so an acknowledged write
//! is on disk. One driver, rusqlite, for everything: the hot reads use a pool of read-only
//! connections (`reads`); all writes to payment data go through one writer thread that commits
//! concurrent requests together (group commit, see `writer`); migrations and the rare account
//! and key writes use an admin connection off the async threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

use super::doc::{decode, decode_page};
use super::events::{event_filters, events_list, in_order};
use super::key_cache::{KEY_CACHE_TTL, KeyCache};
use super::page::ListOf;
use super::{
    Backlog, Claim, ClaimedDelivery, DeliveryInfo, DueEndpoint, EventQuery, EventSummary, FailingEndpoint,
    FinishedDelivery, Health, KeyInfo, KeyOwner, ListError, ListQuery, NewKey, NewSession, Outage, Page, PoolUsage,
    RecordFilter, Resend, Resent, SavedIdempotent, Session, Store, StoreError, Tenant, Write, WriteOutcome,
};
use crate::events::WebhookEndpoint;
use crate::records::model::{PaymentAttemptRecord, PaymentRecord};
use writer::{DeliveryAnswer, DeliveryJob};

mod batch;
mod checkpoint;
mod connection;
mod essential;
mod events;
mod key_index;
mod key_log;
mod key_signal;
mod ledger;
pub mod migrate;
mod ops;
mod reads;
mod sessions;
mod totals;
mod writer;

pub use checkpoint::WAL_BYTES_MAX_DEFAULT;
pub use connection::{BUSY_TIMEOUT, SqliteSync, path_of};

#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub synchronous: SqliteSync,
    /// The WAL's bound under sustained writes (see `checkpoint`).
    pub wal_bytes_max: u64,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: SqliteSync::Full,
            wal_bytes_max: WAL_BYTES_MAX_DEFAULT,
        }
    }
}

/// Where saved idempotent results are; see `key_index`.
type SharedKeyIndex = Arc<Mutex<key_index::KeyIndex>>;

#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    reads: reads::ReadPool,
    writes: mpsc::Sender<writer::WriteRequest>,
    keys: SharedKeyIndex,
    /// API keys found, and the file that says when one was revoked (`key_signal`).
    api_keys: KeyCache,
    key_signal: key_signal::KeySignal,
    hasher: key_index::KeyHasher,
    /// Migrations, accounts and keys: rare writes, run on the blocking pool.
    admin: Arc<Mutex<Connection>>,
    health: Arc<Health>,
    delivery_signal: Arc<tokio::sync::Notify>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    pub async fn open(url: &str, options: &SqliteOptions) -> Result<Self, StoreError> {
        let path = path_of(url)?;
        let options = options.clone();
        let opened = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
            let mut admin = connection::open(&path, connection::Role::Admin, options.synchronous)?;
            migrate::run(&mut admin)?;
            let health = Arc::new(Health::default());
            let delivery_signal = Arc::new(tokio::sync::Notify::new());
            let started = writer::spawn(&path, &options, health.clone(), delivery_signal.clone())?;
            Ok(SqliteStore {
                reads: reads::ReadPool::new(path.clone()),
                api_keys: KeyCache::default(),
                key_signal: key_signal::KeySignal::beside(&path),
                path,
                writes: started.writes,
                keys: started.keys,
                hasher: started.hasher,
                admin: Arc::new(Mutex::new(admin)),
                health,
                delivery_signal,
            })
        });
        opened
            .await
            .map_err(|e| StoreError::Database(format!("opening the store: {e}")))?
    }

    /// Runs a change to the delivery queue on the writer, in its next batch.
    async fn deliveries(&self, job: DeliveryJob) -> Result<DeliveryAnswer, StoreError> {
        let (reply, result) = oneshot::channel();
        self.writes
            .send(writer::WriteRequest::Deliveries(job, reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the admin connection, off the async threads (it may wait for the write lock).
    async fn admin<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let admin = self.admin.clone();
        tokio::task::spawn_blocking(move || f(&mut admin.lock().expect("admin connection lock")))
            .await
            .map_err(|e| StoreError::Database(format!("an admin query did not finish: {e}")))?
    }
}

fn insert_key(conn: &Connection, key: &NewKey, verb: &str) -> Result<usize, rusqlite::Error> {
    conn.execute(
        &format!(
            "{verb} INTO api_keys (account_id, livemode, id, digest, prefix, last4, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ),
        params![
            key.tenant.account_id,
            key.tenant.livemode,
            key.key_id,
            &key.digest[..],
            key.prefix,
            key.last4,
            key.created
        ],
    )
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.reads.with(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
    }

    async fn migrations_current(&self) -> Result<bool, StoreError> {
        self.reads.with(migrate::current)
    }

    fn outage(&self) -> Option<Outage> {
        self.health.outage()
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.admin(|conn| checkpoint::truncate(conn)).await
    }

    async fn probe(&self) -> Result<(), StoreError> {
        let (reply, result) = oneshot::channel();
        self.writes
            .send(writer::WriteRequest::Probe(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }

    fn pool_usage(&self) -> PoolUsage {
        // The writer and the admin connection, and the idle readers (more open under load).
        let idle = self.reads.idle() as u32;
        PoolUsage {
            connections: idle + 2,
            idle,
        }
    }

    async fn count_accounts(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .reads
            .with(|conn| conn.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0)))?;
        Ok(n as u64)
    }

    async fn create_account(&self, account_id: &str, created: i64) -> Result<(), StoreError> {
        let id = account_id.to_owned();
        self.admin(move |conn| {
            conn.execute(
                "INSERT INTO accounts (id, created) VALUES (?1, ?2)",
                params![id, created],
            )?;
            Ok(())
        })
        .await
    }

    async fn create_first_account(&self, account_id: &str, created: i64) -> Result<bool, StoreError> {
        let id = account_id.to_owned();
        // One statement: SQLite runs writes one at a time, so the check and the insert are atomic.
        self.admin(move |conn| {
            let done = conn.execute(
                "INSERT INTO accounts (id, created) SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM accounts)",
                params![id, created],
            )?;
            Ok(done == 1)
        })
        .await
    }

    async fn account_exists(&self, account_id: &str) -> Result<bool, StoreError> {
        self.reads.with(|conn| {
            conn.query_row("SELECT 1 FROM accounts WHERE id = ?1", [account_id], |_| Ok(()))
                .optional()
                .map(|found| found.is_some())
        })
    }

    async fn create_key(&self, key: &NewKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.admin(move |conn| {
            insert_key(conn, &key, "INSERT")?;
            Ok(())
        })
        .await
    }

    async fn ensure_key_account(&self, key: &NewKey) -> Result<KeyOwner, StoreError> {
        let stored = key.clone();
        self.admin(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT OR IGNORE INTO accounts (id, created) VALUES (?1, ?2)",
                params![stored.tenant.account_id, stored.created],
            )?;
            insert_key(&tx, &stored, "INSERT OR IGNORE")?;
            tx.commit()?;
            Ok(())
        })
        .await?;
        self.find_key(&key.digest)
            .await?
            .ok_or_else(|| StoreError::Database("a key vanished right after its insert".into()))
    }

    async fn find_key(&self, digest: &[u8; 32]) -> Result<Option<KeyOwner>, StoreError> {
        self.key_signal.check(&self.api_keys);
        self.api_keys.find(digest, async { self.reads.find_key(digest) }).await
    }

    async fn list_keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        self.reads.with(|conn| {
            conn.prepare(
                "SELECT id, account_id, livemode, prefix, last4, created, revoked_at FROM api_keys ORDER BY account_id, created, id",
            )?
            .query_map([], |r| {
                Ok(KeyInfo {
                    key_id: r.get(0)?,
                    account_id: r.get(1)?,
                    livemode: r.get(2)?,
                    prefix: r.get(3)?,
                    last4: r.get(4)?,
                    created: r.get(5)?,
                    revoked_at: r.get(6)?,
                })
            })?
            .collect()
        })
    }

    /// Every process's key cache forgets its keys once this commits (`key_signal`).
    async fn revoke_key(&self, key_id: &str, now: i64) -> Result<bool, StoreError> {
        let id = key_id.to_owned();
        let done = self
            .admin(move |conn| {
                let done = conn.execute(
                    "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
                    params![now, id],
                )?;
                Ok(done == 1)
            })
            .await?;
        self.api_keys.forget();
        if done {
            self.key_signal.raise().map_err(|e| {
                StoreError::Database(format!(
                    "the key was revoked, but a running server may accept it for up to {} s more: {e}",
                    KEY_CACHE_TTL.as_secs()
                ))
            })?;
        }
        Ok(done)
    }

    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        let session = session.clone();
        self.admin(move |conn| sessions::create(conn, &session)).await
    }

    async fn find_session(&self, digest: &[u8; 32], now: i64) -> Result<Option<Session>, StoreError> {
        self.reads.with(|conn| sessions::find(conn, digest, now))
    }

    async fn delete_session(&self, digest: &[u8; 32], now: i64) -> Result<(), StoreError> {
        let digest = *digest;
        self.admin(move |conn| sessions::delete(conn, &digest, now)).await
    }

    async fn get_record(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentRecord>, StoreError> {
        self.reads
            .doc("payment_records", tenant, id)?
            .map(|d| decode(&d))
            .transpose()
    }

    async fn record_exists(&self, tenant: &Tenant, id: &str) -> Result<bool, StoreError> {
        self.reads.exists("payment_records", tenant, id)
    }

    async fn get_attempt(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentAttemptRecord>, StoreError> {
        self.reads
            .doc("payment_attempt_records", tenant, id)?
            .map(|d| decode(&d))
            .transpose()
    }

    async fn list_records_where(
        &self,
        tenant: &Tenant,
        query: &ListQuery,
        filter: &RecordFilter,
    ) -> Result<Page<PaymentRecord>, ListError> {
        let conditions = filter.conditions();
        let list = ListOf {
            filters: &conditions,
            ..ListOf::table("payment_records", tenant)
        };
        let page = match conditions.is_empty() {
            true => self.reads.page(&list, query)?,
            false => self.reads.scan(|reads| reads.page(&list, query)).await?,
        };
        Ok(decode_page(page)?)
    }

    async fn list_attempts(
        &self,
        tenant: &Tenant,
        record_id: &str,
        query: &ListQuery,
    ) -> Result<Page<PaymentAttemptRecord>, ListError> {
        let list = ListOf {
            parent: Some(("payment_record", record_id)),
            ..ListOf::table("payment_attempt_records", tenant)
        };
        Ok(decode_page(self.reads.page(&list, query)?)?)
    }

    async fn write(&self, write: Write) -> Result<WriteOutcome, StoreError> {
        let (reply, result) = oneshot::channel();
        // Rendered here, on the request's task, so the single writer does not.
        let prepared = super::write::prepare_events(&write);
        self.writes
            .send(writer::WriteRequest::Write(write, prepared, reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }

    async fn find_idempotent(&self, tenant: &Tenant, key: &str) -> Result<Option<SavedIdempotent>, StoreError> {
        let hash = self.hasher.hash(tenant, key);
        let rowids = self.keys.lock().expect("key index lock").candidates(hash);
        self.reads.find_idempotent(tenant, key, &rowids)
    }

    /// Rows are appended in time order, so the expired ones are a prefix of the rowids: find
    /// the first live row and delete the range before it (reads only what it deletes), with the
    /// key log's chunks before it. Rows out of order are expired by `claim_key`'s check and go
    /// in a later prune.
    async fn prune_idempotent(&self, cutoff: i64) -> Result<u64, StoreError> {
        let (deleted, first_live) = self
            .admin(move |conn| {
                // IMMEDIATE: it reads, then writes (see `events::prune`).
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let first_live: i64 = tx.query_row(
                    "SELECT COALESCE((SELECT rowid FROM idempotency_keys WHERE created >= ?1 ORDER BY rowid LIMIT 1), \
                     (SELECT COALESCE(MAX(rowid), 0) + 1 FROM idempotency_keys))",
                    [cutoff],
                    |r| r.get(0),
                )?;
                let deleted = tx.execute("DELETE FROM idempotency_keys WHERE rowid < ?1", [first_live])?;
                key_log::prune(&tx, first_live)?;
                tx.commit()?;
                Ok((deleted as u64, first_live))
            })
            .await?;
        self.keys.lock().expect("key index lock").forget_before(first_live);
        Ok(deleted)
    }

    async fn get_event(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        self.reads.with(|conn| Ok(events::get_event(conn, tenant, id)))?
    }

    async fn list_events(&self, tenant: &Tenant, query: &EventQuery) -> Result<Page<String>, ListError> {
        if !query.can_match() {
            return Ok(Page::empty());
        }
        let filters = event_filters(query);
        let list = events_list(tenant, &filters);
        let ids = match filters.is_empty() {
            true => self.reads.page(&list, &query.page)?,
            false => self.reads.scan(|reads| reads.page(&list, &query.page)).await?,
        };
        let bodies = self
            .reads
            .with(|conn| Ok(events::events_by_id(conn, tenant, &ids.data)))??;
        Ok(Page {
            data: in_order(&ids.data, bodies)?,
            has_more: ids.has_more,
        })
    }

    async fn record_events(&self, tenant: &Tenant, record_id: &str) -> Result<Vec<EventSummary>, StoreError> {
        self.reads.with(|conn| events::record_events(conn, tenant, record_id))
    }

    async fn get_endpoint(&self, tenant: &Tenant, id: &str) -> Result<Option<WebhookEndpoint>, StoreError> {
        self.reads
            .doc("webhook_endpoints", tenant, id)?
            .map(|d| decode(&d))
            .transpose()
    }

    async fn endpoint_secret(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        self.reads.with(|conn| events::endpoint_secret(conn, tenant, id))
    }

    async fn list_endpoints(&self, tenant: &Tenant, query: &ListQuery) -> Result<Page<WebhookEndpoint>, ListError> {
        let list = ListOf::table("webhook_endpoints", tenant);
        Ok(decode_page(self.reads.page(&list, query)?)?)
    }

    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        endpoint_id: Option<&str>,
        event_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeliveryInfo>, StoreError> {
        self.reads
            .with(|conn| events::list_deliveries(conn, tenant, endpoint_id, event_id, limit))
    }

    async fn prune_events(&self, cutoff: i64) -> Result<u64, StoreError> {
        self.admin(move |conn| events::prune(conn, cutoff)).await
    }

    async fn release_dead_leases(&self) -> Result<u64, StoreError> {
        let now = crate::clock::unix_now_millis() as i64;
        self.admin(move |conn| events::release_leases(conn, now)).await
    }

    fn deliveries_queued(&self) -> Arc<tokio::sync::Notify> {
        self.delivery_signal.clone()
    }

    async fn due_endpoints(&self, now_ms: i64) -> Result<Vec<DueEndpoint>, StoreError> {
        self.reads.with(|conn| events::due_endpoints(conn, now_ms))
    }

    async fn claim_deliveries(&self, claim: Claim) -> Result<Vec<ClaimedDelivery>, StoreError> {
        match self.deliveries(DeliveryJob::Claim(claim)).await? {
            DeliveryAnswer::Claimed(claimed) => Ok(claimed),
            _ => unreachable!("a claim is answered with deliveries"),
        }
    }

    async fn finish_deliveries(&self, finished: Vec<FinishedDelivery>) -> Result<Vec<FailingEndpoint>, StoreError> {
        match self.deliveries(DeliveryJob::Finish(finished)).await? {
            DeliveryAnswer::Finished(failing) => Ok(failing),
            _ => unreachable!("a finish is answered Finished"),
        }
    }

    async fn cap_backlogs(&self, max: u64) -> Result<u64, StoreError> {
        match self.deliveries(DeliveryJob::CapBacklogs(max)).await? {
            DeliveryAnswer::Capped(n) => Ok(n),
            _ => unreachable!("a cap is answered Capped"),
        }
    }

    async fn delivery_backlog(&self) -> Result<Backlog, StoreError> {
        self.reads.with(events::backlog)
    }

    async fn resend_event(&self, resend: &Resend) -> Result<Resent, StoreError> {
        let resend = resend.clone();
        self.admin(move |conn| events::resend(conn, &resend)).await
    }
}
