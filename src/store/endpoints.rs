//! Webhook endpoints' writes: created under the tenant's limit, changed and deleted under the
//! endpoint's lock, disabled (with its event) when its deliveries keep failing.

use async_trait::async_trait;

use super::doc::decode;
use super::write::{Mutation, WriteContext, WriteOps};
use super::{ListError, ListQuery, Page, StoreError, Tenant};
use crate::events::endpoint::{ENDPOINTS_PER_TENANT_MAX, EndpointError, endpoint_disabled};
use crate::events::{EndpointCommand, EndpointStatus, WebhookEndpoint};

/// The rows of webhook endpoints inside a write's open transaction.
#[async_trait]
pub trait EndpointRows: Send {
    async fn count_endpoints(&mut self, tenant: &Tenant) -> Result<u64, StoreError>;
    /// An endpoint's stored document, locking it until commit.
    async fn lock_endpoint_doc(&mut self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError>;
    async fn insert_endpoint(
        &mut self,
        tenant: &Tenant,
        endpoint: &WebhookEndpoint,
        secret: &str,
    ) -> Result<(), StoreError>;
    async fn update_endpoint(&mut self, tenant: &Tenant, endpoint: &WebhookEndpoint) -> Result<(), StoreError>;
    /// Deletes the endpoint and its deliveries (pending ones stop).
    async fn delete_endpoint(&mut self, tenant: &Tenant, id: &str) -> Result<(), StoreError>;
}

/// What a webhook endpoint's mutation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointOutcome {
    /// The endpoint as created or changed (carrying its secret when created).
    Applied(WebhookEndpoint),
    /// The endpoint with this id was deleted.
    Deleted(String),
    /// No webhook endpoint has this id in the tenant.
    Missing(String),
    /// The change broke a rule.
    Rejected(EndpointError),
    /// The tenant has `ENDPOINTS_PER_TENANT_MAX` endpoints already.
    LimitReached,
}

#[async_trait]
impl Mutation for EndpointCommand {
    type Done = EndpointOutcome;

    async fn apply(self, rows: &mut dyn WriteOps, at: &WriteContext<'_>) -> Result<EndpointOutcome, StoreError> {
        let tenant = at.tenant;
        match self {
            EndpointCommand::Create(endpoint) => {
                if rows.count_endpoints(tenant).await? >= ENDPOINTS_PER_TENANT_MAX {
                    return Ok(EndpointOutcome::LimitReached);
                }
                let secret = endpoint.secret.as_deref().expect("a new endpoint carries its secret");
                rows.insert_endpoint(tenant, &endpoint, secret).await?;
                Ok(EndpointOutcome::Applied(endpoint))
            }
            EndpointCommand::Update { id, change } => {
                let Some(endpoint) = lock(rows, tenant, &id).await? else {
                    return Ok(EndpointOutcome::Missing(id));
                };
                match change.apply(&endpoint) {
                    Ok(next) => {
                        rows.update_endpoint(tenant, &next).await?;
                        Ok(EndpointOutcome::Applied(next))
                    }
                    Err(rule) => Ok(EndpointOutcome::Rejected(rule)),
                }
            }
            EndpointCommand::Delete { id } => {
                if lock(rows, tenant, &id).await?.is_none() {
                    return Ok(EndpointOutcome::Missing(id));
                }
                rows.delete_endpoint(tenant, &id).await?;
                Ok(EndpointOutcome::Deleted(id))
            }
            EndpointCommand::DisableFailing { id } => disable(rows, at, id).await,
        }
    }
}

/// Loads an endpoint, locking it until commit.
async fn lock(rows: &mut dyn WriteOps, tenant: &Tenant, id: &str) -> Result<Option<WebhookEndpoint>, StoreError> {
    rows.lock_endpoint_doc(tenant, id)
        .await?
        .map(|doc| decode(&doc))
        .transpose()
}

/// Disables an endpoint whose deliveries keep failing, and tells the account by an event.
async fn disable(rows: &mut dyn WriteOps, at: &WriteContext<'_>, id: String) -> Result<EndpointOutcome, StoreError> {
    let Some(mut endpoint) = lock(rows, at.tenant, &id).await? else {
        return Ok(EndpointOutcome::Missing(id));
    };
    if endpoint.status == EndpointStatus::Disabled {
        return Ok(EndpointOutcome::Applied(endpoint));
    }
    endpoint.status = EndpointStatus::Disabled;
    rows.update_endpoint(at.tenant, &endpoint).await?;
    let events = at.render_events(&[endpoint_disabled(&endpoint)]);
    rows.insert_events(at.tenant, &events, at.now * 1000).await?;
    Ok(EndpointOutcome::Applied(endpoint))
}

/// Webhook endpoints, as read (they are written by `Writes`).
#[async_trait]
pub trait WebhookEndpoints: Send + Sync {
    async fn get_endpoint(&self, tenant: &Tenant, id: &str) -> Result<Option<WebhookEndpoint>, StoreError>;
    /// The signing secret of one endpoint (for a create's answer and its replays).
    async fn endpoint_secret(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError>;
    async fn list_endpoints(&self, tenant: &Tenant, query: &ListQuery) -> Result<Page<WebhookEndpoint>, ListError>;
}
