//! SQLite's SQL for the shared write path (`store::write`), on the writer thread's rusqlite
//! connection inside its transaction. SQLite's single writer is the record lock.

use rusqlite::{Connection, OptionalExtension, params};

use super::SharedKeyIndex;
use super::events;
use super::key_index::{KeyEntry, KeyHasher};
use crate::store::{StoreError, Tenant};

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
    pub(super) fn take_seq(&mut self) -> i64 {
        let seq = *self.next_seq;
        *self.next_seq += 1;
        seq
    }

    pub(super) fn doc(&self, sql: &str, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut stmt| {
                stmt.query_row(params![tenant.account_id, tenant.livemode, id], |r| r.get(0))
                    .optional()
            })
            .map_err(StoreError::from)
    }

    pub(super) fn exec(&self, sql: &str, values: impl rusqlite::Params) -> Result<usize, StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute(values))
            .map_err(StoreError::from)
    }
}
