//! Webhooks under load: a receiver in this process that acknowledges every delivery and counts
//! them, the endpoint that points payrec at it (`--webhook-endpoint`), and the `deliver`
//! scenario: report_payment at peak for the window, then the time until every event of the run
//! has been delivered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use tokio::runtime::Handle;

use super::args::{Args, Scenario};
use super::client::{Conn, Target, form};
use super::ids::RecordIds;
use super::load;
use super::server::Running;

/// Longest the `deliver` scenario waits for the queue to drain after the load.
const DRAIN_WAIT_MAX: Duration = Duration::from_secs(600);
/// The drain ends undrained when nothing arrives for this long while events are still
/// undelivered: the endpoint's backlog bound (`BACKLOG_PER_ENDPOINT_MAX`) dropped the rest.
const DRAIN_IDLE_MAX: Duration = Duration::from_secs(5);

/// The receiver: 200 to every POST, counted.
pub struct Sink {
    pub url: String,
    pub received: Arc<AtomicU64>,
    pub running: Running,
}

pub async fn start_sink(server: &Handle) -> Result<Sink, String> {
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let app = Router::new().route(
        "/hooks",
        post(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            async { "ok" }
        }),
    );
    let running = super::server::serve_router(server, app).await?;
    Ok(Sink {
        url: format!("http://{}/hooks", running.addr),
        received,
        running,
    })
}

/// An endpoint for every event type at `url`.
pub async fn create_endpoint(target: &Target, url: &str) -> Result<(), String> {
    let mut conn = Conn::new(target.clone());
    let reply = conn
        .post(
            "/v1/webhook_endpoints",
            form(&[("url", url), ("enabled_events[]", "*")]),
            None,
        )
        .await?;
    if !reply.is_success() {
        return Err(format!(
            "creating the webhook endpoint: {}",
            String::from_utf8_lossy(&reply.body)
        ));
    }
    Ok(())
}

/// Whether some event of the tenant still has a delivery outstanding.
async fn outstanding(target: &Target) -> Result<bool, String> {
    let reply = Conn::new(target.clone())
        .get("/v1/events?delivery_success=false&limit=1")
        .await?;
    Ok(!String::from_utf8_lossy(&reply.body).contains("\"data\":[]"))
}

/// What the `deliver` scenario measured.
#[derive(Debug, serde::Serialize)]
pub struct Delivered {
    pub reports_per_second: f64,
    pub events_delivered: u64,
    pub delivered_during_load: u64,
    pub load_seconds: f64,
    pub drain_seconds: f64,
    pub events_per_second: f64,
    /// Every event was delivered (false: the backlog outgrew its bound and deliveries were
    /// dropped, so the load was more than delivery keeps up with).
    pub drained: bool,
}

/// report-nokey at peak (or at `--rate`) for the window, then until every event is delivered.
pub async fn deliver(args: &Args, target: &Target, ids: &Arc<RecordIds>, sink: &Sink) -> Result<Delivered, String> {
    let before = sink.received.load(Ordering::Relaxed);
    let started = Instant::now();
    let load = load::run(Scenario::ReportNokey, target, ids, args, true).await?;
    let load_seconds = started.elapsed().as_secs_f64();
    let during = sink.received.load(Ordering::Relaxed) - before;
    let drain_started = Instant::now();
    let (mut last_count, mut last_change) = (sink.received.load(Ordering::Relaxed), Instant::now());
    let mut drained = true;
    while outstanding(target).await? {
        if drain_started.elapsed() > DRAIN_WAIT_MAX {
            return Err("the delivery queue did not drain".into());
        }
        let count = sink.received.load(Ordering::Relaxed);
        if count != last_count {
            (last_count, last_change) = (count, Instant::now());
        } else if last_change.elapsed() > DRAIN_IDLE_MAX {
            drained = false;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total_seconds = started.elapsed().as_secs_f64();
    let delivered = sink.received.load(Ordering::Relaxed) - before;
    Ok(Delivered {
        reports_per_second: load.throughput_rps,
        events_delivered: delivered,
        delivered_during_load: during,
        load_seconds,
        drain_seconds: drain_started.elapsed().as_secs_f64(),
        events_per_second: delivered as f64 / total_seconds,
        drained,
    })
}
