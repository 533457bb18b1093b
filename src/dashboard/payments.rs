//! The payments pages: the list (newest first, cursor pages) and one payment's detail (amounts,
//! the timeline of its attempts and refunds, its details, its events, its raw JSON).

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::filters::PaymentFilters;
use super::format::{money, time};
use super::layout::page;
use super::session::SignedIn;
use crate::records::model::{AttemptState, PaymentAttemptRecord, PaymentRecord, Refund};
use crate::records::render;
use crate::state::AppState;
use crate::store::{ListError, ListQuery};
use crate::wire::error::ApiError;

/// Payments on one page of the list.
pub const PAYMENTS_PER_PAGE: usize = 25;
/// Most payments a search shows.
pub const SEARCH_RESULTS_MAX: usize = 25;
/// Attempts shown on a payment's page.
const ATTEMPTS_SHOWN_MAX: usize = 100;

pub(super) fn failure(e: impl Into<ApiError>) -> Response {
    e.into().into_response()
}

/// The value of `name` in the query string.
pub fn query_value(uri: &Uri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

fn state_badge(state: AttemptState) -> Markup {
    html! { span class={ "state " (state.as_str()) } { (state.as_str()) } }
}

fn customer(record: &PaymentRecord) -> String {
    record
        .details
        .customer_details
        .as_ref()
        .and_then(|c| c.email.clone().or_else(|| c.name.clone()))
        .unwrap_or_default()
}

/// The payments a search names: a record id or an attempt id; else a processor
/// `payment_reference` or a `refund_reference` (index searches); else the newest records whose
/// customer, description or metadata holds the text.
async fn search(
    app: &AppState,
    tenant: &crate::store::Tenant,
    q: &str,
) -> Result<Vec<PaymentRecord>, crate::store::StoreError> {
    let store = &app.store;
    if q.starts_with("pr_") {
        return Ok(store.get_record(tenant, q).await?.into_iter().collect());
    }
    if q.starts_with("par_") {
        let Some(attempt) = store.get_attempt(tenant, q).await? else {
            return Ok(Vec::new());
        };
        return Ok(store
            .get_record(tenant, attempt.payment_record.as_str())
            .await?
            .into_iter()
            .collect());
    }
    let by_reference = store.records_by_reference(tenant, q, SEARCH_RESULTS_MAX).await?;
    if !by_reference.is_empty() {
        return Ok(by_reference);
    }
    if let Some(record_id) = store.record_of_refund(tenant, q).await? {
        return Ok(store.get_record(tenant, &record_id).await?.into_iter().collect());
    }
    store.records_containing(tenant, q, SEARCH_RESULTS_MAX).await
}

pub(super) fn rows(records: &[PaymentRecord]) -> Markup {
    html! {
        table.payments {
            thead { tr {
                th { "Created" } th { "Amount" } th { "State" } th { "Reference" }
                th.optional { "Customer" } th.optional { "Description" }
            } }
            tbody {
                @for r in records {
                    tr {
                        td { a href={ "/dashboard/payments/" (r.id.as_str()) } { (time(r.created)) } }
                        td.amount { (money(r.amount_requested.value, r.amount_requested.currency.as_str())) }
                        td { (state_badge(r.latest_attempt_state)) }
                        td { (r.details.processor_details.payment_reference.as_deref().unwrap_or("")) }
                        td.optional { (customer(r)) }
                        td.optional { (r.details.description.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

fn search_form(q: &str) -> Markup {
    html! {
        form.search method="get" action="/dashboard/payments" role="search" {
            label for="q" { "Search" }
            input #q type="search" name="q" value=(q)
                placeholder="pr_… / par_… id, payment or refund reference, customer email or name, description, metadata";
            button type="submit" { "Search" }
        }
    }
}

/// GET /dashboard/payments
pub async fn list(State(app): State<AppState>, user: SignedIn, uri: Uri) -> Response {
    if let Some(q) = query_value(&uri, "q")
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty())
    {
        let (found, narrow) = match search(&app, &user.session.tenant, &q).await {
            Ok(found) => (found, false),
            Err(crate::store::StoreError::ScanTooLong) => (Vec::new(), true),
            Err(e) => return failure(e),
        };
        let body = html! {
            h1 { "Payments" }
            (search_form(&q))
            @if narrow {
                p.problem role="alert" { (crate::wire::error::NARROW_YOUR_SEARCH) }
            } @else if found.is_empty() {
                p.muted { "No payment matches “" (q) "”." }
            } @else {
                p.muted { (found.len()) " payment(s) match “" (q) "”" @if found.len() == SEARCH_RESULTS_MAX { " (the newest " (SEARCH_RESULTS_MAX) ")" } "." }
                (rows(&found))
            }
            p { a href="/dashboard/payments" { "All payments" } }
        };
        return super::html(
            StatusCode::OK,
            page(&user.session, user.restricted(), "Search", "Payments", body),
        );
    }
    let filters = PaymentFilters::from_uri(&uri);
    let selected = filters.select();
    let starting_after = query_value(&uri, "starting_after");
    let query = ListQuery {
        limit: PAYMENTS_PER_PAGE,
        ending_before: query_value(&uri, "ending_before").filter(|_| starting_after.is_none()),
        starting_after,
        created_after: selected.created_from.map(|t| t - 1),
        created_before: selected.created_until,
    };
    let tenant = &user.session.tenant;
    let (page_of, narrow) = match app.store.list_records_where(tenant, &query, &selected.filter).await {
        Ok(p) => (p, false),
        Err(ListError::UnknownCursor) => return Redirect::to("/dashboard/payments").into_response(),
        Err(ListError::Store(crate::store::StoreError::ScanTooLong)) => (crate::store::Page::empty(), true),
        Err(ListError::Store(e)) => return failure(e),
    };
    let backwards = query.ending_before.is_some();
    let newer = match (backwards, page_of.data.first()) {
        (true, Some(first)) if page_of.has_more => Some(first.id.as_str().to_owned()),
        (false, Some(first)) if query.starting_after.is_some() => Some(first.id.as_str().to_owned()),
        _ => None,
    };
    let older = match (backwards, page_of.data.last()) {
        (false, Some(last)) if page_of.has_more => Some(last.id.as_str().to_owned()),
        (true, Some(last)) => Some(last.id.as_str().to_owned()),
        _ => None,
    };
    let carried = filters.query_string();
    let link = |cursor: &str, id: &str| {
        let and = if carried.is_empty() { "" } else { "&" };
        format!("/dashboard/payments?{carried}{and}{cursor}={id}")
    };
    let export = format!("/dashboard/payments/export.csv?{carried}");
    let body = html! {
        h1 { "Payments" }
        (search_form(""))
        (filters.form())
        @for problem in &selected.problems { p.problem { (problem) } }
        @if narrow { p.problem role="alert" { (crate::wire::error::NARROW_YOUR_SEARCH) } }
        @if page_of.data.is_empty() {
            @if filters.is_empty() {
                p.muted { "No payments yet. Report one through the API: POST /v1/payment_records/report_payment." }
            } @else {
                p.muted { "No payment matches these filters." }
            }
        } @else {
            (rows(&page_of.data))
        }
        div.pager {
            @if let Some(id) = &newer { a href=(link("ending_before", id)) { "← Newer" } }
            @if let Some(id) = &older { a href=(link("starting_after", id)) { "Older →" } }
            a.export href=(export) download { "Download CSV" }
        }
    };
    super::html(
        StatusCode::OK,
        page(&user.session, user.restricted(), "Payments", "Payments", body),
    )
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

/// GET /dashboard/payments/:id
pub async fn detail(State(app): State<AppState>, user: SignedIn, Path(id): Path<String>) -> Response {
    let tenant = &user.session.tenant;
    let record = match app.store.get_record(tenant, &id).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            let body = html! { h1 { "No such payment" } p { "There is no payment " code { (id) } " in this account and mode." } };
            return super::html(
                StatusCode::NOT_FOUND,
                page(&user.session, user.restricted(), "No such payment", "Payments", body),
            );
        }
        Err(e) => return failure(e),
    };
    let query = ListQuery {
        limit: ATTEMPTS_SHOWN_MAX,
        ..ListQuery::default()
    };
    let attempts = match app.store.list_attempts(tenant, &id, &query).await {
        Ok(page) => page.data,
        Err(ListError::UnknownCursor) => Vec::new(),
        Err(ListError::Store(e)) => return failure(e),
    };
    let refunds = match app.store.list_refunds(tenant, &id).await {
        Ok(refunds) => refunds,
        Err(e) => return failure(e),
    };
    let events = match app.store.record_events(tenant, &id).await {
        Ok(events) => events,
        Err(e) => return failure(e),
    };
    let currency = record.amount_requested.currency.as_str();
    let (guaranteed, failed, canceled) =
        crate::records::model::portions(record.latest_attempt_state, record.amount_requested.value);
    let d = &record.details;
    let raw = serde_json::to_string(&render::record(&record, None)).expect("views serialize");
    let body = html! {
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
        (timeline(&attempts, &refunds))
        h2 { "Details" }
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
        h2 { "Events" }
        @if events.is_empty() { p.muted { "No events." } } @else {
            table {
                thead { tr { th { "Created" } th { "Type" } th { "Event" } th.optional { "Pending webhooks" } } }
                tbody {
                    @for e in &events {
                        @let v: serde_json::Value = serde_json::from_str(e).unwrap_or_default();
                        tr {
                            td { (time(v["created"].as_i64().unwrap_or(0))) }
                            td { code { (v["type"].as_str().unwrap_or("")) } }
                            td { code { (v["id"].as_str().unwrap_or("")) } }
                            td.optional { (v["pending_webhooks"].as_i64().unwrap_or(0)) }
                        }
                    }
                }
            }
        }
        h2 { "Raw JSON" }
        p.muted { "As GET /v1/payment_records/" (record.id.as_str()) " returns it." }
        pre.raw { (pretty(&raw)) }
    };
    super::html(
        StatusCode::OK,
        page(&user.session, user.restricted(), "Payment", "Payments", body),
    )
}
