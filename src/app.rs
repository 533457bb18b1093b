//! The whole HTTP application: every resource's routes, health, readiness, metrics and the API
//! description, behind Stripe's request middleware. `main` and the tests serve the same `app`.

use std::future::Future;

use axum::Router;
use axum::extract::Request;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use crate::state::AppState;
use crate::store::Outage;
use crate::wire::error::ApiError;
use crate::wire::request::{remember_route, stripe_headers, unrecognized};

/// GET /healthz: 200 while the process serves (liveness; the database is /readyz's concern).
async fn healthz() -> Response {
    json_status(StatusCode::OK, r#"{"status":"ok"}"#)
}

/// GET /readyz: 200 when the database answers, every migration is applied, no background job
/// keeps failing and, after a write failed for want of disk or database, a probe write commits
/// again; 503 with the reason otherwise.
async fn readyz(State(app): State<AppState>) -> Response {
    let failing = app.jobs.failing();
    if !failing.is_empty() {
        let body = serde_json::json!({"status": "job_failing", "jobs": failing}).to_string();
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    if app.store.outage().is_some()
        && let Err(e) = app.store.probe().await
    {
        crate::throttle::warn("readiness", "readiness: writes still fail", &e);
        return not_ready(e.outage().unwrap_or(Outage::DatabaseUnavailable));
    }
    match app.store.migrations_current().await {
        Ok(true) => json_status(StatusCode::OK, r#"{"status":"ready"}"#),
        Ok(false) => {
            tracing::warn!("readiness: migrations are not current; run `payrec migrate`");
            json_status(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"migrations_pending"}"#)
        }
        Err(e) => {
            crate::throttle::warn("readiness", "readiness: the database does not answer", &e);
            not_ready(Outage::DatabaseUnavailable)
        }
    }
}

fn not_ready(outage: Outage) -> Response {
    let body = match outage {
        Outage::DiskFull => r#"{"status":"disk_full"}"#,
        Outage::DatabaseUnavailable => r#"{"status":"database_unavailable"}"#,
    };
    json_status(StatusCode::SERVICE_UNAVAILABLE, body)
}

/// GET /metrics: Prometheus text format.
pub async fn metrics(State(app): State<AppState>) -> Response {
    let pool = app.store.pool_usage();
    crate::telemetry::record_pool(pool.connections, pool.idle);
    let body = crate::telemetry::handle().render();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
        .into_response()
}

/// A router serving only `GET /metrics`, for `--metrics-listen`.
pub fn metrics_app(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(state)
}

fn json_status(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A handler that panicked answers the opaque 500; the request middleware logs it.
fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal {
        cause: "a handler panicked".into(),
    }
    .into_response()
}

/// Reads every request's body before routing, within the body deadline and the size limit of
/// whoever reads it (the API's forms, or the dashboard's few KiB).
async fn bounded_body(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let dashboard = request.uri().path().starts_with(crate::dashboard::PREFIX);
    let limit_bytes = if dashboard {
        crate::dashboard::FORM_BYTES_MAX
    } else {
        crate::wire::form::REQUEST_BODY_BYTES_MAX
    };
    let refused = match crate::wire::body::buffer(request, limit_bytes, app.config.limits.body_read_timeout).await {
        Ok(request) => return next.run(request).await,
        Err(e) if dashboard => crate::dashboard::body_refused(&e),
        Err(e) => e.into_response(),
    };
    // The rest of the body was not read: the connection cannot serve another request, and
    // the client is told so before it tries.
    let mut refused = refused;
    refused
        .headers_mut()
        .insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
    refused
}

/// Answers 503 for a request not answered within the request deadline (its database did not
/// answer: a hung primary), instead of leaving the client waiting past its own timeout.
async fn deadline(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let limit = app.config.limits.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::DeadlineExceeded {
            seconds: limit.as_secs(),
        }
        .into_response(),
    }
}

/// HSTS for a server reached over https: a year, as browsers expect of a site that stays https.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

async fn strict_transport_security(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
    );
    response
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    crate::telemetry::handle();
    let mut router = crate::api::router()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(crate::openapi::serve));
    if state.config.metrics_on_api {
        router = router.route("/metrics", get(metrics));
    }
    if state.config.dashboard {
        router = router.merge(crate::dashboard::router());
    }
    if state.config.serves_https() {
        router = router.layer(axum::middleware::map_response(strict_transport_security));
    }
    router
        .route_layer(from_fn(remember_route))
        .fallback(unrecognized)
        .method_not_allowed_fallback(unrecognized)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        .layer(from_fn_with_state(state.clone(), deadline))
        .layer(from_fn_with_state(state.clone(), bounded_body))
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
    crate::server::serve(listener, app(state), &limits, shutdown).await
}
