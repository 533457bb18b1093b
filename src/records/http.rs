//! The eleven Payment Records endpoints: params → store transaction → lifecycle → response.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use serde::Serialize;

use super::endpoints::{self as e, ENDPOINTS, Endpoint, Method, Operation};
use super::lifecycle::{self, Informational, NewAttempt, NewPayment, PaymentState, RefundReport};
use super::model::{Outcome, PaymentAttemptRecord, PaymentDetails, PaymentRecord};
use super::params::{self as p};
use super::render;
use crate::AppState;
use crate::records::ids::{new_attempt_id, new_record_id};
use crate::store::{ListError, RespondFn, SavedResponse, Tenant, WriteTarget};
use crate::wire::error::ApiError;
use crate::wire::expand::expand_paths;
use crate::wire::idempotency::execute;
use crate::wire::list::{ListEnvelope, list_query};
use crate::wire::params::{Params, check_shape};
use crate::wire::request::{ApiRequest, percent_decode_path};

/// Routes every entry of `ENDPOINTS` to its handler: the table gives method and path, this
/// match only picks the function, so the router and the API description list the same routes.
pub fn router() -> Router<AppState> {
    ENDPOINTS.iter().fold(Router::new(), |router, endpoint| {
        router.route(endpoint.path, handler(endpoint))
    })
}

fn handler(endpoint: &Endpoint) -> MethodRouter<AppState> {
    let method = match endpoint.method {
        Method::Get => MethodFilter::GET,
        Method::Post => MethodFilter::POST,
    };
    match endpoint.operation {
        Operation::ReportPayment => on(method, report_payment),
        Operation::RetrieveRecord => on(method, retrieve_record),
        Operation::ListRecords => on(method, list_records),
        Operation::ReportPaymentAttempt => on(method, report_payment_attempt),
        Operation::ReportGuaranteed => on(method, report_guaranteed),
        Operation::ReportFailed => on(method, report_failed),
        Operation::ReportCanceled => on(method, report_canceled),
        Operation::ReportInformational => on(method, report_informational),
        Operation::ReportRefund => on(method, report_refund),
        Operation::RetrieveAttempt => on(method, retrieve_attempt),
        Operation::ListAttempts => on(method, list_attempts),
    }
}

/// The `{id}` path segment, percent-decoded. Any string is accepted: an id that names no
/// object is a 404, whatever its length or characters.
#[derive(Debug)]
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    /// Every route with an id has it as the third segment (`/v1/<objects>/{id}/…`). It is
    /// read from the raw path and decoded exactly once; bytes that are not UTF-8 are replaced,
    /// since such an id can name no object.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.path().split('/').nth(3).unwrap_or_default();
        Ok(PathId(percent_decode_path(raw)))
    }
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("views serialize")
}

fn ok_json<T: Serialize>(value: &T) -> Response {
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json(value),
    )
        .into_response()
}

/// Renders the record after a write, or the error the write produced.
fn respond_record(expand_latest: bool) -> RespondFn {
    Box::new(move |result: Result<&PaymentState, &ApiError>| match result {
        Ok(state) => SavedResponse {
            status: 200,
            body: json(&render::record(&state.record, expand_latest.then_some(&state.latest))),
        },
        Err(e) => SavedResponse {
            status: e.status().as_u16(),
            body: e.to_body(),
        },
    })
}

