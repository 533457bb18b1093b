//! Every endpoint the suite calls, and the report calls on a record: the one place their methods
//! and paths are spelled.

use reqwest::Method;

/// The report calls on a record: `POST /v1/payment_records/{id}/<call>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Attempt,
    Guaranteed,
    Failed,
    Canceled,
    Informational,
    Refund,
}

impl Report {
    /// The call that reports `outcome` (`guaranteed`, `failed` or `canceled`).
    pub fn outcome(outcome: &str) -> Report {
        match outcome {
            "guaranteed" => Report::Guaranteed,
            "failed" => Report::Failed,
            "canceled" => Report::Canceled,
            other => panic!("{other} is not an outcome"),
        }
    }

    fn call(self) -> &'static str {
        match self {
            Report::Attempt => "report_payment_attempt",
            Report::Guaranteed => "report_payment_attempt_guaranteed",
            Report::Failed => "report_payment_attempt_failed",
            Report::Canceled => "report_payment_attempt_canceled",
            Report::Informational => "report_payment_attempt_informational",
            Report::Refund => "report_refund",
        }
    }
}

/// Every endpoint the suite calls; `path` is the only place their paths are spelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    ReportPayment,
    /// A report call on the record with this id.
    Report(String, Report),
    RetrieveRecord(String),
    ListRecords,
    RetrieveAttempt(String),
    /// The record is the `payment_record` query parameter.
    ListAttempts,
    Healthz,
    Readyz,
    Metrics,
    OpenApi,
    ListEvents,
    RetrieveEvent(String),
    CreateWebhook,
    RetrieveWebhook(String),
    UpdateWebhook(String),
    ListWebhooks,
    DeleteWebhook(String),
}

impl Endpoint {
    pub fn method(&self) -> Method {
        match self {
            Endpoint::ReportPayment | Endpoint::Report(..) | Endpoint::CreateWebhook | Endpoint::UpdateWebhook(_) => {
                Method::POST
            }
            Endpoint::DeleteWebhook(_) => Method::DELETE,
            _ => Method::GET,
        }
    }

    pub fn path(&self) -> String {
        match self {
            Endpoint::ReportPayment => "/v1/payment_records/report_payment".to_owned(),
            Endpoint::Report(id, call) => format!("/v1/payment_records/{id}/{}", call.call()),
            Endpoint::RetrieveRecord(id) => format!("/v1/payment_records/{id}"),
            Endpoint::ListRecords => "/v1/payment_records".to_owned(),
            Endpoint::RetrieveAttempt(id) => format!("/v1/payment_attempt_records/{id}"),
            Endpoint::ListAttempts => "/v1/payment_attempt_records".to_owned(),
            Endpoint::Healthz => "/healthz".to_owned(),
            Endpoint::Readyz => "/readyz".to_owned(),
            Endpoint::Metrics => "/metrics".to_owned(),
            Endpoint::OpenApi => "/openapi.json".to_owned(),
            Endpoint::ListEvents => "/v1/events".to_owned(),
            Endpoint::RetrieveEvent(id) => format!("/v1/events/{id}"),
            Endpoint::CreateWebhook | Endpoint::ListWebhooks => "/v1/webhook_endpoints".to_owned(),
            Endpoint::RetrieveWebhook(id) | Endpoint::UpdateWebhook(id) | Endpoint::DeleteWebhook(id) => {
                format!("/v1/webhook_endpoints/{id}")
            }
        }
    }
}
