//! One payment's page: its amounts, the timeline of its attempts and refunds, its details, its
//! events and its raw JSON. Loading (`Payment::load`) is apart from the markup.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::error::PageError;
use super::format::{money, time};
use super::layout::page;
use super::payments::state_badge;
use super::session::SignedIn;
use crate::reconcile::kept::ResultView;
use crate::records::model::{PaymentAttemptRecord, PaymentRecord, Refund, portions};
use crate::records::render;
use crate::state::AppState;
use crate::store::reconciliation::PaymentStatus;
use crate::store::{EventSummary, ListError, ListQuery, Tenant};

/// Attempts shown on a payment's page.
const ATTEMPTS_SHOWN_MAX: usize = 100;

/// What a payment's page shows.
struct Payment {
    record: PaymentRecord,
    attempts: Vec<PaymentAttemptRecord>,
    refunds: Vec<Refund>,
    events: Vec<EventSummary>,
    /// Its reconciliation status, and the outcome that set it.
    reconciliation: Option<(PaymentStatus, Option<ResultView>)>,
}

impl Payment {
    /// The payment `id` of the tenant, if there is one.
    async fn load(app: &AppState, tenant: &Tenant, id: &str) -> Result<Option<Payment>, PageError> {
        let Some(record) = app.store.get_record(tenant, id).await? else {
            return Ok(None);
        };
        let query = ListQuery {
            limit: ATTEMPTS_SHOWN_MAX,
            ..ListQuery::default()
        };
        let attempts = match app.store.list_attempts(tenant, id, &query).await {
            Ok(page) => page.data,
            Err(ListError::UnknownCursor) => Vec::new(),
            Err(ListError::Store(e)) => return Err(e.into()),
        };
        let reconciliation = match app.store.payment_status(tenant, id).await? {
            Some(status) => {
                let outcome = app.store.get_result(tenant, &status.result_id).await?;
                Some((status, outcome))
            }
            None => None,
        };
        Ok(Some(Payment {
            reconciliation,
            attempts,
            refunds: app.store.list_refunds(tenant, id).await?,
            events: app.store.record_events(tenant, id).await?,
            record,
        }))
    }
}

/// GET /dashboard/payments/:id
pub async fn detail(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (status, title, body) = match Payment::load(&app, &user.session.tenant, &id).await? {
        Some(payment) => (StatusCode::OK, "Payment", markup(&payment)),
        None => (
            StatusCode::NOT_FOUND,
            "No such payment",
            html! { h1 { "No such payment" } p { "There is no payment " code { (id) } " in this account and mode." } },
        ),
    };
    Ok(super::html(
        status,
        page(&user.session, user.restricted(), title, "Payments", body),
    ))
}

fn markup(payment: &Payment) -> Markup {
    let record = &payment.record;
    let currency = record.amount_requested.currency.as_str();
    let (guaranteed, failed, canceled) = portions(record.latest_attempt_state, record.amount_requested.value);
    let raw = serde_json::to_string(&render::record(record, None)).expect("views serialize");
    html! {
        h1 { (money(record.amount_requested.value, currency)) " " (state_badge(record.latest_attempt_state)) }
        p.muted { code { (record.id.as_str()) } " · created " (time(record.created)) }
        h2 { "Amounts" }
        dl.facts {
            dt { "Requested" } dd { (money(record.amount_requested.value, currency)) }
            dt { "Guaranteed" } dd { (money(guaranteed, currency)) }
            dt { "Refunded" } dd { (money(record.amount_refunded, currency)) }
            dt { "Failed" } dd { (money(failed, currency)) }
            dt { "Canceled" } dd { (money(canceled, currency)) }
        }
        h2 { "Timeline" }
        (timeline(&payment.attempts, &payment.refunds))
        h2 { "Reconciliation" }
        (reconciliation(payment.reconciliation.as_ref()))
        h2 { "Details" }
        (details(record))
        h2 { "Events" }
        (events(&payment.events))
        h2 { "Raw JSON" }
        p.muted { "As GET /v1/payment_records/" (record.id.as_str()) " returns it." }
        pre.raw { (pretty(&raw)) }
    }
}

