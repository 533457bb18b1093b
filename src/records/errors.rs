//! Domain errors in Stripe's shape.

use super::lifecycle::LifecycleError;
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
