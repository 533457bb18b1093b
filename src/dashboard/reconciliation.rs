//! The Reconciliation page (issue 32, item 4): the kept runs with their counts, and the queue of
//! open breaks (unmatched lines and unmatched payments, newest first, filterable by category).
//! A secret key's session resolves a break by hand, matching it to a payment or marking it with
//! a reason (with the session's CSRF token); a restricted key's session sees the queue only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PageError;
use super::extract::{PageForm, PageQuery};
use super::format::{money, time};
use super::layout::page;
use super::paths;
use super::session::{SignedIn, forged};
use crate::reconcile::kept::{ResultView, RunView};
use crate::reconcile::{CATEGORIES, Category};
use crate::state::AppState;
use crate::store::reconciliation::ResultFilter;
use crate::store::reconciliation::resolve::{ByHand, ResolveBreak, ResolveRefused};
use crate::store::{ListError, ListQuery, TypedWrites, Write, WriteOutcome};

/// Runs shown, newest first.
pub const RUNS_SHOWN_MAX: usize = 10;
/// Open breaks on one page of the queue.
pub const BREAKS_PER_PAGE: usize = 50;

/// The queue's query: a category, and a cursor (the last break of the page before).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    category: String,
    starting_after: Option<String>,
}

/// GET /dashboard/reconciliation
pub async fn queue(
    State(app): State<AppState>,
    user: SignedIn,
    PageQuery(query): PageQuery<QueueQuery>,
) -> Result<Response, PageError> {
    let tenant = &user.session.tenant;
    let category = Category::parse(&query.category);
    let runs = app
        .store
        .list_runs(
            tenant,
            &ListQuery {
                limit: RUNS_SHOWN_MAX,
                ..ListQuery::default()
            },
        )
        .await
        .map_err(list_error)?;
    let filter = ResultFilter {
        category,
        open_only: true,
        ..ResultFilter::default()
    };
    let page_query = ListQuery {
        limit: BREAKS_PER_PAGE,
        starting_after: query.starting_after.clone(),
        ..ListQuery::default()
    };
    let breaks = match app.store.list_results(tenant, &page_query, &filter).await {
        Ok(page) => page,
        Err(ListError::UnknownCursor) => crate::store::Page::empty(),
        Err(ListError::Store(e)) => return Err(e.into()),
    };
    let next = breaks
        .has_more
        .then(|| breaks.data.last().map(|b| b.id.clone()))
        .flatten();
    let body = markup(&user, &runs.data, &breaks.data, category, next);
    Ok(super::html(
        StatusCode::OK,
        page(
            &user.session,
            user.restricted(),
            "Reconciliation",
            "Reconciliation",
            body,
        ),
    ))
}

fn list_error(e: ListError) -> PageError {
    match e {
        ListError::Store(e) => e.into(),
        ListError::UnknownCursor => PageError::BadRequest("unknown cursor".into()),
    }
}

fn runs_table(runs: &[RunView]) -> Markup {
    html! {
        table.runs {
            thead { tr { th { "Run" } th { "File" } th { "Completed" } th { "Matched" } th { "Open breaks" } th.optional { "By" } } }
            tbody {
                @for run in runs {
                    @let matched: u64 = CATEGORIES.iter().filter(|c| c.is_match()).map(|c| run.counts.get(c.as_str()).copied().unwrap_or(0)).sum();
                    tr {
                        td { code { (run.id) } }
                        td { (run.file.name) " (" (run.file.format) ")" }
                        td { @if let Some(at) = run.completed_at { (time(at)) } @else { span.state.pending { (run.status) } } }
                        td { (matched) }
                        td { (run.open_breaks) }
                        td.optional { (run.ran_by) }
                    }
                }
            }
        }
    }
}

fn category_filter(current: Option<Category>) -> Markup {
    html! {
        form.search method="get" action=(paths::RECONCILIATION) {
            label for="category" { "Category" }
            select #category name="category" {
                option value="" selected[current.is_none()] { "every break" }
                @for c in CATEGORIES.iter().filter(|c| !c.is_match()) {
                    option value=(c.as_str()) selected[current == Some(*c)] { (c.as_str()) }
                }
            }
            button type="submit" { "Show" }
        }
    }
}

fn amount(value: Option<i64>, currency: Option<&str>) -> Markup {
    match (value, currency) {
        (Some(v), Some(c)) => html! { (money(v, c)) },
        _ => html! { "—" },
    }
}

