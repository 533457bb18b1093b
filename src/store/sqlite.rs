//! The embedded default: SQLite in WAL mode with `synchronous=FULL`, so an acknowledged write
//! is on disk. The hot reads use a pool of rusqlite connections (`reads`); all writes to payment
//! data go through one writer thread that commits concurrent requests together (group commit,
//! see `writer`); sqlx runs the migrations and the rare account and key queries.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::{mpsc, oneshot};

use super::{
    KeyInfo, KeyOwner, ListError, ListQuery, NewKey, Page, SavedIdempotent, Store, StoreError, Tenant, WriteCommand,
    WriteOutcome,
};
use super::{decode_doc, decode_page};
use crate::records::model::{PaymentAttemptRecord, PaymentRecord};

mod key_index;
mod ops;
mod reads;
mod writer;

/// How long a connection waits for SQLite's write lock (held briefly by the writer task).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Read connections in the pool.
pub const READ_CONNECTIONS_DEFAULT: u32 = 8;
/// Write commands queued for the writer before callers wait.
pub const WRITE_QUEUE_CAPACITY: usize = 1024;

/// Durability of a commit: `full` fsyncs the WAL on every commit (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqliteSync {
    Full,
    Normal,
}

#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub synchronous: SqliteSync,
    pub read_connections: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: SqliteSync::Full,
            read_connections: READ_CONNECTIONS_DEFAULT,
        }
    }
}

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

type WriteRequest = (WriteCommand, oneshot::Sender<Result<WriteOutcome, StoreError>>);
/// Where saved idempotent results are; see `key_index`.
type SharedKeyIndex = std::sync::Arc<std::sync::Mutex<key_index::KeyIndex>>;

#[derive(Debug)]
pub struct SqliteStore {
    /// sqlx, for migrations and the rare admin queries (accounts, keys).
    pool: SqlitePool,
    /// rusqlite, for the reads on every request.
    reads: reads::ReadPool,
    writes: mpsc::Sender<WriteRequest>,
    keys: SharedKeyIndex,
}

