//! The webhook delivery worker. Deliveries are rows written with their events (a transactional
//! outbox); this worker leases the due ones, endpoint by endpoint, attempts them (`sender`),
//! and writes each result back: acknowledged, due again later (Stripe's schedules, with
//! jitter), or given up. Bounds: `concurrency` attempts in flight in all, and at most
//! `connections_per_endpoint` to one endpoint, so a slow or dead endpoint holds its own slots
//! and never another's. Leases outlive the timeout by `LEASE_MARGIN`: a worker that dies leaves
//! its deliveries to come due again (PostgreSQL replicas share the queue; SQLite releases them
//! at start).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::mpsc;

use crate::api::state::{AppState, WebhookConfig};
use crate::store::{Claim, ClaimedDelivery, DeliveryNext, FinishedDelivery, Store};

pub mod sender;

use sender::{Attempted, Sender};

/// How often the queue is looked at when nothing woke the worker (retries come due, other
/// replicas queue deliveries).
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// A lease runs this much longer than an attempt may take.
pub const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How often the backlog metrics are refreshed.
pub const BACKLOG_INTERVAL: Duration = Duration::from_secs(5);
/// How long the worker waits after the store failed before it tries again.
pub const STORE_RETRY_DELAY: Duration = Duration::from_secs(1);

fn now_ms() -> i64 {
    crate::clock::unix_now_millis() as i64
}

/// An attempt that has finished, waiting to be written back.
struct Done {
    endpoint_id: String,
    finished: FinishedDelivery,
}

struct Worker {
    store: Arc<dyn Store>,
    config: WebhookConfig,
    sender: Sender,
    /// This process, as the holder of leases.
    owner: String,
    /// Attempts in flight, by endpoint.
    in_flight: HashMap<String, usize>,
    total: usize,
    done_tx: mpsc::UnboundedSender<Done>,
}

/// Starts the worker (unless `--no-webhook-delivery`) and the backlog metrics.
pub fn spawn(app: &AppState) {
    spawn_backlog_metrics(app.store.clone());
    if !app.config.webhooks.deliver {
        return;
    }
    let config = app.config.webhooks.clone();
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let worker = Worker {
        store: app.store.clone(),
        sender: Sender::new(
            config.destinations.clone(),
            config.timeout,
            config.connections_per_endpoint,
        ),
        config,
        owner: format!("payrec-{}", crate::base62::random_base62(16)),
        in_flight: HashMap::new(),
        total: 0,
        done_tx,
    };
    tokio::spawn(worker.run(done_rx));
}

impl Worker {
    async fn run(mut self, mut done_rx: mpsc::UnboundedReceiver<Done>) {
        match self.store.release_dead_leases().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deliveries = n, "deliveries leased by a process that died are due again"),
            Err(e) => {
                tracing::warn!(error = %e, "could not release the leases of a dead process; they run out by themselves")
            }
        }
        let queued = self.store.deliveries_queued();
        let mut done = Vec::new();
        loop {
            while let Ok(d) = done_rx.try_recv() {
                done.push(d);
            }
            if !done.is_empty() && !self.write_back(&mut done).await {
                tokio::time::sleep(STORE_RETRY_DELAY).await;
                continue;
            }
            if self.total < self.config.concurrency && !self.claim_due().await {
                tokio::time::sleep(STORE_RETRY_DELAY).await;
            }
            tokio::select! {
                () = queued.notified() => {}
                Some(d) = done_rx.recv() => done.push(d),
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }

    /// Writes finished attempts back, then frees their slots; false when the store failed (they
    /// are kept and written on the next turn: until then their leases keep them from others).
    async fn write_back(&mut self, done: &mut Vec<Done>) -> bool {
        let finished = done.iter().map(|d| d.finished.clone()).collect();
        if let Err(e) = self.store.finish_deliveries(finished).await {
            crate::throttle::warn(
                "webhook_finish",
                "could not record webhook delivery results; will retry",
                &e,
            );
            return false;
        }
        for d in done.drain(..) {
            self.total -= 1;
            if let Some(n) = self.in_flight.get_mut(&d.endpoint_id) {
                *n -= 1;
                if *n == 0 {
                    self.in_flight.remove(&d.endpoint_id);
                }
            }
        }
        true
    }

    /// Leases due deliveries of every endpoint with free slots and starts their attempts; false
    /// when the store failed.
    async fn claim_due(&mut self) -> bool {
        let now = now_ms();
        let due = match self.store.due_endpoints(now).await {
            Ok(due) => due,
            Err(e) => {
                crate::throttle::warn("webhook_claim", "could not read the webhook delivery queue", &e);
                return false;
            }
        };
        let lease = self.config.timeout + LEASE_MARGIN;
        for endpoint_id in due {
            let busy = self.in_flight.get(&endpoint_id).copied().unwrap_or(0);
            let free = self
                .config
                .connections_per_endpoint
                .saturating_sub(busy)
                .min(self.config.concurrency - self.total);
            if free == 0 {
                continue;
            }
            let claim = Claim {
                owner: self.owner.clone(),
                endpoint_id: endpoint_id.clone(),
                limit: free,
                now_ms: now,
                lease_until_ms: now + lease.as_millis() as i64,
            };
            let claimed = match self.store.claim_deliveries(claim).await {
                Ok(claimed) => claimed,
                Err(e) => {
                    crate::throttle::warn("webhook_claim", "could not lease webhook deliveries", &e);
                    return false;
                }
            };
            for delivery in claimed {
                *self.in_flight.entry(endpoint_id.clone()).or_default() += 1;
                self.total += 1;
                self.start(delivery);
            }
            if self.total >= self.config.concurrency {
                break;
            }
        }
        true
    }

    fn start(&self, delivery: ClaimedDelivery) {
        let sender = self.sender.clone();
        let owner = self.owner.clone();
        let schedule = self.config.schedule.clone();
        let done = self.done_tx.clone();
        tokio::spawn(async move {
            let attempted_at_ms = now_ms();
            let attempted = sender.attempt(&delivery).await;
            let next = next_step(&delivery, &attempted, &schedule);
            log_attempt(&delivery, &attempted, &next);
            let finished = FinishedDelivery {
                seq: delivery.seq,
                owner,
                next,
                attempted_at_ms,
                status: attempted.status,
                error: attempted.failure.map(|f| f.as_str().to_owned()),
                latency_ms: attempted.latency.as_millis() as i64,
            };
            let _ = done.send(Done {
                endpoint_id: delivery.endpoint_id,
                finished,
            });
        });
    }
}

