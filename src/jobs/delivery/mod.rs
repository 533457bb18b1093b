//! The webhook delivery worker. Deliveries are rows written with their events (a transactional
//! outbox); this worker leases the due ones, endpoint by endpoint, attempts them (`sender`),
//! and writes each result back: acknowledged, due again later (Stripe's schedules, with
//! jitter), or given up. Bounds (`slots`): `concurrency` lanes (connections sending) in all, at
//! most `connections_per_endpoint` to one endpoint and `connections_per_account` to one
//! account's endpoints, so a slow or dead endpoint (or an account's many) holds its own slots
//! and never another account's. A lane sends its endpoint's deliveries one after another from
//! those leased ahead for it (`ahead`), while the worker writes results back and leases more.
//! An endpoint that keeps failing is paused, one failing for days disabled (`events::health`).
//! A lease covers the attempt (the timeout) plus `LEASE_MARGIN`, and for a delivery leased
//! ahead the rounds of a fast endpoint's lanes before it: a worker that dies leaves its
//! deliveries to come due again (PostgreSQL replicas share the queue; SQLite releases them at
//! start).

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::mpsc;

use crate::events::EndpointCommand;
use crate::state::{AppState, WebhookConfig};
use crate::store::{
    Claim, ClaimedDelivery, DeliveryNext, FailingEndpoint, FinishedDelivery, Released, Store, TypedWrites, Write,
};

mod ahead;
pub mod sender;
mod slots;

use ahead::{Ahead, Bounds, FAST_ANSWER, LEASED_AHEAD_PER_CONNECTION, Leased};
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

/// What a lane tells the worker.
enum Report {
    /// An attempt finished: its result, to be written back.
    Finished(FinishedDelivery),
    /// The lane found nothing more to send: its slot is free.
    Ended { endpoint_id: String, account_id: String },
    /// Leased deliveries it will not send (its endpoint halted, or their leases ran short).
    Unsent(Vec<i64>),
}

struct Worker {
    store: Arc<dyn Store>,
    config: WebhookConfig,
    sender: Sender,
    /// This process, as the holder of leases.
    owner: String,
    /// Lanes sending.
    slots: Slots,
    /// Deliveries leased, waiting for a lane.
    ahead: Arc<std::sync::Mutex<Ahead>>,
    /// Leased deliveries not to be sent, to give back.
    unsent: Vec<i64>,
    reports: mpsc::UnboundedSender<Report>,
}

/// The delivery worker's name as a job.
pub const JOB: &str = "webhook_delivery";

/// The delivery worker, until it fails (its supervisor starts it again).
pub async fn run(app: AppState) {
    let config = app.config.webhooks.clone();
    let (reports, reports_rx) = mpsc::unbounded_channel();
    let ahead = Ahead::new(Bounds {
        per_endpoint: config.connections_per_endpoint * LEASED_AHEAD_PER_CONNECTION,
        per_account: config.connections_per_account * LEASED_AHEAD_PER_CONNECTION,
        total: config.concurrency * LEASED_AHEAD_PER_CONNECTION,
    });
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
        ahead: Arc::new(std::sync::Mutex::new(ahead)),
        unsent: Vec::new(),
        config,
        reports,
    };
    worker.run(reports_rx).await
}

