//! Every background job runs under one supervisor that keeps its handle: a job that panics or
//! returns is logged with its name and started again, after a backoff; one that keeps failing
//! makes the server not ready (`/readyz` 503 naming it), rather than leaving a green server
//! that silently stopped delivering webhooks. The same failure class `essential.rs` closed
//! for the SQLite writer.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The first wait before a failed job starts again; it doubles at each failure in a row.
pub const RESTART_BACKOFF_FIRST: Duration = Duration::from_secs(1);
pub const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A job that has run this long without failing is well again: its backoff starts over and it
/// no longer makes the server not ready.
pub const HEALTHY_RUN: Duration = Duration::from_secs(60);
/// Failures within `FAILURE_WINDOW` that make the server not ready.
pub const FAILURES_BEFORE_NOT_READY: usize = 3;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(300);

/// A job's body, made afresh at each start.
pub type JobFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The process's jobs: which keep failing, and the faults a test injects.
#[derive(Debug, Default)]
pub struct Jobs {
    failing: Mutex<BTreeSet<&'static str>>,
    /// Per job: starts that will panic (a test's `inject_panics`).
    faults: Mutex<HashMap<&'static str, u32>>,
    /// Told when a fault is injected, so that a running job panics at once.
    fault: Notify,
}

impl Jobs {
    /// The jobs failing now, by name.
    pub fn failing(&self) -> Vec<&'static str> {
        self.failing.lock().expect("jobs lock").iter().copied().collect()
    }

    /// Test hook: job `name` panics now, and its next `starts - 1` starts panic at once too
    /// (`u32::MAX`: a job that cannot run).
    pub fn inject_panics(&self, name: &'static str, starts: u32) {
        self.faults.lock().expect("jobs lock").insert(name, starts);
        self.fault.notify_waiters();
    }

    /// Whether this start of `name` is to panic (using up one injected fault).
    fn take_fault(&self, name: &'static str) -> bool {
        let mut faults = self.faults.lock().expect("jobs lock");
        match faults.get_mut(name) {
            Some(0) | None => false,
            Some(n) => {
                *n = n.saturating_sub(1);
                true
            }
        }
    }

    fn set_failing(&self, name: &'static str, failing: bool) {
        let mut set = self.failing.lock().expect("jobs lock");
        if failing {
            set.insert(name);
        } else {
            set.remove(name);
        }
    }

    /// Runs `job` under supervision until the process exits.
    pub fn supervise(self: &Arc<Self>, name: &'static str, job: impl Fn() -> JobFuture + Send + Sync + 'static) {
        let jobs = self.clone();
        tokio::spawn(async move {
            let mut backoff = RESTART_BACKOFF_FIRST;
            let mut failures: VecDeque<Instant> = VecDeque::new();
            loop {
                let mut run = tokio::spawn(faulty(jobs.clone(), name, job()));
                let outcome = tokio::select! {
                    outcome = &mut run => outcome,
                    () = tokio::time::sleep(HEALTHY_RUN) => {
                        // Well again: its failures are forgotten.
                        (backoff, failures) = (RESTART_BACKOFF_FIRST, VecDeque::new());
                        jobs.set_failing(name, false);
                        run.await
                    }
                };
                let what = match &outcome {
                    Ok(()) => "returned",
                    Err(e) if e.is_panic() => "panicked",
                    Err(_) => "was cancelled",
                };
                crate::telemetry::record_job_restart(name);
                let now = Instant::now();
                failures.push_back(now);
                failures.retain(|at| now.duration_since(*at) <= FAILURE_WINDOW);
                let failing = failures.len() >= FAILURES_BEFORE_NOT_READY;
                jobs.set_failing(name, failing);
                tracing::error!(
                    job = name,
                    failures = failures.len(),
                    restart_in_ms = backoff.as_millis() as u64,
                    "background job {name} {what}; it starts again in {:.1} s{}",
                    backoff.as_secs_f64(),
                    if failing {
                        " (the server reports not ready until it runs)"
                    } else {
                        ""
                    }
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(RESTART_BACKOFF_MAX);
            }
        });
    }
}

/// `job`, which panics when a fault is injected for `name` (at its start, or while it runs).
async fn faulty(jobs: Arc<Jobs>, name: &'static str, job: JobFuture) {
    assert!(!jobs.take_fault(name), "a fault injected into {name}");
    let injected = async {
        loop {
            let told = jobs.fault.notified();
            if jobs.faults.lock().expect("jobs lock").get(name).is_some_and(|n| *n > 0) {
                return;
            }
            told.await;
        }
    };
    tokio::select! {
        () = job => {}
        () = injected => {
            jobs.take_fault(name);
            panic!("a fault injected into {name}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_job_that_keeps_panicking_is_restarted_with_backoff_and_marked_failing() {
        let jobs = Arc::new(Jobs::default());
        let starts = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = starts.clone();
        jobs.inject_panics("test_job", u32::MAX);
        jobs.supervise("test_job", move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(std::future::pending())
        });
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(jobs.failing(), vec!["test_job"]);
        // 1 s, 2 s, 4 s of backoff: four starts in ten seconds, not a busy loop.
        assert_eq!(starts.load(std::sync::atomic::Ordering::SeqCst), 4);
        jobs.inject_panics("test_job", 0);
        tokio::time::sleep(HEALTHY_RUN + Duration::from_secs(10)).await;
        assert!(jobs.failing().is_empty(), "well again once it runs");
    }
}