fn connect_options(url: &str, options: &SqliteOptions) -> Result<SqliteConnectOptions, StoreError> {
    let synchronous = match options.synchronous {
        SqliteSync::Full => SqliteSynchronous::Full,
        SqliteSync::Normal => SqliteSynchronous::Normal,
    };
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    pub async fn open(url: &str, options: &SqliteOptions) -> Result<Self, StoreError> {
        let connect = connect_options(url, options)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .connect_with(connect.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        let path = connect.get_filename().to_path_buf();
        let keys = SharedKeyIndex::default();
        let writes = writer::spawn(path.clone(), options.synchronous, keys.clone())?;
        Ok(SqliteStore {
            pool,
            reads: reads::ReadPool::new(path),
            writes,
            keys,
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrations_current(&self) -> Result<bool, StoreError> {
        super::migrations_current(&MIGRATOR, &self.pool).await
    }

    fn pool_usage(&self) -> super::PoolUsage {
        super::PoolUsage {
            connections: self.pool.size(),
            idle: self.pool.num_idle() as u32,
        }
    }

    async fn count_accounts(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    async fn create_account(&self, account_id: &str, created: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO accounts (id, created) VALUES (?, ?)")
            .bind(account_id)
            .bind(created)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_first_account(&self, account_id: &str, created: i64) -> Result<bool, StoreError> {
        // One statement: SQLite runs writes one at a time, so the check and the insert are atomic.
        let done =
            sqlx::query("INSERT INTO accounts (id, created) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM accounts)")
                .bind(account_id)
                .bind(created)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn account_exists(&self, account_id: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM accounts WHERE id = ?")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    async fn create_key(&self, key: &NewKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_keys (account_id, livemode, id, digest, prefix, last4, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.tenant.account_id)
        .bind(key.tenant.livemode)
        .bind(&key.key_id)
        .bind(&key.digest[..])
        .bind(&key.prefix)
        .bind(&key.last4)
        .bind(key.created)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn ensure_key_account(&self, key: &NewKey) -> Result<KeyOwner, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT OR IGNORE INTO accounts (id, created) VALUES (?, ?)")
            .bind(&key.tenant.account_id)
            .bind(key.created)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT OR IGNORE INTO api_keys (account_id, livemode, id, digest, prefix, last4, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.tenant.account_id)
        .bind(key.tenant.livemode)
        .bind(&key.key_id)
        .bind(&key.digest[..])
        .bind(&key.prefix)
        .bind(&key.last4)
        .bind(key.created)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.find_key(&key.digest)
            .await?
            .ok_or_else(|| StoreError::Corrupt("key vanished after insert".into()))
    }

    async fn find_key(&self, digest: &[u8; 32]) -> Result<Option<KeyOwner>, StoreError> {
        self.reads.find_key(digest)
    }

    async fn list_keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, account_id, livemode, prefix, last4, created, revoked_at FROM api_keys ORDER BY account_id, created, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| KeyInfo {
                key_id: r.get("id"),
                account_id: r.get("account_id"),
                livemode: r.get("livemode"),
                prefix: r.get("prefix"),
                last4: r.get("last4"),
                created: r.get("created"),
                revoked_at: r.get("revoked_at"),
            })
            .collect())
    }

    async fn revoke_key(&self, key_id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(key_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_record(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentRecord>, StoreError> {
        self.reads
            .doc("payment_records", tenant, id)?
            .map(|d| decode_doc(&d))
            .transpose()
    }

    async fn get_attempt(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentAttemptRecord>, StoreError> {
        self.reads
            .doc("payment_attempt_records", tenant, id)?
            .map(|d| decode_doc(&d))
            .transpose()
    }

    async fn list_records(&self, tenant: &Tenant, query: &ListQuery) -> Result<Page<PaymentRecord>, ListError> {
        decode_page(self.reads.page("payment_records", tenant, None, query)?)
    }

    async fn list_attempts(
        &self,
        tenant: &Tenant,
        record_id: &str,
        query: &ListQuery,
    ) -> Result<Page<PaymentAttemptRecord>, ListError> {
        decode_page(
            self.reads
                .page("payment_attempt_records", tenant, Some(record_id), query)?,
        )
    }

    async fn write(&self, command: WriteCommand) -> Result<WriteOutcome, StoreError> {
        let (reply, result) = oneshot::channel();
        self.writes
            .send((command, reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }

    async fn find_idempotent(&self, tenant: &Tenant, key: &str) -> Result<Option<SavedIdempotent>, StoreError> {
        let rowids = {
            let keys = self.keys.lock().expect("key index lock");
            keys.candidates(keys.hash(tenant, key))
        };
        self.reads.find_idempotent(tenant, key, &rowids)
    }

    /// Rows are appended in time order, so the expired ones are a prefix of the rowids: find
    /// the first live row and delete the range before it (reads only what it deletes). Rows
    /// out of order are expired by `claim_key`'s check and go in a later prune.
    async fn prune_idempotent(&self, cutoff: i64) -> Result<u64, StoreError> {
        let first_live: Option<i64> =
            sqlx::query_scalar("SELECT rowid FROM idempotency_keys WHERE created >= ? ORDER BY rowid LIMIT 1")
                .bind(cutoff)
                .fetch_optional(&self.pool)
                .await?;
        let done = match first_live {
            Some(rowid) => sqlx::query("DELETE FROM idempotency_keys WHERE rowid < ?").bind(rowid),
            None => sqlx::query("DELETE FROM idempotency_keys WHERE created < ?").bind(cutoff),
        }
        .execute(&self.pool)
        .await?;
        self.keys.lock().expect("key index lock").forget_created_before(cutoff);
        Ok(done.rows_affected())
    }
}