impl Worker {
    async fn run(mut self, mut reports: mpsc::UnboundedReceiver<Report>) {
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
            while let Ok(report) = reports.try_recv() {
                self.receive(report, &mut done);
            }
            if !done.is_empty() && !self.write_back(&mut done).await {
                tokio::time::sleep(STORE_RETRY_DELAY).await;
                continue;
            }
            if !self.unsent.is_empty() {
                self.give_back().await;
            }
            if !self.claim_due().await {
                tokio::time::sleep(STORE_RETRY_DELAY).await;
            }
            tokio::select! {
                () = queued.notified() => {}
                Some(report) = reports.recv() => self.receive(report, &mut done),
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }

    /// A finished attempt is kept to be written back; an ended lane frees its slot, which goes
    /// at once to the deliveries still waiting for its endpoint, if any.
    fn receive(&mut self, report: Report, done: &mut Vec<FinishedDelivery>) {
        match report {
            Report::Finished(finished) => done.push(finished),
            Report::Ended {
                endpoint_id,
                account_id,
            } => {
                self.slots.release(&endpoint_id, &account_id);
                self.start_lanes(&endpoint_id, &account_id);
            }
            Report::Unsent(seqs) => self.unsent.extend(seqs),
        }
    }

    /// Releases the leases of deliveries that will not be sent from here: due at once for
    /// whoever leases them next (after their endpoint's pause, if the failure paused it).
    async fn give_back(&mut self) {
        let released = Released {
            owner: self.owner.clone(),
            seqs: std::mem::take(&mut self.unsent),
            now_ms: now_ms(),
        };
        if let Err(e) = self.store.release_deliveries(released).await {
            // Their leases run out by themselves.
            crate::throttle::warn("webhook_release", "could not give leased webhook deliveries back", &e);
        }
    }

    /// Writes finished attempts back; false when the store failed (they are kept and written
    /// on the next turn: until then their leases keep them from others).
    async fn write_back(&mut self, done: &mut Vec<FinishedDelivery>) -> bool {
        let finished = done.clone();
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
        {
            let mut ahead = self.ahead();
            for d in done.drain(..) {
                if d.next != DeliveryNext::Succeeded {
                    ahead.resume(&d.endpoint_id);
                }
            }
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
        let mutation = EndpointCommand::DisableFailing {
            id: failing.endpoint_id.clone(),
        };
        let write = Write::without_request(failing.tenant, mutation);
        match self.store.write(write).await {
            Ok(_) => tracing::warn!(
                endpoint = %failing.endpoint_id,
                "webhook endpoint disabled: its deliveries have failed for {} days",
                crate::events::health::DISABLE_AFTER_MS / 86_400_000
            ),
            Err(e) => crate::throttle::warn("webhook_disable", "could not disable a failing webhook endpoint", &e),
        }
    }

    /// Leases due deliveries of every endpoint with room for them and starts lanes for them;
    /// false when the store failed.
    async fn claim_due(&mut self) -> bool {
        let now = now_ms();
        let due = match self.store.due_endpoints(now).await {
            Ok(due) => due,
            Err(e) => {
                crate::throttle::warn("webhook_claim", "could not read the webhook delivery queue", &e);
                return false;
            }
        };
        for endpoint in due {
            let free = self.slots.free(&endpoint.id, &endpoint.account_id);
            let (room, waiting) = {
                let ahead = self.ahead();
                (
                    ahead.room(&endpoint.id, &endpoint.account_id, free),
                    ahead.waiting(&endpoint.id),
                )
            };
            if room.total() == 0 {
                continue;
            }
            // A delivery leased ahead waits for the fast answers to those before it.
            let rounds = match room.ahead {
                0 => 0,
                ahead => (waiting + ahead).div_ceil(self.config.connections_per_endpoint) as u32,
            };
            let lease = self.config.timeout + LEASE_MARGIN + FAST_ANSWER * rounds;
            let lease_until_ms = now + lease.as_millis() as i64;
            let claim = Claim {
                owner: self.owner.clone(),
                endpoint_id: endpoint.id.clone(),
                limit: room.total(),
                now_ms: now,
                lease_until_ms,
            };
            let claimed = match self.store.claim_deliveries(claim).await {
                Ok(claimed) => claimed,
                Err(e) => {
                    crate::throttle::warn("webhook_claim", "could not lease webhook deliveries", &e);
                    return false;
                }
            };
            let leased = claimed
                .into_iter()
                .map(|delivery| Leased {
                    delivery,
                    lease_until_ms,
                })
                .collect();
            let halted_meanwhile = self.ahead().push(&endpoint.id, &endpoint.account_id, leased);
            self.unsent.extend(halted_meanwhile);
            self.start_lanes(&endpoint.id, &endpoint.account_id);
        }
        true
    }

    fn ahead(&self) -> std::sync::MutexGuard<'_, Ahead> {
        lock(&self.ahead)
    }

    /// Starts a lane on each free slot of `endpoint` while deliveries wait for one.
    fn start_lanes(&mut self, endpoint_id: &str, account_id: &str) {
        let waiting = self.ahead().waiting(endpoint_id);
        let lanes = waiting.min(self.slots.free(endpoint_id, account_id));
        for _ in 0..lanes {
            self.slots.take(endpoint_id, account_id);
            let lane = Lane {
                sender: self.sender.clone(),
                owner: self.owner.clone(),
                schedule: self.config.schedule.clone(),
                attempt_for: self.config.timeout + LEASE_MARGIN / 2,
                ahead: self.ahead.clone(),
                reports: self.reports.clone(),
            };
            tokio::spawn(lane.run(endpoint_id.to_owned(), account_id.to_owned()));
        }
    }
}

fn lock(ahead: &std::sync::Mutex<Ahead>) -> std::sync::MutexGuard<'_, Ahead> {
    // Nothing panics while holding it; were it poisoned, the queue is still consistent.
    ahead.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One connection's worth of sending to one endpoint.
struct Lane {
    sender: Sender,
    owner: String,
    schedule: crate::events::schedule::RetrySchedule,
    /// What an attempt needs left of its lease: the timeout, and half the margin (the other
    /// half went by between the lease and the start of the lane's first attempt, at most).
    attempt_for: Duration,
    ahead: Arc<std::sync::Mutex<Ahead>>,
    reports: mpsc::UnboundedSender<Report>,
}

impl Lane {
    /// Sends the endpoint's waiting deliveries one after another until none is left or one
    /// fails (which halts the endpoint), then gives its slot back.
    async fn run(self, endpoint_id: String, account_id: String) {
        loop {
            let needed_until_ms = now_ms() + self.attempt_for.as_millis() as i64;
            let (next, expired) = lock(&self.ahead).next(&endpoint_id, needed_until_ms);
            if !expired.is_empty() {
                let _ = self.reports.send(Report::Unsent(expired));
            }
            let Some(delivery) = next else { break };
            let finished = self.attempt(delivery).await;
            if finished.next == DeliveryNext::Succeeded {
                let latency = Duration::from_millis(finished.latency_ms as u64);
                lock(&self.ahead).answered(&endpoint_id, latency);
                let _ = self.reports.send(Report::Finished(finished));
            } else {
                // The failure first: given back after it, what waited is due after its pause.
                let unsent = lock(&self.ahead).halt(&endpoint_id, &account_id);
                let _ = self.reports.send(Report::Finished(finished));
                let _ = self.reports.send(Report::Unsent(unsent));
                break;
            }
        }
        let _ = self.reports.send(Report::Ended {
            endpoint_id,
            account_id,
        });
    }

    async fn attempt(&self, delivery: ClaimedDelivery) -> FinishedDelivery {
        let attempted_at_ms = now_ms();
        let attempted = self.sender.attempt(&delivery).await;
        let next = next_step(&delivery, &attempted, &self.schedule);
        log_attempt(&delivery, &attempted, &next);
        FinishedDelivery {
            seq: delivery.seq,
            owner: self.owner.clone(),
            endpoint_id: delivery.endpoint_id,
            next,
            attempted_at_ms,
            status: attempted.status,
            error: attempted.failure.map(|f| f.as_str().to_owned()),
            latency_ms: attempted.latency.as_millis() as i64,
        }
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
