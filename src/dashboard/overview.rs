//! The overview: for a period (default the last 30 days, UTC) and one currency, what the
//! records created in it carry by state, a daily chart of guaranteed and refunded amounts
//! (server-rendered SVG), and the latest payments. Read from the daily totals the writes keep
//! (`records::totals`), so it costs a few rows per day however many records there are.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PageError;
use super::extract::PageQuery;
use super::filters::date;
use super::format::money;
use super::layout::page;
use super::paths;
use super::payments::rows;
use super::session::SignedIn;
use crate::clock::{parse_date, unix_now};
use crate::records::model::PaymentRecord;
use crate::records::totals::{Tally, Totals, day_of};
use crate::state::AppState;
use crate::store::{DayTotals, ListError, ListQuery, Tenant};

/// Days the overview shows unless asked otherwise.
pub const PERIOD_DAYS_DEFAULT: i64 = 30;
/// The longest period one overview shows.
pub const PERIOD_DAYS_MAX: i64 = 366;
/// Payments in the overview's "latest" table.
const LATEST_SHOWN: usize = 10;

/// The chart's drawing box (SVG user units).
const CHART_WIDTH: f64 = 720.0;
const CHART_HEIGHT: f64 = 200.0;
const CHART_LEFT: f64 = 8.0;
const CHART_BOTTOM: f64 = 22.0;

/// The overview's query parameters (empty ones are as if not given).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OverviewQuery {
    from: String,
    to: String,
    currency: String,
}

/// The period asked for, as inclusive day numbers, and what was wrong with the request.
fn period(query: &OverviewQuery, today: i64) -> (i64, i64, Vec<String>) {
    let mut problems = Vec::new();
    let mut day = |text: &str| {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let parsed = parse_date(text);
        if parsed.is_none() {
            problems.push(format!("“{text}” is not a date (YYYY-MM-DD)."));
        }
        parsed
    };
    let (from, to) = (day(&query.from), day(&query.to));
    let last = to.unwrap_or(today);
    let mut first = from.unwrap_or(last - (PERIOD_DAYS_DEFAULT - 1));
    if first > last {
        problems.push("The period ends before it starts.".to_owned());
        first = last - (PERIOD_DAYS_DEFAULT - 1);
    }
    if last - first + 1 > PERIOD_DAYS_MAX {
        problems.push(format!(
            "A period is at most {PERIOD_DAYS_MAX} days: showing its last ones."
        ));
        first = last - (PERIOD_DAYS_MAX - 1);
    }
    (first, last, problems)
}

