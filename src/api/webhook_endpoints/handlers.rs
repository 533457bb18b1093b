//! Create, update and delete: declared parameters → an `EndpointCommand` → the one write path.

use axum::extract::State;
use axum::response::Response;

use super::respond::endpoint_result;
use crate::api::execute::{Call, execute};
use crate::calls::webhook_endpoints::{
    CreateEndpointParams, DeleteEndpointParams, EndpointUrl, UpdateEndpointParams, new_endpoint,
};
use crate::clock::unix_now;
use crate::events::endpoint::{new_endpoint_id, new_secret, with_secret};
use crate::events::{EndpointChange, EndpointCommand};
use crate::state::AppState;
use crate::store::Tenant;
use crate::wire::error::ApiError;
use crate::wire::request::{ApiRequest, PathId};

fn call(command: EndpointCommand, label: &'static str) -> Call<EndpointCommand> {
    Call {
        mutation: command,
        render: endpoint_result,
        expand: Vec::new(),
        label,
    }
}

/// A URL this deployment may deliver to in this mode (`events::destination`), as far as can
/// be told before it is resolved.
fn allowed(app: &AppState, livemode: bool, url: &EndpointUrl) -> Result<(), ApiError> {
    let Ok(parsed) = url::Url::parse(&url.0) else {
        return Ok(()); // EndpointUrl parsed it already
    };
    match app.config.webhooks.destinations.refuses_url(livemode, &parsed) {
        None => Ok(()),
        Some(why) => Err(ApiError::Invalid {
            message: format!("Invalid URL: {why}."),
            param: Some("url".into()),
        }),
    }
}

/// POST /v1/webhook_endpoints
pub async fn create_endpoint(
    State(app): State<AppState>,
    tenant: Tenant,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    let livemode = tenant.livemode;
    let app_ref = &app;
    let owner = tenant.clone();
    let answer = execute(&app, tenant, &request, |p: CreateEndpointParams| {
        allowed(app_ref, livemode, &p.url)?;
        let endpoint = new_endpoint(p, new_endpoint_id(), new_secret(), livemode, unix_now())?;
        Ok(call(EndpointCommand::Create(endpoint), "webhook_endpoint_created"))
    })
    .await?;
    reveal_secret(&app, &owner, answer).await
}

/// A create's answer, first or replayed, with the endpoint's signing secret put back from its
/// row: the response saved under the idempotency key never holds it. (Replayed after the
/// endpoint was deleted, it has no secret: nothing is signed with it any more.)
async fn reveal_secret(app: &AppState, tenant: &Tenant, answer: Response) -> Result<Response, ApiError> {
    #[derive(serde::Deserialize)]
    struct Created {
        id: String,
    }
    if answer.status() != axum::http::StatusCode::OK {
        return Ok(answer);
    }
    let (parts, body) = answer.into_parts();
    let internal = |cause: String| ApiError::Internal { cause };
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| internal(e.to_string()))?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| internal(e.to_string()))?;
    let created: Created = serde_json::from_str(&text).map_err(|e| internal(e.to_string()))?;
    let body = match app.store.endpoint_secret(tenant, &created.id).await? {
        Some(secret) => {
            with_secret(&text, &secret).ok_or_else(|| internal("an endpoint's secret did not fit".into()))?
        }
        None => text,
    };
    Ok(Response::from_parts(parts, axum::body::Body::from(body)))
}

/// POST /v1/webhook_endpoints/:id
pub async fn update_endpoint(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    let app_ref = &app;
    let livemode = tenant.livemode;
    execute(&app, tenant, &request, |p: UpdateEndpointParams| {
        if let Some(url) = &p.url {
            allowed(app_ref, livemode, url)?;
        }
        let change = EndpointChange {
            url: p.url.map(|u| u.0),
            enabled_events: p.enabled_events.map(|e| e.0),
            description: p.description.map(|d| d.0),
            metadata: p.metadata,
            disabled: p.disabled.map(|d| d.0),
        };
        Ok(call(EndpointCommand::Update { id, change }, "webhook_endpoint_updated"))
    })
    .await
}

/// DELETE /v1/webhook_endpoints/:id
pub async fn delete_endpoint(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    execute(&app, tenant, &request, |_: DeleteEndpointParams| {
        Ok(call(EndpointCommand::Delete { id }, "webhook_endpoint_deleted"))
    })
    .await
}
