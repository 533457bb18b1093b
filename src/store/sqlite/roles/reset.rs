//! SQLite's reset of a tenant's test data.

use async_trait::async_trait;
use rusqlite::params;

use crate::store::reset::{ENDPOINTS_TABLE, ResetRows};
use crate::store::sqlite::ops::SqliteOps;
use crate::store::{StoreError, Tenant};

#[async_trait]
impl ResetRows for SqliteOps<'_> {
    async fn erase_rows(&mut self, tenant: &Tenant, table: &'static str) -> Result<u64, StoreError> {
        let sql = match table {
            // Saved responses are emptied, not deleted: the key index's slots hold rowids from
            // where its generation began, so rowids must keep growing, and SQLite would number
            // the next row after the largest one left. An emptied row matches no key and
            // expires with the others.
            "idempotency_keys" => "UPDATE idempotency_keys SET key = '', fingerprint = '', body = x'' \
                 WHERE account_id = ?1 AND livemode = ?2 AND key <> ''"
                .to_owned(),
            _ => format!("DELETE FROM {table} WHERE account_id = ?1 AND livemode = ?2"),
        };
        if table == ENDPOINTS_TABLE {
            self.subscriptions.forget(tenant);
        }
        let erased = self
            .conn
            .prepare_cached(&sql)?
            .execute(params![tenant.account_id, tenant.livemode])?;
        Ok(erased as u64)
    }
}
