//! Background jobs: work the server does on its own schedule, never on a request's path.
//! Today the pruning of expired idempotency keys; webhook delivery joins it.

use std::time::Duration;

use crate::api::state::AppState;

/// How often expired idempotency results are deleted.
pub const IDEMPOTENCY_PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Starts every job on the current runtime.
pub fn spawn(app: &AppState) {
    spawn_idempotency_pruner(app.clone());
}

/// Deletes expired idempotent results; requests never wait for it.
fn spawn_idempotency_pruner(app: AppState) {
    tokio::spawn(async move {
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
    });
}
