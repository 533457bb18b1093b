//! The Payment Records resource's HTTP surface: its eleven endpoints as data (`ROUTES`), the
//! parameters each declares (`params`), the report calls (`handlers`), the reads (`reads`) and
//! the rendering of answers (`respond`). The domain is `crate::records`.

use axum::routing::on;

use super::route::{Returns, Route};
use crate::wire::params::ParamObject;

mod handlers;
pub mod params;
mod reads;
pub mod respond;

use crate::calls::payment_records::params::{
    ReportCanceledParams, ReportFailedParams, ReportGuaranteedParams, ReportInformationalParams,
    ReportPaymentAttemptParams, ReportPaymentParams, ReportRefundParams,
};
use params::{ListAttemptsParams, ListRecordsParams, RetrieveAttemptParams, RetrieveRecordParams};

const RECORD: Returns = Returns {
    schema: "payment_record",
    description: "The Payment Record.",
};

pub const REPORT_PAYMENT: Route = Route::post(
    "/v1/payment_records/report_payment",
    "Report a payment: creates a Payment Record and its first attempt.",
    ReportPaymentParams::FIELDS,
    RECORD,
    |m| on(m, handlers::report_payment),
);

pub const RETRIEVE_RECORD: Route = Route::get(
    "/v1/payment_records/{id}",
    "Retrieve a Payment Record.",
    RetrieveRecordParams::FIELDS,
    RECORD,
    |m| on(m, reads::retrieve_record),
);

pub const LIST_RECORDS: Route = Route::get(
    "/v1/payment_records",
    "List Payment Records, newest first.",
    ListRecordsParams::FIELDS,
    Returns {
        schema: "payment_record_list",
        description: "A page of Payment Records.",
    },
    |m| on(m, reads::list_records),
);

pub const REPORT_PAYMENT_ATTEMPT: Route = Route::post(
    "/v1/payment_records/{id}/report_payment_attempt",
    "Report a new attempt; allowed when every earlier attempt failed or was canceled.",
    ReportPaymentAttemptParams::FIELDS,
    RECORD,
    |m| on(m, handlers::report_payment_attempt),
);

pub const REPORT_GUARANTEED: Route = Route::post(
    "/v1/payment_records/{id}/report_payment_attempt_guaranteed",
    "Report that the latest (pending) attempt was guaranteed.",
    ReportGuaranteedParams::FIELDS,
    RECORD,
    |m| on(m, handlers::report_outcome::<ReportGuaranteedParams>),
);

pub const REPORT_FAILED: Route = Route::post(
    "/v1/payment_records/{id}/report_payment_attempt_failed",
    "Report that the latest (pending) attempt failed.",
    ReportFailedParams::FIELDS,
    RECORD,
    |m| on(m, handlers::report_outcome::<ReportFailedParams>),
);

pub const REPORT_CANCELED: Route = Route::post(
    "/v1/payment_records/{id}/report_payment_attempt_canceled",
    "Report that the latest (pending) attempt was canceled.",
    ReportCanceledParams::FIELDS,
    RECORD,
    |m| on(m, handlers::report_outcome::<ReportCanceledParams>),
);

pub const REPORT_INFORMATIONAL: Route = Route::post(
    "/v1/payment_records/{id}/report_payment_attempt_informational",
    "Update customer_details, description, metadata and shipping_details of the record and its latest attempt.",
    ReportInformationalParams::FIELDS,
    RECORD,
    |m| on(m, handlers::report_informational),
);

pub const REPORT_REFUND: Route = Route::post(
    "/v1/payment_records/{id}/report_refund",
    "Report a refund of the guaranteed attempt; without amount, refunds the remainder.",
    ReportRefundParams::FIELDS,
    RECORD,
    |m| on(m, handlers::report_refund),
);

pub const RETRIEVE_ATTEMPT: Route = Route::get(
    "/v1/payment_attempt_records/{id}",
    "Retrieve a Payment Attempt Record.",
    RetrieveAttemptParams::FIELDS,
    Returns {
        schema: "payment_attempt_record",
        description: "The Payment Attempt Record.",
    },
    |m| on(m, reads::retrieve_attempt),
);

pub const LIST_ATTEMPTS: Route = Route::get(
    "/v1/payment_attempt_records",
    "List the attempts of one Payment Record, newest first.",
    ListAttemptsParams::FIELDS,
    Returns {
        schema: "payment_attempt_record_list",
        description: "A page of Payment Attempt Records.",
    },
    |m| on(m, reads::list_attempts),
);

/// Every endpoint of the resource, in the order the API reference lists them.
pub const ROUTES: &[&Route] = &[
    &REPORT_PAYMENT,
    &RETRIEVE_RECORD,
    &LIST_RECORDS,
    &REPORT_PAYMENT_ATTEMPT,
    &REPORT_GUARANTEED,
    &REPORT_FAILED,
    &REPORT_CANCELED,
    &REPORT_INFORMATIONAL,
    &REPORT_REFUND,
    &RETRIEVE_ATTEMPT,
    &LIST_ATTEMPTS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_parameters_are_those_of_required_hashes_only() {
        let endpoint = REPORT_REFUND;
        assert_eq!(
            endpoint.required(),
            [
                "outcome",
                "processor_details[type]",
                "processor_details[custom][refund_reference]"
            ]
        );
        let report = REPORT_PAYMENT;
        assert_eq!(
            report.required(),
            [
                "amount_requested[currency]",
                "amount_requested[value]",
                "initiated_at",
                "payment_method_details[type]"
            ]
        );
    }
}
