//! SQLite's webhook endpoints.

use crate::events::WebhookEndpoint;
use crate::store::doc::{decode, decode_page};
use crate::store::endpoints::EndpointRows;
use crate::store::page::ListOf;
use crate::store::sqlite::ops::SqliteOps;
use crate::store::sqlite::{SqliteStore, events};
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
        self.reads.with(|conn| events::endpoint_secret(conn, tenant, id))
    }
    async fn list_endpoints(&self, tenant: &Tenant, query: &ListQuery) -> Result<Page<WebhookEndpoint>, ListError> {
        let list = ListOf::table("webhook_endpoints", tenant);
        Ok(decode_page(self.reads.page(&list, query)?)?)
    }
}

#[async_trait]
impl EndpointRows for SqliteOps<'_> {
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
