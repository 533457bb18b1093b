//! The webhook delivery worker. Deliveries are rows written with their events (a transactional
//! outbox); this worker leases the due ones, endpoint by endpoint, attempts them (`sender`),
//! and writes each result back: acknowledged, due again later (Stripe's schedules, with
//! jitter), or given up. Bounds (`slots`): `concurrency` attempts in flight in all, at most
//! `connections_per_endpoint` to one endpoint and `connections_per_account` to one account's
//! endpoints, so a slow or dead endpoint (or an account's many) holds its own slots and never
//! another account's. An endpoint that keeps failing is paused, one failing for days disabled
//! (`events::health`). Leases outlive the timeout by `LEASE_MARGIN`: a worker that dies leaves
//! its deliveries to come due again (PostgreSQL replicas share the queue; SQLite releases them
//! at start).

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::mpsc;

use crate::events::EndpointCommand;
use crate::events::render::EventRequest;
use crate::state::{AppState, WebhookConfig};
use crate::store::{
    Claim, ClaimedDelivery, DeliveryNext, FailingEndpoint, FinishedDelivery, Store, TypedWrites, Write,
};

pub mod sender;
mod slots;

use sender::{Attempted, Sender};
use slots::Slots;

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
    account_id: String,
    finished: FinishedDelivery,
}

struct Worker {
    store: Arc<dyn Store>,
    config: WebhookConfig,
    sender: Sender,
    /// This process, as the holder of leases.
    owner: String,
    /// Attempts in flight.
    slots: Slots,
    done_tx: mpsc::UnboundedSender<Done>,
}

/// The delivery worker's name as a job.
pub const JOB: &str = "webhook_delivery";

/// The delivery worker, until it fails (its supervisor starts it again).
pub async fn run(app: AppState) {
    let config = app.config.webhooks.clone();
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let worker = Worker {
        store: app.store.clone(),
        sender: Sender::new(
            config.destinations.clone(),
            config.timeout,
            config.connections_per_endpoint,
        ),
        owner: format!("payrec-{}", crate::base62::random_base62(16)),
        slots: Slots::new(
            config.concurrency,
            config.connections_per_endpoint,
            config.connections_per_account,
        ),
        config,
        done_tx,
    };
    worker.run(done_rx).await
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
        let mut backlogs_checked = tokio::time::Instant::now();
        loop {
            if backlogs_checked.elapsed() >= self.config.backlog_check_interval {
                backlogs_checked = tokio::time::Instant::now();
                self.cap_backlogs().await;
            }
            while let Ok(d) = done_rx.try_recv() {
                done.push(d);
            }
            if !done.is_empty() && !self.write_back(&mut done).await {
                tokio::time::sleep(STORE_RETRY_DELAY).await;
                continue;
            }
            if !self.slots.full() && !self.claim_due().await {
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
        let failing = match self.store.finish_deliveries(finished).await {
            Ok(failing) => failing,
            Err(e) => {
                crate::throttle::warn(
                    "webhook_finish",
                    "could not record webhook delivery results; will retry",
                    &e,
                );
                return false;
            }
        };
        for d in done.drain(..) {
            self.slots.release(&d.finished.endpoint_id, &d.account_id);
        }
        for endpoint in failing {
            self.disable(endpoint).await;
        }
        true
    }

    /// Gives up each endpoint's oldest pending deliveries past its bound (their events stay
    /// listable with `delivery_success=false`).
    async fn cap_backlogs(&self) {
        match self.store.cap_backlogs(self.config.backlog_per_endpoint).await {
            Ok(0) => {}
            Ok(n) => {
                crate::telemetry::record_backlog_dropped(n);
                tracing::warn!(
                    deliveries = n,
                    max = self.config.backlog_per_endpoint,
                    "gave up the oldest webhook deliveries of endpoints past their backlog bound"
                );
            }
            Err(e) => crate::throttle::warn("webhook_backlog_cap", "could not cut webhook backlogs back", &e),
        }
    }

    /// Disables an endpoint that has failed for days, with the event that says so (a failure
    /// is logged; the next failed attempt asks again).
    async fn disable(&self, failing: FailingEndpoint) {
        let write = Write {
            tenant: failing.tenant,
            mutation: EndpointCommand::DisableFailing {
                id: failing.endpoint_id.clone(),
            },
            idempotency: None,
            request: EventRequest {
                request_id: None,
                idempotency_key: None,
            },
            now: crate::clock::unix_now(),
        };
        match self.store.write(write).await {
            Ok(_) => tracing::warn!(
                endpoint = %failing.endpoint_id,
                "webhook endpoint disabled: its deliveries have failed for {} days",
                crate::events::health::DISABLE_AFTER_MS / 86_400_000
            ),
            Err(e) => crate::throttle::warn("webhook_disable", "could not disable a failing webhook endpoint", &e),
        }
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
        for endpoint in due {
            let free = self.slots.free(&endpoint.id, &endpoint.account_id);
            if free == 0 {
                continue;
            }
            let claim = Claim {
                owner: self.owner.clone(),
                endpoint_id: endpoint.id.clone(),
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
                self.slots.take(&endpoint.id, &endpoint.account_id);
                self.start(delivery);
            }
            if self.slots.full() {
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
                endpoint_id: delivery.endpoint_id,
                next,
                attempted_at_ms,
                status: attempted.status,
                error: attempted.failure.map(|f| f.as_str().to_owned()),
                latency_ms: attempted.latency.as_millis() as i64,
            };
            let _ = done.send(Done {
                account_id: delivery.tenant.account_id,
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
pub async fn backlog_metrics(store: Arc<dyn Store>) {
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
}
