//! GET /v1/events and /v1/events/:id. Events are stored as their JSON (`events::render`), so
//! they are answered as stored, with `pending_webhooks` counted at the time of reading.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::params::{ListEventsParams, RetrieveEventParams};
use crate::events::catalogue::type_prefix;
use crate::state::AppState;
use crate::store::{EventQuery, Tenant};
use crate::wire::error::ApiError;
use crate::wire::list::{list_error, list_query};
use crate::wire::params::Timestamp;
use crate::wire::request::{ApiRequest, PathId};

fn json_response(body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// GET /v1/events/:id
pub async fn retrieve_event(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    let _: RetrieveEventParams = request.read()?;
    let event = app
        .store
        .get_event(&tenant, &id)
        .await?
        .ok_or(ApiError::ResourceMissing {
            object: "event",
            id,
            param: "id",
        })?;
    Ok(json_response(event))
}

/// GET /v1/events
pub async fn list_events(
    State(app): State<AppState>,
    tenant: Tenant,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    let p: ListEventsParams = request.read()?;
    if p.kind.is_some() && p.types.is_some() {
        return Err(ApiError::ParametersExclusive {
            param: "types".into(),
            message: "You may only specify one of these parameters: type, types.".into(),
        });
    }
    let created = p.created.unwrap_or_default();
    let page = list_query(
        p.limit,
        p.starting_after,
        p.ending_before,
        (created.after.map(Timestamp), created.before.map(Timestamp)),
    )?;
    let mut query = EventQuery {
        page,
        types: p.types.map(|t| t.0).unwrap_or_default(),
        type_prefix: None,
        delivery_success: p.delivery_success.map(|f| f.0),
    };
    if let Some(kind) = p.kind {
        match type_prefix(&kind.0) {
            Some(prefix) => query.type_prefix = Some(prefix.to_owned()),
            None => query.types = vec![kind.0],
        }
    }
    let page = app
        .store
        .list_events(&tenant, &query)
        .await
        .map_err(list_error("event", &query.page))?;
    // The events are JSON already: the envelope is written around them.
    let mut body = String::with_capacity(page.data.iter().map(|e| e.len() + 1).sum::<usize>() + 96);
    body.push_str("{\"object\":\"list\",\"data\":[");
    body.push_str(&page.data.join(","));
    body.push_str("],\"has_more\":");
    body.push_str(if page.has_more { "true" } else { "false" });
    body.push_str(",\"url\":\"/v1/events\"}");
    Ok(json_response(body))
}
