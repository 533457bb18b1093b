//! SQLite's webhook endpoints.

use crate::events::WebhookEndpoint;
use crate::store::doc::{decode, decode_page};
use crate::store::endpoints::EndpointRows;
use crate::store::page::ListOf;
use crate::store::sqlite::SqliteStore;
use crate::store::sqlite::ops::SqliteOps;
use crate::store::{ListError, ListQuery, Page, StoreError, Tenant, WebhookEndpoints};
use async_trait::async_trait;

#[async_trait]
impl WebhookEndpoints for SqliteStore {
    async fn get_endpoint(&self, tenant: &Tenant, id: &str) -> Result<Option<WebhookEndpoint>, StoreError> {
        self.reads
            .doc("webhook_endpoints", tenant, id)?
            .map(|d| decode(&d))
            .transpose()
    }
    async fn endpoint_secret(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        self.reads.with(|conn| sql::endpoint_secret(conn, tenant, id))
    }
    async fn list_endpoints(&self, tenant: &Tenant, query: &ListQuery) -> Result<Page<WebhookEndpoint>, ListError> {
        let list = ListOf::table("webhook_endpoints", tenant);
        Ok(decode_page(self.reads.page(&list, query)?)?)
    }
}

#[async_trait]
impl EndpointRows for SqliteOps<'_> {
    async fn count_endpoints(&mut self, tenant: &Tenant) -> Result<u64, StoreError> {
        sql::count_endpoints(self.conn, tenant)
    }

    async fn lock_endpoint_doc(&mut self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        // The single writer is the lock.
        sql::endpoint_doc(self.conn, tenant, id)
    }

    async fn insert_endpoint(
        &mut self,
        tenant: &Tenant,
        endpoint: &WebhookEndpoint,
        secret: &str,
    ) -> Result<(), StoreError> {
        let seq = self.take_seq();
        self.subscriptions.forget(tenant);
        sql::insert_endpoint(self.conn, tenant, seq, endpoint, secret)
    }

    async fn update_endpoint(&mut self, tenant: &Tenant, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        self.subscriptions.forget(tenant);
        sql::update_endpoint(self.conn, tenant, endpoint)
    }

    async fn delete_endpoint(&mut self, tenant: &Tenant, id: &str) -> Result<(), StoreError> {
        self.subscriptions.forget(tenant);
        sql::delete_endpoint(self.conn, tenant, id)
    }
}

/// The endpoints' rows, in SQL.
mod sql {
    use rusqlite::{Connection, OptionalExtension, params};

    use crate::events::WebhookEndpoint;
    use crate::store::doc::encode;
    use crate::store::{StoreError, Tenant};

    pub(super) fn count_endpoints(conn: &Connection, tenant: &Tenant) -> Result<u64, StoreError> {
        let n: i64 = conn
            .prepare_cached("SELECT COUNT(*) FROM webhook_endpoints WHERE account_id = ?1 AND livemode = ?2")?
            .query_row(params![tenant.account_id, tenant.livemode], |r| r.get(0))?;
        Ok(n as u64)
    }

    pub(super) fn endpoint_doc(conn: &Connection, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        Ok(conn
            .prepare_cached("SELECT doc FROM webhook_endpoints WHERE account_id = ?1 AND livemode = ?2 AND id = ?3")?
            .query_row(params![tenant.account_id, tenant.livemode, id], |r| r.get(0))
            .optional()?)
    }

    pub(super) fn insert_endpoint(
        conn: &Connection,
        tenant: &Tenant,
        seq: i64,
        e: &WebhookEndpoint,
        secret: &str,
    ) -> Result<(), StoreError> {
        conn.prepare_cached(
            "INSERT INTO webhook_endpoints (seq, account_id, livemode, id, created, status, events_filter, url, secret, doc) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            seq,
            tenant.account_id,
            tenant.livemode,
            e.id,
            e.created,
            e.status.as_str(),
            e.events_filter(),
            e.url,
            secret,
            encode(e)
        ])?;
        Ok(())
    }

    pub(super) fn update_endpoint(conn: &Connection, tenant: &Tenant, e: &WebhookEndpoint) -> Result<(), StoreError> {
        let done = conn
            .prepare_cached(
                "UPDATE webhook_endpoints SET status = ?1, events_filter = ?2, url = ?3, doc = ?4 \
                 WHERE account_id = ?5 AND livemode = ?6 AND id = ?7",
            )?
            .execute(params![
                e.status.as_str(),
                e.events_filter(),
                e.url,
                encode(e),
                tenant.account_id,
                tenant.livemode,
                e.id
            ])?;
        assert_eq!(done, 1, "the locked endpoint exists");
        Ok(())
    }

    pub(super) fn delete_endpoint(conn: &Connection, tenant: &Tenant, id: &str) -> Result<(), StoreError> {
        conn.prepare_cached(
            "DELETE FROM webhook_deliveries WHERE account_id = ?1 AND livemode = ?2 AND endpoint_id = ?3",
        )?
        .execute(params![tenant.account_id, tenant.livemode, id])?;
        conn.prepare_cached("DELETE FROM webhook_endpoints WHERE account_id = ?1 AND livemode = ?2 AND id = ?3")?
            .execute(params![tenant.account_id, tenant.livemode, id])?;
        Ok(())
    }

    pub(super) fn endpoint_secret(conn: &Connection, tenant: &Tenant, id: &str) -> rusqlite::Result<Option<String>> {
        conn.prepare_cached("SELECT secret FROM webhook_endpoints WHERE account_id = ?1 AND livemode = ?2 AND id = ?3")?
            .query_row(params![tenant.account_id, tenant.livemode, id], |r| r.get(0))
            .optional()
    }
}
