//! The HTTP surface: the application state, the tenant of a request, the one way mutations run,
//! and one folder per resource, each with its endpoint table. Adding a resource adds a folder
//! here and its table to `RESOURCES`.

use axum::Router;

pub mod auth;
pub mod events;
pub mod execute;
pub mod extensions;
pub mod payment_records;
pub mod reconciliation;
pub mod route;
pub mod simulate;
pub mod test_data;
pub mod webhook_endpoints;

use crate::state::AppState;
use route::Route;

/// Every resource's endpoint table: the router serves them and the API description lists them.
pub const RESOURCES: &[&[&Route]] = &[
    payment_records::ROUTES,
    events::ROUTES,
    webhook_endpoints::ROUTES,
    test_data::ROUTES,
    reconciliation::ROUTES,
];

/// Every endpoint of every resource, routed.
pub fn router() -> Router<AppState> {
    RESOURCES
        .iter()
        .flat_map(|endpoints| endpoints.iter())
        .fold(Router::new(), |router, endpoint| {
            router.route(endpoint.path, (endpoint.route)(endpoint.method.filter()))
        })
}