/// The transition-counter label of a report call: its `outcome`, or `pending` if it has none.
fn outcome_label(request: &ApiRequest, pending: &'static str) -> &'static str {
    match request.params.0.get("outcome") {
        Some(crate::wire::form::Param::Str(s)) => match s.as_str() {
            "guaranteed" => "guaranteed",
            "failed" => "failed",
            "canceled" => "canceled",
            _ => pending,
        },
        _ => pending,
    }
}

/// POST /v1/payment_records/report_payment
async fn report_payment(State(app): State<AppState>, tenant: Tenant, request: ApiRequest) -> Response {
    let livemode = tenant.livemode;
    let outcome = outcome_label(&request, "reported");
    execute(&app, tenant, &request, outcome, || {
        check_shape(&request.params, e::REPORT_PAYMENT.params)?;
        let params = Params::root(&request.params);
        let expand = !expand_paths(&params, e::REPORT_PAYMENT.expandable)?.is_empty();
        let amount_requested = p::amount(&params, "amount_requested")?;
        let initiated_at = params.required_timestamp("initiated_at")?;
        let payment_method_details =
            p::payment_method_details(&params)?.ok_or_else(|| params.missing("payment_method_details"))?;
        let details = PaymentDetails {
            customer_details: p::customer_details(&params)?,
            customer_presence: p::customer_presence(&params)?,
            description: p::description(&params)?,
            metadata: Default::default(),
            payment_method_details: Some(payment_method_details),
            processor_details: p::processor_details(&params)?,
            shipping_details: p::shipping_details(&params)?,
        };
        let state = lifecycle::report_payment(NewPayment {
            record_id: new_record_id(),
            attempt_id: new_attempt_id(),
            livemode,
            now: crate::unix_now(),
            amount_requested,
            initiated_at,
            details,
            metadata: p::metadata(&params)?,
            outcome: p::outcome(&params)?,
        })?;
        Ok((WriteTarget::Create(state), respond_record(expand)))
    })
    .await
}

/// POST /v1/payment_records/:id/report_payment_attempt
async fn report_payment_attempt(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Response {
    let outcome = outcome_label(&request, "attempted");
    execute(&app, tenant, &request, outcome, || {
        check_shape(&request.params, e::REPORT_PAYMENT_ATTEMPT.params)?;
        let params = Params::root(&request.params);
        let expand = !expand_paths(&params, e::REPORT_PAYMENT_ATTEMPT.expandable)?.is_empty();
        let command = NewAttempt {
            attempt_id: new_attempt_id(),
            now: crate::unix_now(),
            initiated_at: params.required_timestamp("initiated_at")?,
            description: p::description(&params)?,
            metadata: p::metadata(&params)?,
            outcome: p::outcome(&params)?,
            payment_method_details: p::payment_method_details(&params)?,
            shipping_details: p::shipping_details(&params)?,
        };
        let plan = Box::new(move |state: &PaymentState| {
            lifecycle::report_payment_attempt(state, command).map_err(ApiError::from)
        });
        Ok((WriteTarget::Existing { record_id: id, plan }, respond_record(expand)))
    })
    .await
}

/// The three outcome endpoints share one shape: `<outcome>_at` (required), metadata, expand.
async fn report_outcome(app: AppState, tenant: Tenant, id: String, request: ApiRequest, outcome: Outcome) -> Response {
    let endpoint = match outcome {
        Outcome::Guaranteed => &e::REPORT_GUARANTEED,
        Outcome::Failed => &e::REPORT_FAILED,
        Outcome::Canceled => &e::REPORT_CANCELED,
    };
    execute(&app, tenant, &request, outcome.as_str(), || {
        check_shape(&request.params, endpoint.params)?;
        let params = Params::root(&request.params);
        let expand = !expand_paths(&params, endpoint.expandable)?.is_empty();
        let at = params.required_timestamp(&format!("{}_at", outcome.as_str()))?;
        let metadata = p::metadata(&params)?;
        let plan = Box::new(move |state: &PaymentState| {
            lifecycle::report_outcome(state, outcome, at, &metadata).map_err(ApiError::from)
        });
        Ok((WriteTarget::Existing { record_id: id, plan }, respond_record(expand)))
    })
    .await
}

/// POST /v1/payment_records/:id/report_payment_attempt_guaranteed
async fn report_guaranteed(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Response {
    report_outcome(app, tenant, id, request, Outcome::Guaranteed).await
}

/// POST /v1/payment_records/:id/report_payment_attempt_failed
async fn report_failed(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Response {
    report_outcome(app, tenant, id, request, Outcome::Failed).await
}

/// POST /v1/payment_records/:id/report_payment_attempt_canceled
async fn report_canceled(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Response {
    report_outcome(app, tenant, id, request, Outcome::Canceled).await
}

/// POST /v1/payment_records/:id/report_payment_attempt_informational
async fn report_informational(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Response {
    execute(&app, tenant, &request, "informational", || {
        check_shape(&request.params, e::REPORT_INFORMATIONAL.params)?;
        let params = Params::root(&request.params);
        let expand = !expand_paths(&params, e::REPORT_INFORMATIONAL.expandable)?.is_empty();
        let shipping_details = if params.is_unset("shipping_details") {
            Some(None)
        } else {
            p::shipping_details(&params)?.map(Some)
        };
        let command = Informational {
            customer_details: p::customer_details(&params)?,
            description: p::unsettable_description(&params)?,
            metadata: p::metadata(&params)?,
            shipping_details,
        };
        let plan = Box::new(move |state: &PaymentState| {
            lifecycle::report_informational(state, command).map_err(ApiError::from)
        });
        Ok((WriteTarget::Existing { record_id: id, plan }, respond_record(expand)))
    })
    .await
}

/// POST /v1/payment_records/:id/report_refund
async fn report_refund(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Response {
    execute(&app, tenant, &request, "refunded", || {
        check_shape(&request.params, e::REPORT_REFUND.params)?;
        let params = Params::root(&request.params);
        let expand = !expand_paths(&params, e::REPORT_REFUND.expandable)?.is_empty();
        params
            .one_of("outcome", &[("refunded", ())])?
            .ok_or_else(|| params.missing("outcome"))?;
        let processor = params
            .object("processor_details")
            .ok_or_else(|| params.missing("processor_details"))?;
        processor
            .one_of("type", &[("custom", ())])?
            .ok_or_else(|| processor.missing("type"))?;
        let custom = processor.object("custom").ok_or_else(|| processor.missing("custom"))?;
        let refund_reference = custom.required_string("refund_reference")?.to_owned();
        let amount = if params.contains("amount") {
            Some(p::amount(&params, "amount")?)
        } else {
            None
        };
        let refunded_at = match params.object("refunded") {
            Some(r) => Some(r.required_timestamp("refunded_at")?),
            None => None,
        };
        let command = RefundReport {
            refund_reference,
            amount,
            refunded_at,
            initiated_at: params.timestamp("initiated_at")?,
            metadata: p::metadata(&params)?,
            now: crate::unix_now(),
        };
        let plan =
            Box::new(move |state: &PaymentState| lifecycle::report_refund(state, command).map_err(ApiError::from));
        Ok((WriteTarget::Existing { record_id: id, plan }, respond_record(expand)))
    })
    .await
}

fn missing_record(id: String, param: &'static str) -> ApiError {
    ApiError::ResourceMissing {
        object: "payment_record",
        id,
        param,
    }
}

/// Loads the latest attempt of a record for `expand[]=latest_payment_attempt_record`.
async fn latest_of(
    app: &AppState,
    tenant: &Tenant,
    record: &PaymentRecord,
    request_id: &str,
) -> Result<PaymentAttemptRecord, ApiError> {
    app.store
        .get_attempt(tenant, record.latest_attempt.as_str())
        .await
        .map_err(|e| app.internal_error(request_id, e))?
        .ok_or_else(|| app.internal_error(request_id, format!("record {} lost its latest attempt", record.id)))
}

/// GET /v1/payment_records/:id
async fn retrieve_record(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    check_shape(&request.params, e::RETRIEVE_RECORD.params)?;
    let params = Params::root(&request.params);
    let expand = !expand_paths(&params, e::RETRIEVE_RECORD.expandable)?.is_empty();
    let record = app
        .store
        .get_record(&tenant, &id)
        .await
        .map_err(|e| app.internal_error(request.request_id(), e))?
        .ok_or_else(|| missing_record(id, "id"))?;
    let latest = if expand {
        Some(latest_of(&app, &tenant, &record, request.request_id()).await?)
    } else {
        None
    };
    Ok(ok_json(&render::record(&record, latest.as_ref())))
}

/// GET /v1/payment_records
async fn list_records(State(app): State<AppState>, tenant: Tenant, request: ApiRequest) -> Result<Response, ApiError> {
    check_shape(&request.params, e::LIST_RECORDS.params)?;
    let params = Params::root(&request.params);
    let expand = !expand_paths(&params, e::LIST_RECORDS.expandable)?.is_empty();
    let query = list_query(&params, true)?;
    let page = app.store.list_records(&tenant, &query).await.map_err(|e| match e {
        ListError::UnknownCursor => cursor_missing("payment_record", &query),
        ListError::Store(e) => app.internal_error(request.request_id(), e),
    })?;
    let mut latest = Vec::with_capacity(page.data.len());
    if expand {
        for record in &page.data {
            latest.push(Some(latest_of(&app, &tenant, record, request.request_id()).await?));
        }
    } else {
        latest.resize(page.data.len(), None);
    }
    let data = page
        .data
        .iter()
        .zip(&latest)
        .map(|(r, a)| render::record(r, a.as_ref()))
        .collect();
    Ok(ok_json(&ListEnvelope::new(e::LIST_RECORDS.path, data, page.has_more)))
}

fn cursor_missing(object: &'static str, query: &crate::store::ListQuery) -> ApiError {
    let (param, id) = match (&query.starting_after, &query.ending_before) {
        (Some(id), _) => ("starting_after", id.clone()),
        (None, Some(id)) => ("ending_before", id.clone()),
        (None, None) => ("starting_after", String::new()),
    };
    ApiError::ResourceMissing { object, id, param }
}

/// GET /v1/payment_attempt_records/:id
async fn retrieve_attempt(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    check_shape(&request.params, e::RETRIEVE_ATTEMPT.params)?;
    let params = Params::root(&request.params);
    let expand = !expand_paths(&params, e::RETRIEVE_ATTEMPT.expandable)?.is_empty();
    let attempt = app
        .store
        .get_attempt(&tenant, &id)
        .await
        .map_err(|e| app.internal_error(request.request_id(), e))?
        .ok_or(ApiError::ResourceMissing {
            object: "payment_attempt_record",
            id,
            param: "id",
        })?;
    let parent = if expand {
        let record = app
            .store
            .get_record(&tenant, attempt.payment_record.as_str())
            .await
            .map_err(|e| app.internal_error(request.request_id(), e))?;
        Some(record.ok_or_else(|| app.internal_error(request.request_id(), "attempt without its record"))?)
    } else {
        None
    };
    Ok(ok_json(&render::attempt(&attempt, parent.as_ref())))
}

/// GET /v1/payment_attempt_records?payment_record=pr_…
async fn list_attempts(State(app): State<AppState>, tenant: Tenant, request: ApiRequest) -> Result<Response, ApiError> {
    check_shape(&request.params, e::LIST_ATTEMPTS.params)?;
    let params = Params::root(&request.params);
    let expand = !expand_paths(&params, e::LIST_ATTEMPTS.expandable)?.is_empty();
    let record_id = params
        .lookup_id("payment_record")?
        .ok_or_else(|| params.missing("payment_record"))?;
    let query = list_query(&params, false)?;
    let record = app
        .store
        .get_record(&tenant, record_id)
        .await
        .map_err(|e| app.internal_error(request.request_id(), e))?
        .ok_or_else(|| missing_record(record_id.to_owned(), "payment_record"))?;
    let page = app
        .store
        .list_attempts(&tenant, record_id, &query)
        .await
        .map_err(|e| match e {
            ListError::UnknownCursor => cursor_missing("payment_attempt_record", &query),
            ListError::Store(e) => app.internal_error(request.request_id(), e),
        })?;
    let parent = expand.then_some(&record);
    let data = page.data.iter().map(|a| render::attempt(a, parent)).collect();
    Ok(ok_json(&ListEnvelope::new(e::LIST_ATTEMPTS.path, data, page.has_more)))
}
