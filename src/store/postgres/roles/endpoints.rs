//! PostgreSQL's webhook endpoints.

use crate::events::WebhookEndpoint;
use crate::store::doc::{decode, decode_page};
use crate::store::endpoints::EndpointRows;
use crate::store::page::ListOf;
use crate::store::postgres::ops::PgOps;
use crate::store::postgres::{ENDPOINT_DOC, PgStore, doc, events, reads};
use crate::store::{ListError, ListQuery, Page, StoreError, Tenant, WebhookEndpoints};
use async_trait::async_trait;

#[async_trait]
impl WebhookEndpoints for PgStore {
    async fn get_endpoint(&self, tenant: &Tenant, id: &str) -> Result<Option<WebhookEndpoint>, StoreError> {
        doc(&self.pool()?, ENDPOINT_DOC, tenant, id)
            .await?
            .map(|d| decode(&d))
            .transpose()
    }
    async fn endpoint_secret(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        events::endpoint_secret(&self.pool()?, tenant, id).await
    }
    async fn list_endpoints(&self, tenant: &Tenant, query: &ListQuery) -> Result<Page<WebhookEndpoint>, ListError> {
        let list = ListOf::table("webhook_endpoints", tenant);
        Ok(decode_page(reads::hot_page(&*self.kept()?, &list, query).await?)?)
    }
}

#[async_trait]
impl EndpointRows for PgOps<'_> {
    async fn count_endpoints(&mut self, tenant: &Tenant) -> Result<u64, StoreError> {
        events::count_endpoints(self.read_conn().await?, tenant).await
    }

    async fn lock_endpoint_doc(&mut self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        events::lock_endpoint_doc(self.read_conn().await?, tenant, id).await
    }

    async fn insert_endpoint(
        &mut self,
        tenant: &Tenant,
        endpoint: &WebhookEndpoint,
        secret: &str,
    ) -> Result<(), StoreError> {
        events::insert_endpoint(self.read_conn().await?, tenant, endpoint, secret).await
    }

    async fn update_endpoint(&mut self, tenant: &Tenant, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        events::update_endpoint(self.read_conn().await?, tenant, endpoint).await
    }

    async fn delete_endpoint(&mut self, tenant: &Tenant, id: &str) -> Result<(), StoreError> {
        events::delete_endpoint(self.read_conn().await?, tenant, id).await
    }
}
