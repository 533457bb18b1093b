//! Retrieve and list webhook endpoints (never with their secrets).

use axum::extract::State;
use axum::response::Response;

use crate::api::payment_records::respond::ok_json;
use crate::calls::webhook_endpoints::{ListEndpointsParams, RetrieveEndpointParams};
use crate::events::endpoint::render_endpoint;
use crate::state::AppState;
use crate::store::Tenant;
use crate::wire::error::ApiError;
use crate::wire::list::{ListEnvelope, list_error, list_query};
use crate::wire::request::{ApiRequest, PathId};

/// GET /v1/webhook_endpoints/:id
pub async fn retrieve_endpoint(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    let _: RetrieveEndpointParams = request.read()?;
    let endpoint = app
        .store
        .get_endpoint(&tenant, &id)
        .await?
        .ok_or(ApiError::ResourceMissing {
            object: "webhook_endpoint",
            id,
            param: "id",
        })?;
    Ok(ok_json(&render_endpoint(&endpoint)))
}

/// GET /v1/webhook_endpoints
pub async fn list_endpoints(
    State(app): State<AppState>,
    tenant: Tenant,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    let p: ListEndpointsParams = request.read()?;
    let query = list_query(p.limit, p.starting_after, p.ending_before, (None, None))?;
    let page = app
        .store
        .list_endpoints(&tenant, &query)
        .await
        .map_err(list_error("webhook_endpoint", &query))?;
    let data: Vec<_> = page.data.iter().map(render_endpoint).collect();
    Ok(ok_json(&ListEnvelope::new(
        "/v1/webhook_endpoints",
        data,
        page.has_more,
    )))
}
