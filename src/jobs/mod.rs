//! Background jobs: work the server does on its own schedule, never on a request's path. The
//! pruning of expired idempotency keys and events, the metrics' upkeep, the planner's
//! statistics, and webhook delivery (`delivery`). Each runs under the supervisor
//! (`supervisor`), which starts it again when it panics or returns.

use std::time::Duration;

use crate::state::AppState;

pub mod delivery;
pub mod supervisor;

/// How often events older than their retention are deleted.
pub const EVENT_PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// How often expired idempotency results are deleted.
pub const IDEMPOTENCY_PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);
/// How often the planner's statistics are checked (`Store::refresh_statistics`): often enough
/// that a table growing from empty at peak is re-planned within seconds.
pub const STATISTICS_CHECK_INTERVAL: Duration = Duration::from_secs(10);

/// How often recorded latencies are folded into the histograms. Until then each sample is kept
/// on its own: without this (and without scrapes of /metrics) memory grew by ~100 bytes per
/// request.
pub const METRICS_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Starts every job on the current runtime, under the supervisor.
pub fn spawn(app: &AppState) {
    let jobs = &app.jobs;
    let state = app.clone();
    jobs.supervise("idempotency_pruner", move || Box::pin(prune_idempotency(state.clone())));
    let state = app.clone();
    jobs.supervise("event_pruner", move || Box::pin(prune_events(state.clone())));
    jobs.supervise("metrics_upkeep", || Box::pin(metrics_upkeep()));
    let state = app.clone();
    jobs.supervise("statistics_keeper", move || Box::pin(keep_statistics(state.clone())));
    spawn_delivery(app);
}

/// Starts webhook delivery (unless `--no-webhook-delivery`) and its backlog metrics.
pub fn spawn_delivery(app: &AppState) {
    let store = app.store.clone();
    app.jobs.supervise("webhook_backlog", move || {
        Box::pin(delivery::backlog_metrics(store.clone()))
    });
    if app.config.webhooks.deliver {
        let state = app.clone();
        app.jobs
            .supervise(delivery::JOB, move || Box::pin(delivery::run(state.clone())));
    }
}

/// Deletes events past their retention (30 days) with their deliveries.
async fn prune_events(app: AppState) {
    let mut ticks = tokio::time::interval(EVENT_PRUNE_INTERVAL);
    loop {
        ticks.tick().await;
        let cutoff = crate::clock::unix_now() - crate::events::EVENT_RETENTION_SECS;
        match app.store.prune_events(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned expired events"),
            Err(e) => tracing::warn!(error = %e, "pruning events failed; will retry"),
        }
    }
}

/// Keeps the query planner's statistics current where the database does not.
async fn keep_statistics(app: AppState) {
    let mut ticks = tokio::time::interval(STATISTICS_CHECK_INTERVAL);
    loop {
        ticks.tick().await;
        match app.store.refresh_statistics().await {
            Ok(tables) if tables.is_empty() => {}
            Ok(tables) => tracing::debug!(tables = %tables.join(","), "analyzed tables"),
            Err(e) => tracing::warn!(error = %e, "analyzing tables failed; will retry"),
        }
    }
}

/// Folds recorded samples into the Prometheus histograms.
async fn metrics_upkeep() {
    let mut ticks = tokio::time::interval(METRICS_UPKEEP_INTERVAL);
    loop {
        ticks.tick().await;
        crate::telemetry::handle().run_upkeep();
    }
}

/// Deletes expired idempotent results; requests never wait for it.
async fn prune_idempotency(app: AppState) {
    let mut ticks = tokio::time::interval(IDEMPOTENCY_PRUNE_INTERVAL);
    loop {
        ticks.tick().await;
        let cutoff = crate::clock::unix_now() - app.config.idempotency_retention.as_secs() as i64;
        match app.store.prune_idempotent(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned expired idempotency keys"),
            Err(e) => tracing::warn!(error = %e, "pruning idempotency keys failed; will retry"),
        }
    }
}
