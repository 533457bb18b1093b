//! The webhooks page: the account's endpoints, their recent deliveries with the endpoint's
//! answers, and (with a secret key, not a restricted one) sending a delivery again.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PageError;
use super::extract::PageForm;
use super::format::time;
use super::layout::page;
use super::paths;
use super::session::{SignedIn, forged};
use crate::events::WebhookEndpoint;
use crate::state::AppState;
use crate::store::{DeliveryInfo, DeliveryState, ListQuery, Resend, Resent};

/// Recent deliveries shown.
pub const DELIVERIES_SHOWN_MAX: usize = 50;

/// GET /dashboard/webhooks
pub async fn webhooks(State(app): State<AppState>, user: SignedIn) -> Result<Response, PageError> {
    let tenant = &user.session.tenant;
    let query = ListQuery {
        limit: crate::wire::list::LIST_LIMIT_MAX,
        ..ListQuery::default()
    };
    let endpoints = app.store.list_endpoints(tenant, &query).await?.data;
    let deliveries = app
        .store
        .list_deliveries(tenant, None, None, DELIVERIES_SHOWN_MAX)
        .await?;
    let body = markup(&user, &endpoints, &deliveries);
    Ok(super::html(
        StatusCode::OK,
        page(&user.session, user.restricted(), "Webhooks", "Webhooks", body),
    ))
}

fn markup(user: &SignedIn, endpoints: &[WebhookEndpoint], deliveries: &[DeliveryInfo]) -> Markup {
    let can_resend = !user.restricted();
    html! {
        h1 { "Webhooks" }
        @if endpoints.is_empty() {
            p.muted { "No webhook endpoints. Create one through the API: POST /v1/webhook_endpoints." }
        } @else {
            table {
                thead { tr { th { "Endpoint" } th { "URL" } th { "Status" } th.optional { "Events" } th.optional { "Created" } } }
                tbody {
                    @for e in endpoints {
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
                    @for d in deliveries {
                        tr {
                            td { code { (d.event_id) } }
                            td { code { (d.endpoint_id) } }
                            td { span class={ "state " (match d.state { DeliveryState::Succeeded => "guaranteed", DeliveryState::Failed => "failed", DeliveryState::Pending => "pending" }) } { (d.state.as_str()) } }
                            td { (d.attempts) }
                            td { @if let Some(status) = d.last_status { "HTTP " (status) } @else { (d.last_error.as_deref().map_or("—", crate::events::failure::Failure::label)) } }
                            td.optional { @if let Some(at) = d.last_attempt_at_ms { (time(at / 1000)) } @else { "—" } }
                            @if can_resend {
                                td {
                                    form method="post" action=(paths::RESEND) {
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
    }
}

fn refused(user: &SignedIn, status: StatusCode, why: &str) -> Response {
    let body = html! { h1 { "Refused" } p.problem { (why) } p { a href=(paths::WEBHOOKS) { "Back to webhooks" } } };
    super::html(
        status,
        page(&user.session, user.restricted(), "Refused", "Webhooks", body),
    )
}

/// The resend form: the session's token, the event and the endpoint.
#[derive(Debug, Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    endpoint: String,
}

/// POST /dashboard/webhooks/resend: a secret key's session only, with its CSRF token; the
/// event and the endpoint must be the session's account's and mode's.
pub async fn resend(
    State(app): State<AppState>,
    user: SignedIn,
    PageForm(form): PageForm<ResendForm>,
) -> Result<Response, PageError> {
    if !user.sent_the_form(&form.csrf) {
        return Ok(forged("nothing was sent."));
    }
    if user.restricted() {
        let why = "Resending needs a secret key: this session's key is read only.";
        return Ok(refused(&user, StatusCode::FORBIDDEN, why));
    }
    let tenant = &user.session.tenant;
    let missing = || {
        refused(
            &user,
            StatusCode::NOT_FOUND,
            "No such event or endpoint in this account and mode.",
        )
    };
    let event_ok = app.store.get_event(tenant, &form.event).await?.is_some();
    let endpoint_ok = app.store.get_endpoint(tenant, &form.endpoint).await?.is_some();
    if !(event_ok && endpoint_ok) {
        return Ok(missing());
    }
    let resend = Resend {
        event_id: form.event,
        endpoint_id: Some(form.endpoint),
        now_ms: crate::clock::unix_now_millis() as i64,
    };
    Ok(match app.store.resend_event(&resend).await? {
        Resent::Queued(_) => {
            app.store.deliveries_queued().notify_one();
            Redirect::to(paths::WEBHOOKS).into_response()
        }
        _ => missing(),
    })
}
