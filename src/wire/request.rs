//! Per-request plumbing: the request id, Stripe's response headers, one log line per request,
//! the decoded parameters (`ApiRequest`), and Stripe-shaped answers for unknown routes.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::form::{self, ParamTree, QUERY_BYTES_MAX, REQUEST_BODY_BYTES_MAX};
use super::idempotency::IdempotencyKey;
use crate::base62::random_base62;

/// The API version payrec serves (the one Stripe's SDK 16.1.0 pins).
pub const STRIPE_VERSION: &str = crate::api_version::API_VERSION;
/// Characters after `req_` in a request id.
pub const REQUEST_ID_CHARS: usize = 14;

/// Facts about the request in flight, shared by the middleware and the handlers.
#[derive(Debug)]
pub struct RequestContext {
    pub id: String,
    /// Set by auth once the key is known; logged, never the key.
    pub account: OnceLock<String>,
    /// Close the connection instead of answering, once the request has succeeded
    /// (`Payrec-Simulate: drop_after_commit`).
    pub drop_response: std::sync::atomic::AtomicBool,
}

impl RequestContext {
    pub fn new(id: String) -> RequestContext {
        RequestContext {
            id,
            account: OnceLock::new(),
            drop_response: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

tokio::task_local! {
    /// The id of the request the current task serves (set by `stripe_headers`), for answers
    /// made far from the request, such as a page's error.
    static REQUEST_ID: String;
}

/// The id of the request being served, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(String::clone).ok()
}

pub fn new_request_id() -> String {
    format!("req_{}", random_base62(REQUEST_ID_CHARS))
}

/// Outermost middleware: request id, Stripe headers on every response, and the request's one
/// log line.
pub async fn stripe_headers(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let context = Arc::new(RequestContext::new(new_request_id()));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let (version, mut response) = match asked_version(request.headers(), &path) {
        Ok(version) => {
            request.extensions_mut().insert(context.clone());
            (version, REQUEST_ID.scope(context.id.clone(), next.run(request)).await)
        }
        Err(refused) => (HeaderValue::from_static(STRIPE_VERSION), refused.into_response()),
    };
    if context.drop_response.load(std::sync::atomic::Ordering::Relaxed) && response.status().is_success() {
        response.extensions_mut().insert(crate::server::DropConnection);
    }
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let headers = response.headers_mut();
    headers.insert(
        "request-id",
        HeaderValue::from_str(&context.id).expect("request ids are ASCII"),
    );
    headers.insert("stripe-version", version);
    if !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let status = response.status().as_u16();
    let latency = started.elapsed();
    crate::telemetry::record_request(
        route.as_deref().unwrap_or("unmatched"),
        crate::telemetry::method_label(&method),
        status,
        latency,
    );
    if let Some(error) = response.extensions().get::<ApiError>() {
        crate::telemetry::record_error(error.code().unwrap_or(error.error_type().as_str()));
        // The one place a server-side failure's cause is logged (an internal error, with its
        // request id).
        match error {
            ApiError::Internal { cause } => tracing::error!(request_id = %context.id, error = %cause, "internal error"),
            ApiError::Unavailable { outage, cause } => crate::throttle::error(
                outage.as_str(),
                "payrec cannot store requests: the database failed",
                cause,
            ),
            ApiError::DeadlineExceeded { seconds } => crate::throttle::error(
                "request_deadline",
                "a request was not answered within its deadline: the database did not answer",
                &format!("{seconds} s"),
            ),
            _ => {}
        }
    } else if let Some(saved) = response.extensions().get::<super::idempotency::SavedErrorCode>() {
        crate::telemetry::record_error(&saved.0);
    }
    super::request_log::RequestLine {
        request_id: &context.id,
        method: bounded_for_log(method.as_str(), METHOD_LOG_CHARS),
        route: route.as_deref().unwrap_or("unmatched"),
        path: path_for_log(&path, route.is_some()),
        status,
        latency,
        account: context.account.get().map(String::as_str).unwrap_or("-"),
    }
    .log();
    response
}

/// The API version a request asks for (`Stripe-Version`, else payrec's), to echo on its response;
/// on the API's paths, a version payrec does not know is refused as Stripe refuses it (several
/// headers are one value joined by commas, which no version is).
fn asked_version(headers: &HeaderMap, path: &str) -> Result<HeaderValue, ApiError> {
    let mut asked = headers.get_all("stripe-version").iter();
    let (Some(first), rest) = (asked.next(), asked) else {
        return Ok(HeaderValue::from_static(STRIPE_VERSION));
    };
    if !path.starts_with("/v1/") {
        return Ok(first.clone());
    }
    let rest: Vec<&HeaderValue> = rest.collect();
    match (first.to_str().ok().and_then(crate::api_version::known), rest.is_empty()) {
        (Some(_), true) => Ok(first.clone()),
        _ => Err(ApiError::InvalidApiVersion {
            version: std::iter::once(first)
                .chain(rest)
                .map(|v| bounded_for_log(&String::from_utf8_lossy(v.as_bytes()), API_VERSION_ECHO_CHARS).to_owned())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The `{id}` path segment, percent-decoded. Any string is accepted: an id that names no
/// object is a 404, whatever its length or characters.
#[derive(Debug)]
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    /// Every route with an id has it after its objects' segment: `/v1/<objects>/{id}/…`, or
    /// `/payrec/v1/<objects>/{id}` for payrec's own. It is read from the raw path and decoded
    /// exactly once (`+` stays `+`); bytes that are not UTF-8 are replaced, since such an id
    /// can name no object.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path();
        let at = if path.starts_with("/payrec/") { 4 } else { 3 };
        let raw = path.split('/').nth(at).unwrap_or_default();
        Ok(PathId(
            percent_encoding::percent_decode_str(raw)
                .decode_utf8_lossy()
                .into_owned(),
        ))
    }
}

/// Characters of an unmatched path, and of a method, that the request line keeps: both may be
/// arbitrary client input.
const UNMATCHED_PATH_LOG_CHARS: usize = 200;
const METHOD_LOG_CHARS: usize = 24;
/// Characters of each unknown `Stripe-Version` value that its error message repeats.
const API_VERSION_ECHO_CHARS: usize = 64;

fn path_for_log(path: &str, matched: bool) -> &str {
    if matched {
        return path;
    }
    bounded_for_log(path, UNMATCHED_PATH_LOG_CHARS)
}

fn bounded_for_log(text: &str, chars_max: usize) -> &str {
    match text.char_indices().nth(chars_max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Route-level middleware: hands the matched route pattern to `stripe_headers` for the log.
pub async fn remember_route(matched: MatchedPath, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.extensions_mut().insert(matched);
    response
}

/// Fallback for unknown URLs and methods: Stripe's 404.
pub async fn unrecognized(method: Method, uri: axum::http::Uri) -> Response {
    ApiError::UnrecognizedUrl {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
    .into_response()
}

/// A request's decoded parameters (query for GET, form body for POST) and its idempotency key.
#[derive(Debug)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub params: ParamTree,
    pub idempotency_key: Option<IdempotencyKey>,
    pub context: Arc<RequestContext>,
}

impl ApiRequest {
    pub fn request_id(&self) -> &str {
        &self.context.id
    }

    /// The parameters as the endpoint declares them: checked against `P`'s shape, then read.
    pub fn read<P: super::params::ParamObject>(&self) -> Result<P, ApiError> {
        super::params::read(&self.params)
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

impl<S: Send + Sync> FromRequest<S> for ApiRequest {
    type Rejection = ApiError;

    /// The body was read whole before routing (`super::body`); its limit is checked again here.
    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let context = parts
            .extensions
            .get::<Arc<RequestContext>>()
            .cloned()
            .unwrap_or_else(|| Arc::new(RequestContext::new(new_request_id())));
        let params = if parts.method == Method::POST {
            let declared = parts
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
            if declared.is_some_and(|n| n > REQUEST_BODY_BYTES_MAX) {
                return Err(ApiError::BodyTooLarge {
                    limit_bytes: REQUEST_BODY_BYTES_MAX,
                });
            }
            let bytes = super::body::read(body, REQUEST_BODY_BYTES_MAX, crate::server::BODY_READ_TIMEOUT).await?;
            if bytes.is_empty() {
                ParamTree::default()
            } else if is_form(&parts.headers) {
                form::decode(&bytes)?
            } else {
                return Err(ApiError::MalformedRequest {
                    message: "Invalid request: payrec accepts request bodies encoded as application/x-www-form-urlencoded, as Stripe does (JSON bodies are not accepted).".into(),
                });
            }
        } else {
            let query = parts.uri.query().unwrap_or("");
            if query.len() > QUERY_BYTES_MAX {
                return Err(ApiError::MalformedRequest {
                    message: format!("The query string is longer than the limit of {QUERY_BYTES_MAX} bytes."),
                });
            }
            form::decode(query.as_bytes())?
        };
        let idempotency_key = match parts.headers.get("idempotency-key") {
            Some(value) if parts.method == Method::POST => Some(IdempotencyKey::parse(value)?),
            _ => None,
        };
        Ok(ApiRequest {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            params,
            idempotency_key,
            context,
        })
    }
}
