//! The eleven Payment Records endpoints as data: method, path, parameter shape, required
//! parameters, expandable fields and what each returns. The router (`http::router`) and the API
//! description (`openapi`) are both built from `ENDPOINTS`, and the handlers check their
//! parameters against the same entries, so the three cannot drift apart.

use super::params as p;
use crate::wire::params::Shape;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Which handler serves an endpoint (`http::router` maps each to its function).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    ReportPayment,
    RetrieveRecord,
    ListRecords,
    ReportPaymentAttempt,
    ReportGuaranteed,
    ReportFailed,
    ReportCanceled,
    ReportInformational,
    ReportRefund,
    RetrieveAttempt,
    ListAttempts,
}

/// What a successful call answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    Record,
    Attempt,
    RecordList,
    AttemptList,
}

#[derive(Debug)]
pub struct Endpoint {
    pub operation: Operation,
    pub method: Method,
    /// In axum's route syntax, which is also OpenAPI's: `/v1/payment_records/{id}`.
    pub path: &'static str,
    pub summary: &'static str,
    /// Query parameters for GET, form body for POST.
    pub params: &'static [(&'static str, Shape)],
    /// Full paths of the parameters a call must send (`amount_requested[value]`).
    pub required: &'static [&'static str],
    /// The `expand[]` values the endpoint accepts.
    pub expandable: &'static [&'static str],
    pub returns: Returns,
}

const RECORD_EXPANDABLE: &[&str] = &["latest_payment_attempt_record"];

pub const REPORT_PAYMENT: Endpoint = Endpoint {
    operation: Operation::ReportPayment,
    method: Method::Post,
    path: "/v1/payment_records/report_payment",
    summary: "Report a payment: creates a Payment Record and its first attempt.",
    params: p::REPORT_PAYMENT,
    required: &[
        "amount_requested[currency]",
        "amount_requested[value]",
        "initiated_at",
        "payment_method_details[type]",
    ],
    expandable: RECORD_EXPANDABLE,
    returns: Returns::Record,
};

pub const RETRIEVE_RECORD: Endpoint = Endpoint {
    operation: Operation::RetrieveRecord,
    method: Method::Get,
    path: "/v1/payment_records/{id}",
    summary: "Retrieve a Payment Record.",
    params: p::RETRIEVE,
    required: &[],
    expandable: RECORD_EXPANDABLE,
    returns: Returns::Record,
};

pub const LIST_RECORDS: Endpoint = Endpoint {
    operation: Operation::ListRecords,
    method: Method::Get,
    path: "/v1/payment_records",
    summary: "List Payment Records, newest first.",
    params: p::LIST_RECORDS,
    required: &[],
    expandable: &["data.latest_payment_attempt_record"],
    returns: Returns::RecordList,
};

pub const REPORT_PAYMENT_ATTEMPT: Endpoint = Endpoint {
    operation: Operation::ReportPaymentAttempt,
    method: Method::Post,
    path: "/v1/payment_records/{id}/report_payment_attempt",
    summary: "Report a new attempt; allowed when every earlier attempt failed or was canceled.",
    params: p::REPORT_PAYMENT_ATTEMPT,
    required: &["initiated_at"],
    expandable: RECORD_EXPANDABLE,
    returns: Returns::Record,
};

pub const REPORT_GUARANTEED: Endpoint = Endpoint {
    operation: Operation::ReportGuaranteed,
    method: Method::Post,
    path: "/v1/payment_records/{id}/report_payment_attempt_guaranteed",
    summary: "Report that the latest (pending) attempt was guaranteed.",
    params: p::REPORT_GUARANTEED,
    required: &["guaranteed_at"],
    expandable: RECORD_EXPANDABLE,
    returns: Returns::Record,
};

pub const REPORT_FAILED: Endpoint = Endpoint {
    operation: Operation::ReportFailed,
    method: Method::Post,
    path: "/v1/payment_records/{id}/report_payment_attempt_failed",
    summary: "Report that the latest (pending) attempt failed.",
    params: p::REPORT_FAILED,
    required: &["failed_at"],
    expandable: RECORD_EXPANDABLE,
    returns: Returns::Record,
};

pub const REPORT_CANCELED: Endpoint = Endpoint {
    operation: Operation::ReportCanceled,
    method: Method::Post,
    path: "/v1/payment_records/{id}/report_payment_attempt_canceled",
    summary: "Report that the latest (pending) attempt was canceled.",
    params: p::REPORT_CANCELED,
    required: &["canceled_at"],
    expandable: RECORD_EXPANDABLE,
    returns: Returns::Record,
};

pub const REPORT_INFORMATIONAL: Endpoint = Endpoint {
    operation: Operation::ReportInformational,
    method: Method::Post,
    path: "/v1/payment_records/{id}/report_payment_attempt_informational",
    summary: "Update customer_details, description, metadata and shipping_details of the record and its latest attempt.",
    params: p::REPORT_INFORMATIONAL,
    required: &[],
    expandable: RECORD_EXPANDABLE,
    returns: Returns::Record,
};

pub const REPORT_REFUND: Endpoint = Endpoint {
    operation: Operation::ReportRefund,
    method: Method::Post,
    path: "/v1/payment_records/{id}/report_refund",
    summary: "Report a refund of the guaranteed attempt; without amount, refunds the remainder.",
    params: p::REPORT_REFUND,
    required: &[
        "outcome",
        "processor_details[type]",
        "processor_details[custom][refund_reference]",
    ],
    expandable: RECORD_EXPANDABLE,
    returns: Returns::Record,
};

pub const RETRIEVE_ATTEMPT: Endpoint = Endpoint {
    operation: Operation::RetrieveAttempt,
    method: Method::Get,
    path: "/v1/payment_attempt_records/{id}",
    summary: "Retrieve a Payment Attempt Record.",
    params: p::RETRIEVE,
    required: &[],
    expandable: &["payment_record"],
    returns: Returns::Attempt,
};

pub const LIST_ATTEMPTS: Endpoint = Endpoint {
    operation: Operation::ListAttempts,
    method: Method::Get,
    path: "/v1/payment_attempt_records",
    summary: "List the attempts of one Payment Record, newest first.",
    params: p::LIST_ATTEMPTS,
    required: &["payment_record"],
    expandable: &["data.payment_record"],
    returns: Returns::AttemptList,
};

/// Every endpoint payrec serves under `/v1`, in the order the API reference lists them.
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
