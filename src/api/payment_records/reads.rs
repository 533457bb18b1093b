//! The four reads: retrieve and list records and attempts, with `expand[]`.

use axum::extract::State;
use axum::response::Response;

use super::params::{ListAttemptsParams, ListRecordsParams, RetrieveAttemptParams, RetrieveRecordParams};
use super::respond::ok_json;
use super::{LIST_ATTEMPTS, LIST_RECORDS};
use crate::api::extensions::{
    ATTEMPTS_ENDING_BEFORE, EXPAND_LATEST_ATTEMPT, EXPAND_LIST_LATEST_ATTEMPT, EXPAND_LIST_PAYMENT_RECORD,
    EXPAND_PAYMENT_RECORD, stripe_exact,
};
use crate::records::model::{PaymentAttemptRecord, PaymentRecord};
use crate::records::render;
use crate::state::AppState;
use crate::store::Tenant;
use crate::wire::error::ApiError;
use crate::wire::list::{ListEnvelope, list_error, list_query};
use crate::wire::request::{ApiRequest, PathId};

fn missing_record(id: String, param: &'static str) -> ApiError {
    ApiError::ResourceMissing {
        object: "payment_record",
        id,
        param,
    }
}

/// The latest attempt of a record, for `expand[]=latest_payment_attempt_record`.
async fn latest_of(app: &AppState, tenant: &Tenant, record: &PaymentRecord) -> Result<PaymentAttemptRecord, ApiError> {
    app.store
        .get_attempt(tenant, record.latest_attempt.as_str())
        .await?
        .ok_or_else(|| ApiError::Internal {
            cause: format!("record {} lost its latest attempt", record.id),
        })
}

/// GET /v1/payment_records/:id
pub async fn retrieve_record(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    stripe_exact(&app, &request, &[EXPAND_LATEST_ATTEMPT])?;
    let p: RetrieveRecordParams = request.read()?;
    let record = app
        .store
        .get_record(&tenant, &id)
        .await?
        .ok_or_else(|| missing_record(id, "id"))?;
    let latest = if p.expand.is_empty() {
        None
    } else {
        Some(latest_of(&app, &tenant, &record).await?)
    };
    Ok(ok_json(&render::record(&record, latest.as_ref())))
}

/// GET /v1/payment_records
pub async fn list_records(
    State(app): State<AppState>,
    tenant: Tenant,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    stripe_exact(&app, &request, &[EXPAND_LIST_LATEST_ATTEMPT])?;
    let p: ListRecordsParams = request.read()?;
    let query = list_query(
        p.limit,
        p.starting_after,
        p.ending_before,
        (p.created_after, p.created_before),
    )?;
    let page = app
        .store
        .list_records(&tenant, &query)
        .await
        .map_err(list_error("payment_record", &query))?;
    let mut latest = Vec::with_capacity(page.data.len());
    for record in &page.data {
        latest.push(match p.expand.is_empty() {
            true => None,
            false => Some(latest_of(&app, &tenant, record).await?),
        });
    }
    let data = page
        .data
        .iter()
        .zip(&latest)
        .map(|(r, a)| render::record(r, a.as_ref()))
        .collect();
    Ok(ok_json(&ListEnvelope::new(LIST_RECORDS.path, data, page.has_more)))
}

/// GET /v1/payment_attempt_records/:id
pub async fn retrieve_attempt(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    stripe_exact(&app, &request, &[EXPAND_PAYMENT_RECORD])?;
    let p: RetrieveAttemptParams = request.read()?;
    let attempt = app
        .store
        .get_attempt(&tenant, &id)
        .await?
        .ok_or(ApiError::ResourceMissing {
            object: "payment_attempt_record",
            id,
            param: "id",
        })?;
    let parent = if p.expand.is_empty() {
        None
    } else {
        let record = app.store.get_record(&tenant, attempt.payment_record.as_str()).await?;
        Some(record.ok_or_else(|| ApiError::Internal {
            cause: format!("attempt {} without its record", attempt.id),
        })?)
    };
    Ok(ok_json(&render::attempt(&attempt, parent.as_ref())))
}

/// GET /v1/payment_attempt_records?payment_record=pr_…
pub async fn list_attempts(
    State(app): State<AppState>,
    tenant: Tenant,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    stripe_exact(&app, &request, &[EXPAND_LIST_PAYMENT_RECORD, ATTEMPTS_ENDING_BEFORE])?;
    let p: ListAttemptsParams = request.read()?;
    let record_id = p.payment_record.0;
    let query = list_query(p.limit, p.starting_after, p.ending_before, (None, None))?;
    // The record's document only when it is expanded into each attempt. Otherwise the page
    // is read first: an attempt on it names the record, so only an empty page (or a refused
    // cursor) needs the record's key looked up, and a missing record is still a 404 first.
    let record = if p.expand.is_empty() {
        None
    } else {
        let record = app.store.get_record(&tenant, &record_id).await?;
        Some(record.ok_or_else(|| missing_record(record_id.clone(), "payment_record"))?)
    };
    let page = app.store.list_attempts(&tenant, &record_id, &query).await;
    let record_seen = record.is_some() || page.as_ref().is_ok_and(|p| !p.data.is_empty());
    if !record_seen && !app.store.record_exists(&tenant, &record_id).await? {
        return Err(missing_record(record_id, "payment_record"));
    }
    let page = page.map_err(list_error("payment_attempt_record", &query))?;
    let parent = record.as_ref();
    let data = page.data.iter().map(|a| render::attempt(a, parent)).collect();
    Ok(ok_json(&ListEnvelope::new(LIST_ATTEMPTS.path, data, page.has_more)))
}