/// Acknowledged, due again after the schedule's next delay, or given up.
fn next_step(
    delivery: &ClaimedDelivery,
    attempted: &Attempted,
    schedule: &crate::events::schedule::RetrySchedule,
) -> DeliveryNext {
    if attempted.acknowledged {
        return DeliveryNext::Succeeded;
    }
    let jitter = rand::rng().random_range(-1.0..=1.0);
    match schedule.next_delay(delivery.tenant.livemode, delivery.attempts + 1, jitter) {
        Some(delay) => DeliveryNext::RetryAt(now_ms() + delay.as_millis() as i64),
        None => DeliveryNext::GaveUp,
    }
}

/// One line per attempt: never the secret, nor the body.
fn log_attempt(delivery: &ClaimedDelivery, attempted: &Attempted, next: &DeliveryNext) {
    let result = match next {
        DeliveryNext::Succeeded => "succeeded",
        DeliveryNext::RetryAt(_) => "failed",
        DeliveryNext::GaveUp => "gave_up",
    };
    crate::telemetry::record_delivery(result, delivery.attempts > 0, attempted.latency);
    let latency_ms = attempted.latency.as_millis() as u64;
    let status = attempted.status.map(i64::from).unwrap_or(-1);
    let attempt = delivery.attempts + 1;
    match next {
        DeliveryNext::Succeeded => tracing::info!(
            event = %delivery.event_id, endpoint = %delivery.endpoint_id, status, latency_ms, attempt, result,
            "webhook delivered"
        ),
        DeliveryNext::RetryAt(at) => tracing::warn!(
            event = %delivery.event_id, endpoint = %delivery.endpoint_id, status, latency_ms, attempt, result,
            retry_in_ms = at - now_ms(), error = attempted.detail.as_deref().unwrap_or(""),
            "webhook delivery failed; will retry"
        ),
        DeliveryNext::GaveUp => tracing::warn!(
            event = %delivery.event_id, endpoint = %delivery.endpoint_id, status, latency_ms, attempt, result,
            error = attempted.detail.as_deref().unwrap_or(""),
            "webhook delivery failed; retries exhausted"
        ),
    }
}

/// Refreshes the queue-depth and oldest-pending gauges.
fn spawn_backlog_metrics(store: Arc<dyn Store>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(BACKLOG_INTERVAL);
        loop {
            ticks.tick().await;
            match store.delivery_backlog().await {
                Ok(backlog) => {
                    let age = backlog.oldest_created.map_or(0, |c| crate::clock::unix_now() - c);
                    crate::telemetry::record_delivery_backlog(backlog.pending, age);
                }
                Err(e) => crate::throttle::warn("webhook_backlog", "could not read the webhook backlog", &e),
            }
        }
    });
}
