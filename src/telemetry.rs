//! Prometheus metrics. Labels are routes, methods, statuses, error codes and outcomes: never an
//! account id or a key.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{LazyLock, OnceLock, RwLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds, from 100 µs to 10 s.
const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS_SECONDS)
            .expect("buckets are non-empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (e.g. by an embedding program); then
        // payrec's metrics go there and this handle renders nothing of them.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only its own");
        }
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_counter!(
        "payrec_http_requests_total",
        "HTTP requests by route, method and status"
    );
    metrics::describe_histogram!("payrec_http_request_duration_seconds", "HTTP request latency by route");
    metrics::describe_histogram!(
        "payrec_db_write_duration_seconds",
        "Write transaction latency (queue + commit)"
    );
    metrics::describe_histogram!(
        "payrec_db_group_writes",
        "Writes committed together in one transaction (PostgreSQL's group commit)"
    );
    metrics::describe_counter!(
        "payrec_db_group_reruns_total",
        "Writes run again on their own after their group's statement failed on one write's rows"
    );
    metrics::describe_gauge!("payrec_db_pool_connections", "Connections in the database pool");
    metrics::describe_gauge!(
        "payrec_db_pool_idle_connections",
        "Idle connections in the database pool"
    );
    metrics::describe_counter!(
        "payrec_idempotent_replays_total",
        "Requests answered from a saved idempotent result"
    );
    metrics::describe_counter!(
        "payrec_idempotency_conflicts_total",
        "409 idempotency_key_in_use answers"
    );
    metrics::describe_counter!("payrec_lifecycle_transitions_total", "Executed report calls by outcome");
    metrics::describe_counter!("payrec_errors_total", "Error responses by Stripe error code (or type)");
    metrics::describe_counter!(
        "payrec_webhook_deliveries_total",
        "Webhook delivery attempts by result (succeeded, failed, gave_up)"
    );
    metrics::describe_counter!(
        "payrec_webhook_retries_total",
        "Webhook delivery attempts after the first"
    );
    metrics::describe_histogram!(
        "payrec_webhook_delivery_duration_seconds",
        "Webhook delivery attempt latency"
    );
    metrics::describe_gauge!(
        "payrec_webhook_queue_depth",
        "Webhook deliveries pending (due or waiting for a retry)"
    );
    metrics::describe_gauge!(
        "payrec_webhook_oldest_pending_seconds",
        "Age of the event of the oldest pending webhook delivery"
    );
}

/// `result`: succeeded, failed (to be retried) or gave_up (retries exhausted).
pub fn record_delivery(result: &'static str, retry: bool, latency: Duration) {
    metrics::counter!("payrec_webhook_deliveries_total", "result" => result).increment(1);
    if retry {
        metrics::counter!("payrec_webhook_retries_total").increment(1);
    }
    metrics::histogram!("payrec_webhook_delivery_duration_seconds").record(latency.as_secs_f64());
}

/// A PostgreSQL primary serves `host` (after `previous`; a failover when another host than
/// before), after `without` with no writable primary.
pub fn record_primary(host: &str, previous: Option<&str>, failover: bool, without: Duration) {
    if let Some(previous) = previous {
        metrics::gauge!("payrec_db_primary", "host" => previous.to_owned()).set(0.0);
    }
    metrics::gauge!("payrec_db_primary", "host" => host.to_owned()).set(1.0);
    if failover {
        metrics::counter!("payrec_db_failovers_total").increment(1);
    }
    metrics::histogram!("payrec_db_without_primary_duration_seconds").record(without.as_secs_f64());
}

/// No host of the PostgreSQL URL is writable any more (`host` was).
pub fn record_primary_lost(host: &str) {
    metrics::gauge!("payrec_db_primary", "host" => host.to_owned()).set(0.0);
}

/// A background job failed and is started again.
pub fn record_job_restart(job: &'static str) {
    metrics::counter!("payrec_job_restarts_total", "job" => job).increment(1);
}

/// Deliveries given up because their endpoint's backlog was past its bound.
pub fn record_backlog_dropped(n: u64) {
    metrics::counter!("payrec_webhook_deliveries_total", "result" => "dropped").increment(n);
}