/// The currency to show: the one asked for if the period has it, else the one with the most
/// records.
fn currency_of(days: &[DayTotals], asked: Option<&str>) -> Option<String> {
    let mut counts: Vec<(String, i64)> = Vec::new();
    for d in days {
        match counts.iter_mut().find(|(c, _)| c == d.currency.as_str()) {
            Some((_, n)) => *n += d.totals.requested.count,
            None => counts.push((d.currency.as_str().to_owned(), d.totals.requested.count)),
        }
    }
    if let Some(asked) = asked.map(str::to_ascii_lowercase)
        && counts.iter().any(|(c, _)| *c == asked)
    {
        return Some(asked);
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts.into_iter().next().map(|(c, _)| c)
}

fn card(name: &str, tally: Tally, currency: &str) -> Markup {
    html! {
        div.card {
            div.name { (name) }
            div.value { (money(tally.amount, currency)) }
            div.count.muted { (tally.count) " payment" @if tally.count != 1 { "s" } }
        }
    }
}

/// Daily bars of guaranteed (left) and refunded (right) amounts, one pair per day.
fn chart(first: i64, last: i64, by_day: &[(i64, Totals)], currency: &str) -> Markup {
    let days = (last - first + 1) as f64;
    let top = by_day
        .iter()
        .map(|(_, t)| t.guaranteed.amount.max(t.refunded.amount))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = (CHART_WIDTH - CHART_LEFT) / days;
    let bar = (slot * 0.4).max(0.5);
    let plot = CHART_HEIGHT - CHART_BOTTOM;
    let height = |amount: i64| (amount.max(0) as f64 / top * (plot - 4.0)).max(0.0);
    html! {
        svg.chart viewBox={ "0 0 " (CHART_WIDTH) " " (CHART_HEIGHT) } role="img"
            aria-label={ "Daily guaranteed and refunded amounts in " (currency.to_ascii_uppercase()) } {
            line.axis x1=(CHART_LEFT) y1=(plot) x2=(CHART_WIDTH) y2=(plot) {}
            @for (day, t) in by_day {
                @let x = CHART_LEFT + (*day - first) as f64 * slot + slot * 0.1;
                @let g = height(t.guaranteed.amount);
                @let r = height(t.refunded.amount);
                rect.guaranteed x=(format!("{x:.2}")) y=(format!("{:.2}", plot - g)) width=(format!("{bar:.2}")) height=(format!("{g:.2}")) {
                    title { (date(*day)) ": " (money(t.guaranteed.amount, currency)) " guaranteed" }
                }
                rect.refunded x=(format!("{:.2}", x + bar)) y=(format!("{:.2}", plot - r)) width=(format!("{bar:.2}")) height=(format!("{r:.2}")) {
                    title { (date(*day)) ": " (money(t.refunded.amount, currency)) " refunded" }
                }
            }
            text.label x=(CHART_LEFT) y=(CHART_HEIGHT - 6.0) { (date(first)) }
            text.label x=(CHART_WIDTH) y=(CHART_HEIGHT - 6.0) text-anchor="end" { (date(last)) }
            text.label x=(CHART_LEFT + 2.0) y="12" { "max " (money(top as i64, currency)) }
        }
        p.legend {
            span.key.guaranteed {} " guaranteed " span.key.refunded {} " refunded, per day (UTC) of the payments' creation"
        }
    }
}

/// What the overview shows.
struct Overview {
    first: i64,
    last: i64,
    problems: Vec<String>,
    /// The currency shown (None: no payment in the period), and every currency the period has.
    currency: Option<String>,
    currencies: Vec<String>,
    by_day: Vec<(i64, Totals)>,
    latest: Vec<PaymentRecord>,
}

impl Overview {
    async fn load(app: &AppState, tenant: &Tenant, query: &OverviewQuery) -> Result<Overview, PageError> {
        let (first, last, problems) = period(query, day_of(unix_now()));
        let days = app.store.daily_totals(tenant, first, last).await?;
        let asked = Some(query.currency.trim()).filter(|c| !c.is_empty());
        let currency = currency_of(&days, asked);
        let mut currencies: Vec<String> = days.iter().map(|d| d.currency.as_str().to_owned()).collect();
        currencies.sort_unstable();
        currencies.dedup();
        let by_day = days
            .iter()
            .filter(|d| Some(d.currency.as_str()) == currency.as_deref())
            .map(|d| (d.day, d.totals))
            .collect();
        let newest = ListQuery {
            limit: LATEST_SHOWN,
            ..ListQuery::default()
        };
        let latest = match app.store.list_records(tenant, &newest).await {
            Ok(page) => page.data,
            Err(ListError::UnknownCursor) => Vec::new(),
            Err(ListError::Store(e)) => return Err(e.into()),
        };
        Ok(Overview {
            first,
            last,
            problems,
            currency,
            currencies,
            by_day,
            latest,
        })
    }
}

/// GET /dashboard/
pub async fn overview(
    State(app): State<AppState>,
    user: SignedIn,
    PageQuery(query): PageQuery<OverviewQuery>,
) -> Result<Response, PageError> {
    let overview = Overview::load(&app, &user.session.tenant, &query).await?;
    Ok(super::html(
        StatusCode::OK,
        page(
            &user.session,
            user.restricted(),
            "Overview",
            "Overview",
            markup(&overview),
        ),
    ))
}

fn markup(o: &Overview) -> Markup {
    let (first, last) = (o.first, o.last);
    let sum = o.by_day.iter().fold(Totals::default(), |acc, (_, t)| acc.plus(t));
    html! {
        h1 { "Overview" }
        form.filters method="get" action=(paths::HOME) {
            label { "From " input type="date" name="from" value=(date(first)); }
            label { "to " input type="date" name="to" value=(date(last)); }
            label { "Currency "
                select name="currency" {
                    @for c in &o.currencies {
                        option value=(c) selected[Some(c) == o.currency.as_ref()] { (c.to_ascii_uppercase()) }
                    }
                }
            }
            button type="submit" { "Show" }
        }
        @for problem in &o.problems { p.problem { (problem) } }
        @match &o.currency {
            None => p.muted { "No payments were created from " (date(first)) " to " (date(last)) " (UTC)." },
            Some(currency) => {
                p.muted { "Payments created from " (date(first)) " to " (date(last)) " (UTC), in " (currency.to_ascii_uppercase()) ", by the state of their latest attempt." }
                div.cards {
                    (card("Guaranteed", sum.guaranteed, currency))
                    (card("Refunded", sum.refunded, currency))
                    (card("Failed", sum.failed, currency))
                    (card("Canceled", sum.canceled, currency))
                    (card("Pending", sum.pending, currency))
                    (card("All requested", sum.requested, currency))
                }
                h2 { "Guaranteed and refunded per day" }
                (chart(first, last, &o.by_day, currency))
            }
        }
        h2 { "Latest payments" }
        @if o.latest.is_empty() { p.muted { "No payments yet." } } @else { (rows(&o.latest)) }
        p { a href=(paths::PAYMENTS) { "All payments →" } }
    }
}
