//! GET /dashboard/payments/export.csv: the payments the list's filters select, as the CSV of
//! `payrec export` (the same stream: constant memory however many rows).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use maud::html;

use super::extract::PageQuery;
use super::filters::PaymentFilters;
use super::layout::page;
use super::paths;
use super::session::SignedIn;
use crate::export::{ExportObject, Format, Selection, export};
use crate::state::AppState;

pub async fn payments_csv(
    State(app): State<AppState>,
    user: SignedIn,
    PageQuery(filters): PageQuery<PaymentFilters>,
) -> Response {
    let selected = filters.select();
    if !selected.problems.is_empty() {
        let body = html! {
            h1 { "Export" }
            @for problem in &selected.problems { p.problem { (problem) } }
            p { a href=(paths::PAYMENTS) { "Payments" } }
        };
        return super::html(
            StatusCode::BAD_REQUEST,
            page(&user.session, user.restricted(), "Export", "Payments", body),
        );
    }
    let tenant = user.session.tenant.clone();
    let name = format!(
        "payments-{}-{}.csv",
        tenant.account_id,
        if tenant.livemode { "live" } else { "test" }
    );
    let selection = Selection {
        tenant,
        object: ExportObject::PaymentRecords,
        filter: selected.filter,
        created_from: selected.created_from,
        created_until: selected.created_until,
    };
    let chunks = export(app.store.clone(), selection, Format::Csv).map(|chunk| match chunk {
        Ok(chunk) => Ok(chunk.bytes),
        Err(e) => {
            // The status is sent already: the download stops short, and the log says why.
            tracing::error!(error = %e, "dashboard export failed");
            Err(std::io::Error::other(e.to_string()))
        }
    });
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    super::secure_headers(headers);
    response
}
