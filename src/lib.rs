//! payrec: a self-hostable, Stripe-compatible Payment Records server.
//!
//! `wire` speaks Stripe's HTTP protocol, `records` is the Payment Records domain, `store` keeps
//! it (SQLite embedded, PostgreSQL in production). `app` builds the router that `main` and the
//! tests serve.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

pub mod cli;
pub mod config;
pub mod records;
pub mod store;
pub mod wire;

use store::Store;
use wire::error::ApiError;
use wire::idempotency::{IDEMPOTENCY_RETENTION, InFlight};
use wire::request::{RequestContext, remember_route, stripe_headers, unrecognized};

/// What the server needs beyond the store.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Accept any well-formed secret key, each its own account (for stripe-mock-style suites).
    pub accept_any_key: bool,
    /// How long idempotent results are replayed.
    pub idempotency_retention: Duration,
    /// Test hook: wait this long after a write commits, before answering, so a crash test can
    /// kill the process between commit and response. Set only by `PAYREC_TEST_DELAY_AFTER_COMMIT_MS`.
    pub delay_after_commit: Option<Duration>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            accept_any_key: false,
            idempotency_retention: IDEMPOTENCY_RETENTION,
            delay_after_commit: None,
        }
    }
}

/// Shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    pub inflight: InFlight,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        AppState {
            store,
            config: Arc::new(config),
            inflight: InFlight::default(),
        }
    }

    /// Logs an internal failure once, with the request id, and returns the opaque 500.
    pub fn internal_error(&self, request_id: &str, cause: impl Display) -> ApiError {
        tracing::error!(request_id, error = %cause, "internal error");
        ApiError::Internal
    }

    /// `internal_error` for extractors, which find the request id in the request's extensions.
    pub fn internal(&self, parts: &Parts, cause: impl Display) -> ApiError {
        let id = parts
            .extensions
            .get::<Arc<RequestContext>>()
            .map(|c| c.id.clone())
            .unwrap_or_default();
        self.internal_error(&id, cause)
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// GET /healthz: 200 when the database answers.
async fn healthz(State(app): State<AppState>) -> Response {
    match app.store.ping().await {
        Ok(()) => json_status(StatusCode::OK, r#"{"status":"ok"}"#),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database does not answer");
            json_status(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"unavailable"}"#)
        }
    }
}

fn json_status(status: StatusCode, body: &'static str) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::Internal.into_response()
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(records::http::router())
        .route("/healthz", get(healthz))
        .route_layer(from_fn(remember_route))
        .fallback(unrecognized)
        .method_not_allowed_fallback(unrecognized)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        .layer(from_fn(stripe_headers))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}
