//! The one rendering of a webhook-endpoint call's result (saved under its idempotency key, or
//! answered).

use crate::api::payment_records::respond::json;
use crate::events::endpoint::EndpointError;
use crate::events::endpoint::{ENDPOINTS_PER_TENANT_MAX, render_deleted, render_endpoint};
use crate::store::{EndpointOutcome, SavedResponse};
use crate::wire::error::ApiError;

impl From<EndpointError> for ApiError {
    fn from(e: EndpointError) -> Self {
        // The same answer as a payment record's broken metadata rule.
        ApiError::Lifecycle {
            message: e.message(),
            param: Some(e.param().into()),
        }
    }
}

/// A `store::RenderSaved` for the webhook endpoints' writes.
pub fn endpoint_result(result: &EndpointOutcome, _expand: &[&'static str]) -> SavedResponse {
    let ok = |body: String| SavedResponse { status: 200, body };
    match result {
        EndpointOutcome::Applied(endpoint) => ok(json(&render_endpoint(endpoint).without_secret())),
        EndpointOutcome::Deleted(id) => ok(json(&render_deleted(id))),
        EndpointOutcome::Missing(id) => ApiError::ResourceMissing {
            object: "webhook_endpoint",
            id: id.clone(),
            param: "id",
        }
        .saved(),
        EndpointOutcome::Rejected(rule) => ApiError::from(rule.clone()).saved(),
        EndpointOutcome::LimitReached => ApiError::Invalid {
            message: format!(
                "You have reached the maximum of {ENDPOINTS_PER_TENANT_MAX} webhook endpoints for this account in this mode."
            ),
            param: None,
        }
        .saved(),
    }
}
