//! The dashboard's own error path: every page handler returns `Result<_, PageError>` and uses
//! `?`. An error renders an HTML page (never the API's JSON) that names the request id, and
//! carries the API's error in its extensions, so that the request middleware counts it and logs
//! an internal one's cause once, exactly as for the API.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::bare;
use super::paths;
use crate::store::{ListError, StoreError};
use crate::wire::error::ApiError;

/// What stops a page.
#[derive(Debug)]
pub enum PageError {
    /// The store failed: 503 while the database cannot serve (retry), 500 otherwise.
    Store(StoreError),
    /// The request cannot be served as sent (a form or a query that does not parse).
    BadRequest(String),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError::Store(e)
    }
}

impl From<ListError> for PageError {
    /// A page whose own cursor is refused: the list starts again (handlers that can, redirect).
    fn from(e: ListError) -> Self {
        match e {
            ListError::Store(e) => PageError::Store(e),
            ListError::UnknownCursor => PageError::BadRequest("That page of the list no longer exists.".into()),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let api = match self {
            PageError::Store(e) => ApiError::from(e),
            PageError::BadRequest(message) => ApiError::MalformedRequest { message },
        };
        let request_id = crate::wire::request::current_request_id().unwrap_or_default();
        let markup = bare(
            "Something went wrong",
            html! {
                main {
                    h1 { "This page cannot be shown" }
                    p.problem role="alert" { (api.to_string()) }
                    p.muted { "Request id: " code { (request_id) } }
                    p { a href=(paths::HOME) { "Back to the dashboard" } }
                }
            },
        );
        let mut response = super::html(api.status(), markup);
        if api.status() == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(crate::wire::error::RETRY_AFTER_SECONDS),
            );
        }
        response.extensions_mut().insert(api);
        response
    }
}
