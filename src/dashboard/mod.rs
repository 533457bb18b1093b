//! The dashboard: the ledger in a browser, served by `payrec serve` at `/dashboard/` on the API
//! listener (`--no-dashboard` turns it off). Server-rendered HTML (`maud`, compiled into the
//! binary) and one stylesheet; no JavaScript is needed to read. Sign in with an API key
//! (secret or restricted): the key's account and mode decide what is shown, the server keeps
//! a session (`session`), and every form that changes something carries a CSRF token. Pages
//! send a strict Content-Security-Policy.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::Markup;

use crate::state::AppState;

mod error;
mod export;
mod extract;
mod filters;
mod format;
mod layout;
mod overview;
pub mod paths;
mod payment;
mod payments;
mod reconciliation;
mod session;
mod webhooks;

/// Where the dashboard lives.
pub use paths::PREFIX;
/// The largest body a dashboard request may send: its forms hold a key, a CSRF token and an id.
pub const FORM_BYTES_MAX: usize = 8 * 1024;
/// The stylesheet, compiled in.
const STYLESHEET: &str = include_str!("assets/dashboard.css");
/// Nothing but this origin's stylesheet and forms: no scripts, no frames, no other origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The dashboard's routes.
pub fn router() -> Router<AppState> {
    use axum::routing::post;
    Router::new()
        .route(PREFIX, get(|| async { Redirect::to(paths::HOME) }))
        .route(paths::HOME, get(overview::overview))
        .route(paths::SIGN_IN, get(session::sign_in_form).post(session::sign_in))
        .route(paths::SIGN_OUT, post(session::sign_out))
        .route(paths::PAYMENTS, get(payments::list))
        .route(paths::PAYMENTS_CSV, get(export::payments_csv))
        .route(paths::PAYMENT_ROUTE, get(payment::detail))
        .route(paths::WEBHOOKS, get(webhooks::webhooks))
        .route(paths::RESEND, post(webhooks::resend))
        .route(paths::RECONCILIATION, get(reconciliation::queue))
        .route(paths::RESOLVE, post(reconciliation::resolve))
        .route(paths::STYLESHEET, get(stylesheet))
}

/// An HTML page with the dashboard's headers.
pub fn html(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(headers);
    response
}

/// A request whose body was refused (too large, or too slow) before any page ran.
pub fn body_refused(error: &crate::wire::error::ApiError) -> Response {
    let markup = layout::bare(
        "Refused",
        maud::html! { main { p.problem role="alert" { (error.to_string()) " Nothing was done." } } },
    );
    html(error.status(), markup)
}

fn secure_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
