//! The seven report calls: declared parameters → a `RecordCommand` → the store's one write path.

use axum::extract::State;
use axum::response::Response;

use super::respond::record_result;
use crate::api::execute::{Call, execute};
use crate::api::extensions::{EXPAND_LATEST_ATTEMPT, stripe_exact};
use crate::calls::payment_records::params::{
    OutcomeCall, ReportInformationalParams, ReportPaymentAttemptParams, ReportPaymentParams, ReportRefundParams,
    outcome_of,
};
use crate::calls::payment_records::{NewPaymentIds, new_payment, refund_report};
use crate::clock::unix_now;
use crate::records::command::{RecordChange, RecordCommand};
use crate::records::ids::{new_attempt_id, new_record_id};
use crate::records::lifecycle::{Informational, NewAttempt};
use crate::records::model::Outcome;
use crate::state::AppState;
use crate::store::{RecordWrite, Tenant};
use crate::wire::error::ApiError;
use crate::wire::params::{Expand, Unsettable};
use crate::wire::request::{ApiRequest, PathId};

/// The transition-counter label of a call that may carry an `outcome`.
fn label(outcome: Option<(Outcome, i64)>, pending: &'static str) -> &'static str {
    outcome.map_or(pending, |(o, _)| o.as_str())
}

fn on_record<P>(record_id: String, change: RecordChange, expand: Expand<P>, label: &'static str) -> Call<RecordWrite> {
    Call {
        mutation: RecordWrite::from(RecordCommand::Change { record_id, change }),
        render: record_result,
        expand: expand.paths,
        label,
    }
}

/// POST /v1/payment_records/report_payment
pub async fn report_payment(
    State(app): State<AppState>,
    tenant: Tenant,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    let livemode = tenant.livemode;
    stripe_exact(&app, &request, &[EXPAND_LATEST_ATTEMPT])?;
    execute(&app, tenant, &request, |mut p: ReportPaymentParams| {
        let expand = std::mem::take(&mut p.expand.paths);
        let ids = NewPaymentIds {
            record_id: new_record_id(),
            attempt_id: new_attempt_id(),
            livemode,
            now: unix_now(),
        };
        let (state, outcome) = new_payment(p, ids)?;
        Ok(Call {
            mutation: RecordWrite::from(RecordCommand::Create(state)),
            render: record_result,
            expand,
            label: label(outcome, "reported"),
        })
    })
    .await
}

/// POST /v1/payment_records/:id/report_payment_attempt
pub async fn report_payment_attempt(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    stripe_exact(&app, &request, &[EXPAND_LATEST_ATTEMPT])?;
    execute(&app, tenant, &request, |p: ReportPaymentAttemptParams| {
        let outcome = outcome_of(p.outcome, &p.guaranteed, &p.failed, &p.canceled)?;
        let attempt = NewAttempt {
            attempt_id: new_attempt_id(),
            now: unix_now(),
            initiated_at: p.initiated_at.0,
            description: p.description.map(|d| d.0),
            metadata: p.metadata,
            outcome,
            payment_method_details: p.payment_method_details.map(|d| d.into_details()).transpose()?,
            shipping_details: p.shipping_details.map(Into::into),
        };
        let change = RecordChange::NewAttempt(attempt);
        Ok(on_record(id, change, p.expand, label(outcome, "attempted")))
    })
    .await
}

/// POST /v1/payment_records/:id/report_payment_attempt_guaranteed, `_failed` and `_canceled`
pub async fn report_outcome<P: OutcomeCall>(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    stripe_exact(&app, &request, &[EXPAND_LATEST_ATTEMPT])?;
    execute(&app, tenant, &request, |p: P| {
        let (outcome, (at, metadata, expand)) = (P::OUTCOME, p.into_parts());
        let change = RecordChange::Outcome { outcome, at, metadata };
        Ok(on_record(id, change, expand, outcome.as_str()))
    })
    .await
}

/// POST /v1/payment_records/:id/report_payment_attempt_informational
pub async fn report_informational(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    stripe_exact(&app, &request, &[EXPAND_LATEST_ATTEMPT])?;
    execute(&app, tenant, &request, |p: ReportInformationalParams| {
        let change = RecordChange::Informational(Informational {
            customer_details: p.customer_details.map(Into::into),
            description: p.description.map(|d| d.0),
            metadata: p.metadata,
            shipping_details: p.shipping_details.map(|s| match s {
                Unsettable::Unset => None,
                Unsettable::Set(shipping) => Some(shipping.into()),
            }),
        });
        Ok(on_record(id, change, p.expand, "informational"))
    })
    .await
}

/// POST /v1/payment_records/:id/report_refund
pub async fn report_refund(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    stripe_exact(&app, &request, &[EXPAND_LATEST_ATTEMPT])?;
    execute(&app, tenant, &request, |p: ReportRefundParams| {
        let expand = p.expand.clone();
        let change = RecordChange::Refund(refund_report(p, unix_now()));
        Ok(on_record(id, change, expand, "refunded"))
    })
    .await
}
