//! The embedded default: SQLite in WAL mode with `synchronous=FULL`, so an acknowledged write
//! is on disk. One driver, rusqlite, for everything: the hot reads use a pool of read-only
//! connections (`reads`); all writes to payment data go through one writer thread that commits
//! concurrent requests together (group commit, see `writer`); migrations and the rare account
//! and key writes use an admin connection off the async threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};
use tokio::sync::{mpsc, oneshot};

use super::key_cache::KeyCache;
use super::{Health, NewKey, StoreError};
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
mod prefix;
mod reads;
mod roles;
mod sessions;
mod sql_rows;
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
