//! The events resource **[payrec, beyond Stripe]**: list and retrieve, with Stripe's `event`
//! object. Events are written by the report calls, in their transactions (`store::write`).

use axum::routing::on;

use super::route::{Returns, Route};
use crate::wire::params::ParamObject;

mod params;
mod reads;

use params::{ListEventsParams, RetrieveEventParams};

pub const LIST_EVENTS: Route = Route::get(
    "/v1/events",
    "List events, newest first.",
    ListEventsParams::FIELDS,
    Returns {
        schema: "event_list",
        description: "A page of events.",
    },
    |m| on(m, reads::list_events),
);

pub const RETRIEVE_EVENT: Route = Route::get(
    "/v1/events/{id}",
    "Retrieve an event.",
    RetrieveEventParams::FIELDS,
    Returns {
        schema: "event",
        description: "The event.",
    },
    |m| on(m, reads::retrieve_event),
);

pub const ROUTES: &[&Route] = &[&LIST_EVENTS, &RETRIEVE_EVENT];
