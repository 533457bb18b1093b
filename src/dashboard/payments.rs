//! The payments list: newest first, cursor pages, the filters (`filters`) and the search. One
//! payment's page is `payment`. Loading is apart from the markup.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PageError;
use super::extract::PageQuery;
use super::filters::PaymentFilters;
use super::format::{money, time};
use super::layout::page;
use super::paths;
use super::session::SignedIn;
use crate::records::model::{AttemptState, PaymentRecord};
use crate::state::AppState;
use crate::store::{ListError, ListQuery, Page, StoreError, Tenant};
use crate::wire::error::NARROW_YOUR_SEARCH;

/// Payments on one page of the list.
pub const PAYMENTS_PER_PAGE: usize = 25;
/// Most payments a search shows.
pub const SEARCH_RESULTS_MAX: usize = 25;

/// The list's query parameters: a search, or the filters and a cursor.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PaymentsQuery {
    q: String,
    starting_after: Option<String>,
    ending_before: Option<String>,
    #[serde(flatten)]
    filters: PaymentFilters,
}

pub(super) fn state_badge(state: AttemptState) -> Markup {
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
async fn search(app: &AppState, tenant: &Tenant, q: &str) -> Result<Vec<PaymentRecord>, StoreError> {
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
                        td { a href=(paths::payment(r.id.as_str())) { (time(r.created)) } }
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
        form.search method="get" action=(paths::PAYMENTS) role="search" {
            label for="q" { "Search" }
            input #q type="search" name="q" value=(q)
                placeholder="pr_… / par_… id, payment or refund reference, customer email or name, description, metadata";
            button type="submit" { "Search" }
        }
    }
}

/// GET /dashboard/payments
pub async fn list(
    State(app): State<AppState>,
    user: SignedIn,
    PageQuery(query): PageQuery<PaymentsQuery>,
) -> Result<Response, PageError> {
    let tenant = &user.session.tenant;
    let (title, body) = match query.q.trim() {
        "" => match listed(&app, tenant, &query).await? {
            Some(listed) => ("Payments", listed_markup(&query.filters, &listed)),
            None => return Ok(Redirect::to(paths::PAYMENTS).into_response()),
        },
        q => {
            let found = match search(&app, tenant, q).await {
                Ok(found) => Some(found),
                Err(StoreError::ScanTooLong) => None,
                Err(e) => return Err(e.into()),
            };
            ("Search", found_markup(q, found.as_deref()))
        }
    };
    Ok(super::html(
        StatusCode::OK,
        page(&user.session, user.restricted(), title, "Payments", body),
    ))
}

fn found_markup(q: &str, found: Option<&[PaymentRecord]>) -> Markup {
    html! {
        h1 { "Payments" }
        (search_form(q))
        @match found {
            None => p.problem role="alert" { (NARROW_YOUR_SEARCH) },
            Some([]) => p.muted { "No payment matches “" (q) "”." },
            Some(found) => {
                p.muted { (found.len()) " payment(s) match “" (q) "”" @if found.len() == SEARCH_RESULTS_MAX { " (the newest " (SEARCH_RESULTS_MAX) ")" } "." }
                (rows(found))
            }
        }
        p { a href=(paths::PAYMENTS) { "All payments" } }
    }
}

/// One page of the filtered list, and what the filters could not understand.
struct Listed {
    page: Page<PaymentRecord>,
    problems: Vec<String>,
    /// The filters would read too much: the page is empty, and says to narrow them.
    narrow: bool,
    /// The cursors of the pages before and after this one.
    newer: Option<String>,
    older: Option<String>,
}

/// The page the query asks for; None when its cursor names no payment (the list starts over).
async fn listed(app: &AppState, tenant: &Tenant, query: &PaymentsQuery) -> Result<Option<Listed>, PageError> {
    let selected = query.filters.select();
    let starting_after = query.starting_after.clone().filter(|c| !c.is_empty());
    let list = ListQuery {
        limit: PAYMENTS_PER_PAGE,
        ending_before: query
            .ending_before
            .clone()
            .filter(|c| !c.is_empty() && starting_after.is_none()),
        starting_after,
        created_after: selected.created_from.map(|t| t - 1),
        created_before: selected.created_until,
    };
    let (page, narrow) = match app.store.list_records_where(tenant, &list, &selected.filter).await {
        Ok(page) => (page, false),
        Err(ListError::UnknownCursor) => return Ok(None),
        Err(ListError::Store(StoreError::ScanTooLong)) => (Page::empty(), true),
        Err(ListError::Store(e)) => return Err(e.into()),
    };
    let backwards = list.ending_before.is_some();
    let id = |r: &PaymentRecord| r.id.as_str().to_owned();
    let newer = match (backwards, page.data.first()) {
        (true, Some(first)) if page.has_more => Some(id(first)),
        (false, Some(first)) if list.starting_after.is_some() => Some(id(first)),
        _ => None,
    };
    let older = match (backwards, page.data.last()) {
        (false, Some(last)) if page.has_more => Some(id(last)),
        (true, Some(last)) => Some(id(last)),
        _ => None,
    };
    Ok(Some(Listed {
        page,
        problems: selected.problems,
        narrow,
        newer,
        older,
    }))
}

fn listed_markup(filters: &PaymentFilters, listed: &Listed) -> Markup {
    let carried = filters.query_string();
    let link = |cursor: &str, id: &str| {
        let and = if carried.is_empty() { "" } else { "&" };
        format!("{}?{carried}{and}{cursor}={id}", paths::PAYMENTS)
    };
    let export = format!("{}?{carried}", paths::PAYMENTS_CSV);
    html! {
        h1 { "Payments" }
        (search_form(""))
        (filters.form())
        @for problem in &listed.problems { p.problem { (problem) } }
        @if listed.narrow {
            p.problem role="alert" { (NARROW_YOUR_SEARCH) }
        } @else if listed.page.data.is_empty() {
            @if filters.is_empty() {
                p.muted { "No payments yet. Report one through the API: POST /v1/payment_records/report_payment." }
            } @else {
                p.muted { "No payment matches these filters." }
            }
        } @else {
            (rows(&listed.page.data))
        }
        div.pager {
            @if let Some(id) = &listed.newer { a href=(link("ending_before", id)) { "← Newer" } }
            @if let Some(id) = &listed.older { a href=(link("starting_after", id)) { "Older →" } }
            a.export href=(export) download { "Download CSV" }
        }
    }
}
