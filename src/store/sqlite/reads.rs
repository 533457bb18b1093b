//! The hot reads (key lookup, get by id, list pages, saved idempotent results) on a small pool
//! of rusqlite connections. WAL lets them run beside the writer; an indexed lookup in SQLite's
//! page cache takes microseconds, so it runs in place on the calling task rather than through
//! an extra thread hop (docs/decisions.md).

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params, params_from_iter};

use super::BUSY_TIMEOUT;
use crate::store::{KeyOwner, ListError, ListQuery, Page, SavedIdempotent, StoreError, Tenant};

/// Idle read connections kept open; more are opened under load and closed when returned.
pub const READ_CONNECTIONS_IDLE_MAX: usize = 8;

#[derive(Debug)]
pub(super) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

fn read_error(e: rusqlite::Error) -> StoreError {
    StoreError::Corrupt(format!("sqlite read: {e}"))
}

impl ReadPool {
    pub fn new(path: PathBuf) -> Self {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on a pooled read-only connection.
    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, rusqlite::Error>) -> Result<T, StoreError> {
        let pooled = self.idle.lock().expect("read pool lock").pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(&self.path, flags).map_err(read_error)?;
                conn.busy_timeout(BUSY_TIMEOUT).map_err(read_error)?;
                conn
            }
        };
        let result = f(&conn).map_err(read_error);
        let mut idle = self.idle.lock().expect("read pool lock");
        if idle.len() < READ_CONNECTIONS_IDLE_MAX {
            idle.push(conn);
        }
        result
    }

    pub fn find_key(&self, digest: &[u8; 32]) -> Result<Option<KeyOwner>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached(
                "SELECT id, account_id, livemode FROM api_keys WHERE digest = ?1 AND revoked_at IS NULL",
            )?
            .query_row(params![&digest[..]], |r| {
                Ok(KeyOwner {
                    key_id: r.get(0)?,
                    tenant: Tenant {
                        account_id: r.get(1)?,
                        livemode: r.get(2)?,
                    },
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

    /// `limit + 1` documents of a list around a cursor, newest first; `has_more` is exact.
    pub fn page(
        &self,
        table: &'static str,
        tenant: &Tenant,
        parent: Option<&str>,
        query: &ListQuery,
    ) -> Result<Page<String>, ListError> {
        let mut filter = String::from(" WHERE account_id = ? AND livemode = ?");
        let mut values: Vec<Value> = vec![tenant.account_id.clone().into(), tenant.livemode.into()];
        if let Some(p) = parent {
            filter.push_str(" AND payment_record = ?");
            values.push(p.to_owned().into());
        }
        let cursor_id = query.starting_after.as_deref().or(query.ending_before.as_deref());
        let cursor: Option<(i64, i64)> = match cursor_id {
            Some(id) => {
                let sql = format!("SELECT created, seq FROM {table}{filter} AND id = ?");
                let mut cursor_values = values.clone();
                cursor_values.push(id.to_owned().into());
                let found = self.with(|conn| {
                    conn.prepare_cached(&sql)?
                        .query_row(params_from_iter(cursor_values), |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })?;
                Some(found.ok_or(ListError::UnknownCursor)?)
            }
            None => None,
        };
        if let Some(after) = query.created_after {
            filter.push_str(" AND created > ?");
            values.push(after.into());
        }
        if let Some(before) = query.created_before {
            filter.push_str(" AND created < ?");
            values.push(before.into());
        }
        let backwards = query.ending_before.is_some();
        if let Some((created, seq)) = cursor {
            filter.push_str(if backwards {
                " AND (created, seq) > (?, ?)"
            } else {
                " AND (created, seq) < (?, ?)"
            });
            values.push(created.into());
            values.push(seq.into());
        }
        let order = if backwards { "ASC" } else { "DESC" };
        let sql = format!("SELECT doc FROM {table}{filter} ORDER BY created {order}, seq {order} LIMIT ?");
        values.push((query.limit as i64 + 1).into());
        let mut docs: Vec<String> = self.with(|conn| {
            conn.prepare_cached(&sql)?
                .query_map(params_from_iter(values), |r| r.get(0))?
                .collect()
        })?;
        let has_more = docs.len() > query.limit;
        docs.truncate(query.limit);
        if backwards {
            docs.reverse();
        }
        Ok(Page { data: docs, has_more })
    }
}
