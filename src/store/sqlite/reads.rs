//! The hot reads (key lookup, get by id, list pages, saved idempotent results) on a small pool
//! of read-only rusqlite connections. WAL lets them run beside the writer; an indexed lookup in
//! SQLite's page cache takes microseconds, so it runs in place on the calling task rather than
//! through an extra thread hop (docs/decisions.md).

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::SqliteSync;
use super::connection::{self, Role};
use crate::store::page::{Bind, ListOf, PageRows, read_page};
use crate::store::scan::{self, Scans};
use crate::store::{KeyOwner, ListError, ListQuery, Page, SavedIdempotent, StoreError, Tenant};

/// Idle read connections kept open; more are opened under load and closed when returned.
pub const READ_CONNECTIONS_IDLE_MAX: usize = 8;
/// SQLite virtual-machine steps between two looks at a scan's deadline (each a few µs).
const SCAN_CHECK_STEPS: i32 = 1_000;

thread_local! {
    /// The deadline of the scan this thread runs, if it runs one (`ReadPool::scan`).
    static SCAN_DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Every reader connection stops a statement once the scan it serves is past its deadline;
/// a point read sets none and is never stopped.
pub(super) fn stop_scans_at_their_deadline(conn: &Connection) {
    conn.progress_handler(
        SCAN_CHECK_STEPS,
        Some(|| SCAN_DEADLINE.with(|d| d.get().is_some_and(|deadline| Instant::now() > deadline))),
    );
}

#[derive(Debug)]
pub(super) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    scans: Scans,
}

impl ReadPool {
    pub fn new(path: PathBuf) -> Self {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
            scans: Scans::default(),
        }
    }

    /// Read connections open and not in use.
    pub fn idle(&self) -> usize {
        self.idle.lock().expect("read pool lock").len()
    }

    /// Runs `f`, reads that can scan, once it is this store's turn (`Scans`), within
    /// `SCAN_DEADLINE` (a statement past it fails as `ScanTooLong`), and on a thread the
    /// runtime has let go of, so that the async workers go on serving other requests.
    pub async fn scan<T, E: From<StoreError>>(&self, f: impl FnOnce(&Self) -> Result<T, E>) -> Result<T, E> {
        let _turn = self.scans.turn().await?;
        let run = || {
            SCAN_DEADLINE.with(|d| d.set(Some(Instant::now() + scan::SCAN_DEADLINE)));
            let result = f(self);
            SCAN_DEADLINE.with(|d| d.set(None));
            result
        };
        match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(run),
            // A single-threaded runtime (some tests) has no other worker to hand over to.
            _ => run(),
        }
    }

    /// Runs `f` on a pooled read-only connection.
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, rusqlite::Error>) -> Result<T, StoreError> {
        let pooled = self.idle.lock().expect("read pool lock").pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => connection::open(&self.path, Role::Reader, SqliteSync::Full)?,
        };
        let result = f(&conn).map_err(StoreError::from);
        let mut idle = self.idle.lock().expect("read pool lock");
        if idle.len() < READ_CONNECTIONS_IDLE_MAX {
            idle.push(conn);
        }
        result
    }

    pub fn find_key(&self, digest: &[u8; 32]) -> Result<Option<KeyOwner>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached(
                "SELECT id, account_id, livemode, prefix FROM api_keys WHERE digest = ?1 AND revoked_at IS NULL",
            )?
            .query_row(params![&digest[..]], |r| {
                Ok(KeyOwner {
                    key_id: r.get(0)?,
                    tenant: Tenant {
                        account_id: r.get(1)?,
                        livemode: r.get(2)?,
                    },
                    kind: crate::store::KeyKind::of_prefix(&r.get::<_, String>(3)?),
                })
            })
            .optional()
        })
    }

    /// The JSON document of object `id` in `table` (a fixed table name, never client input).
    pub fn doc(&self, table: &'static str, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        let sql = format!("SELECT doc FROM {table} WHERE account_id = ?1 AND livemode = ?2 AND id = ?3");
        self.with(|conn| {
            conn.prepare_cached(&sql)?
                .query_row(params![tenant.account_id, tenant.livemode, id], |r| r.get(0))
                .optional()
        })
    }

    /// Whether object `id` is in `table` (a fixed table name): read from its id index alone.
    pub fn exists(&self, table: &'static str, tenant: &Tenant, id: &str) -> Result<bool, StoreError> {
        let sql = format!("SELECT 1 FROM {table} WHERE account_id = ?1 AND livemode = ?2 AND id = ?3");
        self.with(|conn| {
            conn.prepare_cached(&sql)?
                .exists(params![tenant.account_id, tenant.livemode, id])
        })
    }

    /// The newest saved result of `key` among the candidate rows the key index gave.
    pub fn find_idempotent(
        &self,
        tenant: &Tenant,
        key: &str,
        rowids: &[i64],
    ) -> Result<Option<SavedIdempotent>, StoreError> {
        if rowids.is_empty() {
            return Ok(None);
        }
        self.with(|conn| super::key_index::saved_at(conn, rowids, tenant, key))
    }

    /// A page of `list`'s documents (`store::page` has the algorithm).
    pub fn page(&self, list: &ListOf<'_>, query: &ListQuery) -> Result<Page<String>, ListError> {
        // Nothing here awaits: the statements run in place, so one poll completes the page.
        futures_executor::block_on(read_page(&mut Rows(self), list, query))
    }
}

/// `PageRows` on pooled read connections.
struct Rows<'p>(&'p ReadPool);

impl rusqlite::ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Bind::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Bind::Int(n) => ToSqlOutput::Owned(Value::Integer(n)),
            Bind::Bool(b) => ToSqlOutput::Owned(Value::Integer(i64::from(b))),
        })
    }
}

#[async_trait]
impl PageRows for Rows<'_> {
    async fn cursor(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Option<(i64, i64)>, StoreError> {
        self.0.with(|conn| {
            conn.prepare_cached(sql)?
                .query_row(params_from_iter(binds), |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
    }

    async fn docs(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<String>, StoreError> {
        self.0.with(|conn| {
            conn.prepare_cached(sql)?
                .query_map(params_from_iter(binds), |r| r.get(0))?
                .collect()
        })
    }
}
