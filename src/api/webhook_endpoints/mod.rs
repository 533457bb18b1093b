//! The webhook endpoints resource **[payrec, beyond Stripe]**, with Stripe's `webhook_endpoint`
//! object: where an account's events are delivered (`jobs::delivery`). Create, update and
//! delete run through the one write path, idempotency keys included.

use axum::routing::on;

use super::route::{Returns, Route};
use crate::wire::params::ParamObject;

mod handlers;
mod reads;
pub mod respond;

use crate::calls::webhook_endpoints::{
    CreateEndpointParams, DeleteEndpointParams, ListEndpointsParams, RetrieveEndpointParams, UpdateEndpointParams,
};

const ENDPOINT: Returns = Returns {
    schema: "webhook_endpoint",
    description: "The webhook endpoint.",
};

pub const CREATE_ENDPOINT: Route = Route::post(
    "/v1/webhook_endpoints",
    "Create a webhook endpoint; the response alone carries its signing secret.",
    CreateEndpointParams::FIELDS,
    ENDPOINT,
    |m| on(m, handlers::create_endpoint),
);

pub const RETRIEVE_ENDPOINT: Route = Route::get(
    "/v1/webhook_endpoints/{id}",
    "Retrieve a webhook endpoint.",
    RetrieveEndpointParams::FIELDS,
    ENDPOINT,
    |m| on(m, reads::retrieve_endpoint),
);

pub const UPDATE_ENDPOINT: Route = Route::post(
    "/v1/webhook_endpoints/{id}",
    "Update a webhook endpoint.",
    UpdateEndpointParams::FIELDS,
    ENDPOINT,
    |m| on(m, handlers::update_endpoint),
);

pub const LIST_ENDPOINTS: Route = Route::get(
    "/v1/webhook_endpoints",
    "List webhook endpoints, newest first.",
    ListEndpointsParams::FIELDS,
    Returns {
        schema: "webhook_endpoint_list",
        description: "A page of webhook endpoints.",
    },
    |m| on(m, reads::list_endpoints),
);

pub const DELETE_ENDPOINT: Route = Route::delete(
    "/v1/webhook_endpoints/{id}",
    "Delete a webhook endpoint; its pending deliveries stop.",
    DeleteEndpointParams::FIELDS,
    Returns {
        schema: "deleted_webhook_endpoint",
        description: "The deleted webhook endpoint.",
    },
    |m| on(m, handlers::delete_endpoint),
);

pub const ROUTES: &[&Route] = &[
    &CREATE_ENDPOINT,
    &RETRIEVE_ENDPOINT,
    &UPDATE_ENDPOINT,
    &LIST_ENDPOINTS,
    &DELETE_ENDPOINT,
];
