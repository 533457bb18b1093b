//! The webhooks page: the account's endpoints, their recent deliveries with the endpoint's
//! answers, and (with a secret key, not a restricted one) sending a delivery again.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::format::time;
use super::layout::page;
use super::session::{SignedIn, csrf_ok, field, form_fields};
use crate::state::AppState;
use crate::store::{ListQuery, Resend, Resent};
use crate::wire::error::ApiError;

/// Recent deliveries shown.
pub const DELIVERIES_SHOWN_MAX: usize = 50;

/// GET /dashboard/webhooks
pub async fn webhooks(State(app): State<AppState>, user: SignedIn) -> Response {
    let tenant = &user.session.tenant;
    let query = ListQuery {
        limit: crate::wire::list::LIST_LIMIT_MAX,
        ..ListQuery::default()
    };
    let endpoints = match app.store.list_endpoints(tenant, &query).await {
        Ok(page) => page.data,
        Err(crate::store::ListError::Store(e)) => return ApiError::from(e).into_response(),
        Err(crate::store::ListError::UnknownCursor) => Vec::new(),
    };
    let deliveries = match app
        .store
        .list_deliveries(tenant, None, None, DELIVERIES_SHOWN_MAX)
        .await
    {
        Ok(d) => d,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let can_resend = !user.restricted();
    let body = html! {
        h1 { "Webhooks" }
        @if endpoints.is_empty() {
            p.muted { "No webhook endpoints. Create one through the API: POST /v1/webhook_endpoints." }
        } @else {
            table {
                thead { tr { th { "Endpoint" } th { "URL" } th { "Status" } th.optional { "Events" } th.optional { "Created" } } }
                tbody {
                    @for e in &endpoints {
                        tr {
                            td { code { (e.id) } }
                            td { (e.url) }
                            td { span class={ "state " (if e.status.as_str() == "enabled" { "guaranteed" } else { "failed" }) } { (e.status.as_str()) } }
                            td.optional { (e.enabled_events.join(", ")) }
                            td.optional { (time(e.created)) }
                        }
                    }
                }
            }
        }
        h2 { "Recent deliveries" }
        @if deliveries.is_empty() { p.muted { "No deliveries yet." } } @else {
            table.deliveries {
                thead { tr {
                    th { "Event" } th { "Endpoint" } th { "State" } th { "Attempts" } th { "Last answer" }
                    th.optional { "Last attempt" } @if can_resend { th { "" } }
                } }
                tbody {
                    @for d in &deliveries {
                        tr {
                            td { code { (d.event_id) } }
                            td { code { (d.endpoint_id) } }
                            td { span class={ "state " (match d.state.as_str() { "succeeded" => "guaranteed", "failed" => "failed", _ => "pending" }) } { (d.state) } }
                            td { (d.attempts) }
                            td { @if let Some(status) = d.last_status { "HTTP " (status) } @else { (d.last_error.as_deref().map_or("—", crate::events::failure::Failure::label)) } }
                            td.optional { @if let Some(at) = d.last_attempt_at_ms { (time(at / 1000)) } @else { "—" } }
                            @if can_resend {
                                td {
                                    form method="post" action="/dashboard/webhooks/resend" {
                                        input type="hidden" name="csrf" value=(user.session.csrf);
                                        input type="hidden" name="event" value=(d.event_id);
                                        input type="hidden" name="endpoint" value=(d.endpoint_id);
                                        button type="submit" { "Resend" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !can_resend { p.muted { "Resending needs a secret key: this session's key is read only." } }
    };
    super::html(
        StatusCode::OK,
        page(&user.session, user.restricted(), "Webhooks", "Webhooks", body),
    )
}

fn refused(user: &SignedIn, status: StatusCode, why: &str) -> Response {
    let body = html! { h1 { "Refused" } p.problem { (why) } p { a href="/dashboard/webhooks" { "Back to webhooks" } } };
    super::html(
        status,
        page(&user.session, user.restricted(), "Refused", "Webhooks", body),
    )
}

/// POST /dashboard/webhooks/resend: a secret key's session only, with its CSRF token; the
/// event and the endpoint must be the session's account's and mode's.
pub async fn resend(State(app): State<AppState>, user: SignedIn, body: Bytes) -> Response {
    let fields = form_fields(&body);
    if !csrf_ok(&user.session.csrf, field(&fields, "csrf")) {
        return refused(
            &user,
            StatusCode::FORBIDDEN,
            "This form did not come from this dashboard; nothing was sent.",
        );
    }
    if user.restricted() {
        return refused(
            &user,
            StatusCode::FORBIDDEN,
            "Resending needs a secret key: this session's key is read only.",
        );
    }
    let tenant = &user.session.tenant;
    let (event, endpoint) = (
        field(&fields, "event").unwrap_or_default(),
        field(&fields, "endpoint").unwrap_or_default(),
    );
    let owned = async {
        let event_ok = app.store.get_event(tenant, event).await?.is_some();
        let endpoint_ok = app.store.get_endpoint(tenant, endpoint).await?.is_some();
        Ok::<_, crate::store::StoreError>(event_ok && endpoint_ok)
    };
    match owned.await {
        Ok(true) => {}
        Ok(false) => {
            return refused(
                &user,
                StatusCode::NOT_FOUND,
                "No such event or endpoint in this account and mode.",
            );
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    let resend = Resend {
        event_id: event.to_owned(),
        endpoint_id: Some(endpoint.to_owned()),
        now_ms: crate::clock::unix_now_millis() as i64,
    };
    match app.store.resend_event(&resend).await {
        Ok(Resent::Queued(_)) => {
            app.store.deliveries_queued().notify_one();
            Redirect::to("/dashboard/webhooks").into_response()
        }
        Ok(_) => refused(
            &user,
            StatusCode::NOT_FOUND,
            "No such event or endpoint in this account and mode.",
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}
