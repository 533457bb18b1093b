//! The one rendering of a webhook-endpoint call's result (saved under its idempotency key, or
//! answered).

use crate::api::payment_records::respond::json;
use crate::events::endpoint::{ENDPOINTS_PER_TENANT_MAX, render_deleted, render_endpoint};
use crate::store::{Applied, SavedResponse, WriteResult};
use crate::wire::error::ApiError;

/// A `store::RenderSaved` for the webhook endpoints' writes.
pub fn endpoint_result(result: &WriteResult, _expand: &[&'static str]) -> SavedResponse {
    let ok = |body: String| SavedResponse { status: 200, body };
    match result {
        WriteResult::Applied(Applied::Endpoint(endpoint)) => ok(json(&render_endpoint(endpoint).without_secret())),
        WriteResult::Applied(Applied::EndpointDeleted(id)) => ok(json(&render_deleted(id))),
        WriteResult::Missing { object, id } => ApiError::ResourceMissing {
            object,
            id: id.clone(),
            param: "id",
        }
        .saved(),
        WriteResult::Rejected(rule) => ApiError::from(rule.clone()).saved(),
        WriteResult::EndpointLimitReached => ApiError::Invalid {
            message: format!(
                "You have reached the maximum of {ENDPOINTS_PER_TENANT_MAX} webhook endpoints for this account in this mode."
            ),
            param: None,
        }
        .saved(),
        WriteResult::Applied(Applied::Record(_))
        | WriteResult::RefundReferenceTaken { .. }
        | WriteResult::Imported(_) => {
            unreachable!("webhook endpoint writes never touch records")
        }
    }
}