fn resolve_form(user: &SignedIn, b: &ResultView) -> Markup {
    html! {
        form.resolve method="post" action=(paths::RESOLVE) {
            input type="hidden" name="csrf" value=(user.session.csrf);
            input type="hidden" name="result" value=(b.id);
            input type="text" name="payment_record" placeholder="pr_…" aria-label="Payment record"
                value=(b.payment_record.as_deref().unwrap_or(""));
            button type="submit" name="action" value="match" { "Match" }
            input type="text" name="reason" placeholder="reason" aria-label="Reason";
            button type="submit" name="action" value="mark" { "Mark" }
        }
    }
}

fn markup(
    user: &SignedIn,
    runs: &[RunView],
    breaks: &[ResultView],
    category: Option<Category>,
    next: Option<String>,
) -> Markup {
    let can_resolve = !user.restricted();
    html! {
        h1 { "Reconciliation" }
        h2 { "Runs" }
        @if runs.is_empty() { p.muted { "No runs yet: payrec reconcile FILE keeps one per statement." } } @else { (runs_table(runs)) }
        h2 { "Open breaks" }
        (category_filter(category))
        @if breaks.is_empty() { p.muted { "No open breaks." } } @else {
            table.breaks {
                thead { tr {
                    th { "Category" } th { "Reference" } th { "File" } th { "payrec" } th.optional { "Line" } th.optional { "Run" }
                    @if can_resolve { th { "Resolve" } }
                } }
                tbody {
                    @for b in breaks {
                        tr id=(b.id) {
                            td { span.state.failed { (b.category) } }
                            td { (b.reference) }
                            td.amount { (amount(b.file_amount, b.file_currency.as_deref())) }
                            td {
                                @if let Some(pr) = &b.payment_record { a href=(paths::payment(pr)) { code { (pr) } } " " }
                                (amount(b.payrec_amount, b.payrec_currency.as_deref()))
                            }
                            td.optional { @if let Some(line) = b.line { (line) } @else { "—" } }
                            td.optional { code { (b.run) } }
                            @if can_resolve { td { (resolve_form(user, b)) } }
                        }
                    }
                }
            }
            @if let Some(after) = next {
                p { a href={ (paths::RECONCILIATION) "?category=" (category.map_or("", |c| c.as_str())) "&starting_after=" (after) } { "Older breaks" } }
            }
        }
        @if !can_resolve { p.muted { "Resolving needs a secret key: this session's key is read only." } }
    }
}

/// The resolve form: the session's token, the break, and what a person decided.
#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    payment_record: String,
    #[serde(default)]
    reason: String,
}

fn refused(user: &SignedIn, status: StatusCode, why: &str) -> Response {
    let body = html! { h1 { "Refused" } p.problem { (why) } p { a href=(paths::RECONCILIATION) { "Back to reconciliation" } } };
    super::html(
        status,
        page(&user.session, user.restricted(), "Refused", "Reconciliation", body),
    )
}

/// POST /dashboard/reconciliation/resolve: a secret key's session only, with its CSRF token.
pub async fn resolve(
    State(app): State<AppState>,
    user: SignedIn,
    PageForm(form): PageForm<ResolveForm>,
) -> Result<Response, PageError> {
    if !user.sent_the_form(&form.csrf) {
        return Ok(forged("nothing was resolved."));
    }
    if user.restricted() {
        let why = "Resolving needs a secret key: this session's key is read only.";
        return Ok(refused(&user, StatusCode::FORBIDDEN, why));
    }
    let by_hand = match form.action.as_str() {
        "match" => ByHand::Match {
            record_id: form.payment_record.trim().to_owned(),
        },
        "mark" => ByHand::Mark { reason: form.reason },
        _ => return Ok(refused(&user, StatusCode::BAD_REQUEST, "Choose Match or Mark.")),
    };
    let mutation = ResolveBreak {
        result_id: form.result,
        by_hand,
        by: format!("dashboard:{}", user.session.key_id),
    };
    let write = Write::without_request(user.session.tenant.clone(), mutation);
    let WriteOutcome::Executed { result, .. } = app.store.write(write).await? else {
        unreachable!("a resolution carries no idempotency key");
    };
    let (status, why) = match result {
        Ok(_) => return Ok(Redirect::to(paths::RECONCILIATION).into_response()),
        Err(ResolveRefused::NoSuchBreak) => (StatusCode::NOT_FOUND, "No such break in this account and mode."),
        Err(ResolveRefused::NotOpen) => (StatusCode::CONFLICT, "This break is not open: it was resolved already."),
        Err(ResolveRefused::NoSuchPayment) => (StatusCode::BAD_REQUEST, "No such payment in this account and mode."),
        Err(ResolveRefused::BadReason) => (
            StatusCode::BAD_REQUEST,
            "Give a reason of 1 to 500 characters to mark a break.",
        ),
    };
    Ok(refused(&user, status, why))
}
