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
pub mod doctor;
pub mod records;
pub mod server;
pub mod store;
pub mod telemetry;
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
    /// Serve `GET /metrics` on the API listener (off when `--metrics-listen` names another).
    pub metrics_on_api: bool,
    /// Connection and slow-client limits.
    pub limits: server::Limits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            accept_any_key: false,
            idempotency_retention: IDEMPOTENCY_RETENTION,
            delay_after_commit: None,
            metrics_on_api: true,
            limits: server::Limits::default(),
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

/// GET /healthz: 200 while the process serves (liveness; the database is /readyz's concern).
async fn healthz() -> Response {
    json_status(StatusCode::OK, r#"{"status":"ok"}"#)
}

/// GET /readyz: 200 when the database answers and every migration is applied.
async fn readyz(State(app): State<AppState>) -> Response {
    match app.store.migrations_current().await {
        Ok(true) => json_status(StatusCode::OK, r#"{"status":"ready"}"#),
        Ok(false) => {
            tracing::warn!("readiness: migrations are not current; run `payrec migrate`");
            json_status(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"migrations_pending"}"#)
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            json_status(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"database_unavailable"}"#)
        }
    }
}

/// GET /metrics: Prometheus text format.
pub async fn metrics(State(app): State<AppState>) -> Response {
    let pool = app.store.pool_usage();
    telemetry::record_pool(pool.connections, pool.idle);
    let body = telemetry::handle().render();
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
        .into_response()
}

/// A router serving only `GET /metrics`, for `--metrics-listen`.
pub fn metrics_app(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(state)
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
    telemetry::handle();
    let mut router = Router::new()
        .merge(records::http::router())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(records::openapi::serve));
    if state.config.metrics_on_api {
        router = router.route("/metrics", get(metrics));
    }
    router
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
    let limits = state.config.limits.clone();
    server::serve(listener, app(state), &limits, shutdown).await
}
