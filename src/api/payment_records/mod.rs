//! The Payment Records resource's HTTP surface: its eleven endpoints as data (`ENDPOINTS`), the
//! parameters each declares (`params`), the report calls (`handlers`), the reads (`reads`) and
//! the rendering of answers (`respond`). The domain is `crate::records`.

use axum::routing::on;

use super::endpoint::{Endpoint, Method, Returns};
use crate::wire::params::ParamObject;

mod handlers;
pub mod params;
mod reads;
pub mod respond;
pub mod values;

use params::{
    ListAttemptsParams, ListRecordsParams, ReportCanceledParams, ReportFailedParams, ReportGuaranteedParams,
    ReportInformationalParams, ReportPaymentAttemptParams, ReportPaymentParams, ReportRefundParams,
    RetrieveAttemptParams, RetrieveRecordParams,
};

const RECORD: Returns = Returns {
    schema: "payment_record",
    description: "The Payment Record.",
};

pub const REPORT_PAYMENT: Endpoint = Endpoint {
    method: Method::Post,
    path: "/v1/payment_records/report_payment",
    summary: "Report a payment: creates a Payment Record and its first attempt.",
    params: ReportPaymentParams::FIELDS,
    returns: RECORD,
    route: |m| on(m, handlers::report_payment),
};

pub const RETRIEVE_RECORD: Endpoint = Endpoint {
    method: Method::Get,
    path: "/v1/payment_records/{id}",
    summary: "Retrieve a Payment Record.",
    params: RetrieveRecordParams::FIELDS,
    returns: RECORD,
    route: |m| on(m, reads::retrieve_record),
};

pub const LIST_RECORDS: Endpoint = Endpoint {
    method: Method::Get,
    path: "/v1/payment_records",
    summary: "List Payment Records, newest first.",
    params: ListRecordsParams::FIELDS,
    returns: Returns {
        schema: "payment_record_list",
        description: "A page of Payment Records.",
    },
    route: |m| on(m, reads::list_records),
};

pub const REPORT_PAYMENT_ATTEMPT: Endpoint = Endpoint {
    method: Method::Post,
    path: "/v1/payment_records/{id}/report_payment_attempt",
    summary: "Report a new attempt; allowed when every earlier attempt failed or was canceled.",
    params: ReportPaymentAttemptParams::FIELDS,
    returns: RECORD,
    route: |m| on(m, handlers::report_payment_attempt),
};

pub const REPORT_GUARANTEED: Endpoint = Endpoint {
    method: Method::Post,
    path: "/v1/payment_records/{id}/report_payment_attempt_guaranteed",
    summary: "Report that the latest (pending) attempt was guaranteed.",
    params: ReportGuaranteedParams::FIELDS,
    returns: RECORD,
    route: |m| on(m, handlers::report_guaranteed),
};

pub const REPORT_FAILED: Endpoint = Endpoint {
    method: Method::Post,
    path: "/v1/payment_records/{id}/report_payment_attempt_failed",
    summary: "Report that the latest (pending) attempt failed.",
    params: ReportFailedParams::FIELDS,
    returns: RECORD,
    route: |m| on(m, handlers::report_failed),
};

pub const REPORT_CANCELED: Endpoint = Endpoint {
    method: Method::Post,
    path: "/v1/payment_records/{id}/report_payment_attempt_canceled",
    summary: "Report that the latest (pending) attempt was canceled.",
    params: ReportCanceledParams::FIELDS,
    returns: RECORD,
    route: |m| on(m, handlers::report_canceled),
};

pub const REPORT_INFORMATIONAL: Endpoint = Endpoint {
    method: Method::Post,
    path: "/v1/payment_records/{id}/report_payment_attempt_informational",
    summary: "Update customer_details, description, metadata and shipping_details of the record and its latest attempt.",
    params: ReportInformationalParams::FIELDS,
    returns: RECORD,
    route: |m| on(m, handlers::report_informational),
};

pub const REPORT_REFUND: Endpoint = Endpoint {
    method: Method::Post,
    path: "/v1/payment_records/{id}/report_refund",
    summary: "Report a refund of the guaranteed attempt; without amount, refunds the remainder.",
    params: ReportRefundParams::FIELDS,
    returns: RECORD,
    route: |m| on(m, handlers::report_refund),
};

pub const RETRIEVE_ATTEMPT: Endpoint = Endpoint {
    method: Method::Get,
    path: "/v1/payment_attempt_records/{id}",
    summary: "Retrieve a Payment Attempt Record.",
    params: RetrieveAttemptParams::FIELDS,
    returns: Returns {
        schema: "payment_attempt_record",
        description: "The Payment Attempt Record.",
    },
    route: |m| on(m, reads::retrieve_attempt),
};

pub const LIST_ATTEMPTS: Endpoint = Endpoint {
    method: Method::Get,
    path: "/v1/payment_attempt_records",
    summary: "List the attempts of one Payment Record, newest first.",
    params: ListAttemptsParams::FIELDS,
    returns: Returns {
        schema: "payment_attempt_record_list",
        description: "A page of Payment Attempt Records.",
    },
    route: |m| on(m, reads::list_attempts),
};

/// Every endpoint of the resource, in the order the API reference lists them.
pub const ENDPOINTS: &[&Endpoint] = &[
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