fn reconciliation(status: Option<&(PaymentStatus, Option<ResultView>)>) -> Markup {
    let Some((status, outcome)) = status else {
        return html! { p.muted { "Not reconciled: no statement has named it yet." } };
    };
    let class = if status.status.is_match() {
        "guaranteed"
    } else {
        "failed"
    };
    html! {
        dl.facts {
            dt { "Status" } dd { span class={ "state " (class) } { (status.status.as_str()) } }
            dt { "Run" } dd { code { (status.run_id) } }
            @if let Some(o) = outcome {
                dt { "Statement line" } dd {
                    @if let Some(line) = o.line { (line) " · " } (o.reference)
                    @if let (Some(v), Some(c)) = (o.file_amount, o.file_currency.as_deref()) { " · " (money(v, c)) }
                    @if let Some(r) = &o.resolution { " · resolved (" (r.kind) ") by " (r.resolved_by) }
                }
            }
        }
    }
}

fn details(record: &PaymentRecord) -> Markup {
    let d = &record.details;
    html! {
        dl.facts {
            dt { "Processor reference" } dd { (d.processor_details.payment_reference.as_deref().unwrap_or("—")) }
            dt { "Description" } dd { (d.description.as_deref().unwrap_or("—")) }
            @if let Some(c) = &d.customer_details {
                dt { "Customer" } dd {
                    (c.name.as_deref().unwrap_or("")) " " (c.email.as_deref().unwrap_or(""))
                    " " (c.phone.as_deref().unwrap_or("")) " " (c.customer.as_deref().unwrap_or(""))
                }
            }
            @if let Some(p) = &d.payment_method_details {
                dt { "Payment method" } dd {
                    @if let Some(custom) = &p.custom { (custom.display_name.as_deref().unwrap_or("custom")) } @else { "custom" }
                    @if let Some(pm) = &p.payment_method { " · " code { (pm) } }
                }
            }
            @if let Some(s) = &d.shipping_details {
                dt { "Shipping" } dd {
                    (s.name.as_deref().unwrap_or("")) " "
                    (s.address.line1.as_deref().unwrap_or("")) " " (s.address.city.as_deref().unwrap_or(""))
                    " " (s.address.postal_code.as_deref().unwrap_or("")) " " (s.address.country.as_deref().unwrap_or(""))
                }
            }
            @for (k, v) in &d.metadata { dt { "metadata[" (k) "]" } dd { (v) } }
        }
    }
}

fn events(events: &[EventSummary]) -> Markup {
    html! {
        @if events.is_empty() { p.muted { "No events." } } @else {
            table {
                thead { tr { th { "Created" } th { "Type" } th { "Event" } th.optional { "Pending webhooks" } } }
                tbody {
                    @for e in events {
                        tr {
                            td { (time(e.created)) }
                            td { code { (e.kind) } }
                            td { code { (e.id) } }
                            td.optional { (e.pending_webhooks) }
                        }
                    }
                }
            }
        }
    }
}

fn timeline(attempts: &[PaymentAttemptRecord], refunds: &[Refund]) -> Markup {
    // (time, what): attempts oldest first, each with its outcome, then refunds, by time.
    let mut entries: Vec<(i64, Markup)> = Vec::new();
    for a in attempts.iter().rev() {
        entries.push((
            a.initiated_at,
            html! { "Attempt " code { (a.id.as_str()) } " initiated · " (time(a.initiated_at)) },
        ));
        if let Some(at) = a.state.outcome_at() {
            entries.push((at, html! { "Attempt " (state_badge(a.state)) " · " (time(at)) }));
        }
    }
    for r in refunds {
        let at = r.refunded_at.unwrap_or(r.created);
        entries.push((
            at,
            html! {
                "Refund of " (money(r.amount.value, r.amount.currency.as_str()))
                " · reference " code { (r.refund_reference) } " · " (time(at))
            },
        ));
    }
    entries.sort_by_key(|(at, _)| *at);
    html! { ol.timeline { @for (_, entry) in entries { li { (entry) } } } }
}

fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| json.to_owned())
}
