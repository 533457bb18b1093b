//! The one rendering of a webhook-endpoint call's result (saved under its idempotency key, or
//! answered).

use crate::api::payment_records::respond::json;
use crate::events::endpoint::{ENDPOINTS_PER_TENANT_MAX, render_deleted, render_endpoint};
use crate::store::{Applied, SavedResponse, WriteResult};
use crate::wire::error::ApiError;

fn error(e: ApiError) -> SavedResponse {
    SavedResponse {
        status: e.status().as_u16(),
        body: e.to_body(),
    }
}

/// A `store::RenderSaved` for the webhook endpoints' writes.
pub fn endpoint_result(result: &WriteResult, _expand: &[&'static str]) -> SavedResponse {
    let ok = |body: String| SavedResponse { status: 200, body };
    match result {
        WriteResult::Applied(Applied::Endpoint(endpoint)) => ok(json(&render_endpoint(endpoint))),
        WriteResult::Applied(Applied::EndpointDeleted(id)) => ok(json(&render_deleted(id))),
        WriteResult::Missing { object, id } => error(ApiError::ResourceMissing {
            object,
            id: id.clone(),
            param: "id",
        }),
        WriteResult::Rejected(rule) => error(rule.clone().into()),
        WriteResult::EndpointLimitReached => error(ApiError::Invalid {
            message: format!(
                "You have reached the maximum of {ENDPOINTS_PER_TENANT_MAX} webhook endpoints for this account in this mode."
            ),
            param: None,
        }),
        WriteResult::Applied(Applied::Record(_)) | WriteResult::RefundReferenceTaken { .. } => {
            unreachable!("webhook endpoint writes never touch records")
        }
    }
}
