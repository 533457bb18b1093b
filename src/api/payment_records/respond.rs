//! Answers in Stripe's shape: objects rendered as JSON, domain errors as `ApiError`s, and the
//! one rendering of a report call's result (saved under its idempotency key, or answered).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::records::lifecycle::LifecycleError;
use crate::records::render;
use crate::store::{RecordOutcome, SavedResponse};
use crate::wire::error::ApiError;

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        ApiError::Lifecycle {
            message: e.message(),
            param: e.param().map(str::to_owned),
        }
    }
}

/// The database found this `refund_reference` already used in the tenant.
pub fn refund_reference_taken(reference: &str) -> ApiError {
    ApiError::Lifecycle {
        message: format!(
            "A refund with refund_reference '{reference}' has already been reported. Each refund_reference must be unique."
        ),
        param: Some("processor_details[custom][refund_reference]".into()),
    }
}

pub fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("views serialize")
}

pub fn ok_json<T: Serialize>(value: &T) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        json(value),
    )
        .into_response()
}

/// A report call's answer: the record (its latest attempt expanded when asked), or the error
/// the call produced. A `store::RenderSaved`.
pub fn record_result(result: &RecordOutcome, expand: &[&'static str]) -> SavedResponse {
    match result {
        RecordOutcome::Applied(state) => SavedResponse {
            status: 200,
            body: json(&render::record(
                &state.record,
                (!expand.is_empty()).then_some(&state.latest),
            )),
        },
        RecordOutcome::Missing(id) => ApiError::ResourceMissing {
            object: "payment_record",
            id: id.clone(),
            param: "id",
        }
        .saved(),
        RecordOutcome::Rejected(rule) => ApiError::from(rule.clone()).saved(),
        RecordOutcome::RefundReferenceTaken(reference) => refund_reference_taken(reference).saved(),
    }
}