pub fn record_delivery_backlog(pending: u64, oldest_age_seconds: i64) {
    metrics::gauge!("payrec_webhook_queue_depth").set(pending as f64);
    metrics::gauge!("payrec_webhook_oldest_pending_seconds").set(oldest_age_seconds.max(0) as f64);
}

/// The counter and histogram of one (route, method, status), registered once: building their
/// labels and finding them in the registry on every request was 4% of a retrieve (issue 18).
struct RequestMetrics {
    route: Box<str>,
    method: Box<str>,
    status: u16,
    requests: metrics::Counter,
    latency: metrics::Histogram,
}

/// Label sets remembered at most; past it (many unknown methods, say) requests still count,
/// through the registry.
const REQUEST_METRICS_MAX: usize = 1024;

static REQUEST_METRICS: LazyLock<RwLock<HashMap<u64, Vec<RequestMetrics>>>> = LazyLock::new(Default::default);

fn register_request(route: &str, method: &str, status: u16) -> (metrics::Counter, metrics::Histogram) {
    let labels = [
        ("route", route.to_owned()),
        ("method", method.to_owned()),
        ("status", status.to_string()),
    ];
    (
        metrics::counter!("payrec_http_requests_total", &labels),
        metrics::histogram!("payrec_http_request_duration_seconds", "route" => route.to_owned()),
    )
}

/// The method as a metric label: the standard ones by name, any other as `other` (a client may
/// send any token as a method, and each would be a new series).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::PATCH,
        Method::CONNECT,
        Method::TRACE,
    ];
    STANDARD.iter().find(|m| *m == method).map_or("other", |m| m.as_str())
}

/// `route` is the matched route's pattern or `unmatched`, `method` a `method_label`: the label
/// sets are bounded by the routes the server has.
pub fn record_request(route: &str, method: &'static str, status: u16, latency: Duration) {
    let hash = {
        let mut h = std::hash::DefaultHasher::new();
        (route, method, status).hash(&mut h);
        h.finish()
    };
    let same = |m: &&RequestMetrics| &*m.route == route && &*m.method == method && m.status == status;
    {
        let known = REQUEST_METRICS.read().expect("request metrics lock");
        if let Some(m) = known.get(&hash).and_then(|ms| ms.iter().find(same)) {
            m.requests.increment(1);
            m.latency.record(latency.as_secs_f64());
            return;
        }
    }
    let (requests, histogram) = register_request(route, method, status);
    requests.increment(1);
    histogram.record(latency.as_secs_f64());
    let mut known = REQUEST_METRICS.write().expect("request metrics lock");
    if known.len() < REQUEST_METRICS_MAX && !known.get(&hash).is_some_and(|ms| ms.iter().any(|m| same(&m))) {
        known.entry(hash).or_default().push(RequestMetrics {
            route: route.into(),
            method: method.into(),
            status,
            requests,
            latency: histogram,
        });
    }
}

pub fn record_error(code: &str) {
    metrics::counter!("payrec_errors_total", "code" => code.to_owned()).increment(1);
}

pub fn record_db_write(latency: Duration) {
    metrics::histogram!("payrec_db_write_duration_seconds").record(latency.as_secs_f64());
}

pub fn record_group_commit(writes: usize) {
    metrics::histogram!("payrec_db_group_writes").record(writes as f64);
}

pub fn record_group_rerun() {
    metrics::counter!("payrec_db_group_reruns_total").increment(1);
}

pub fn record_pool(connections: u32, idle: u32) {
    metrics::gauge!("payrec_db_pool_connections").set(f64::from(connections));
    metrics::gauge!("payrec_db_pool_idle_connections").set(f64::from(idle));
}

pub fn record_replay() {
    metrics::counter!("payrec_idempotent_replays_total").increment(1);
}

pub fn record_conflict() {
    metrics::counter!("payrec_idempotency_conflicts_total").increment(1);
}

/// `outcome`: guaranteed, failed, canceled, refunded (or reported / attempted when pending).
pub fn record_transition(outcome: &'static str) {
    metrics::counter!("payrec_lifecycle_transitions_total", "outcome" => outcome).increment(1);
}
