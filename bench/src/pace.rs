//! Fixed-rate load (`--rate N`): request i of the run is due at `start + i / N`, whichever
//! worker sends it. A request's latency runs from when it was due, not from when a worker got
//! round to it, so a server that stalls is charged for every request it held back (the
//! coordinated omission that a closed loop hides; wrk2 and HdrHistogram correct it the same
//! way). Every request due inside the measured window is sent, late if need be.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// The schedule the workers of one scenario share.
#[derive(Debug)]
pub struct Pace {
    start: Instant,
    /// When the last due request is: the measured window's end.
    end: Instant,
    interval: Duration,
    next: AtomicU64,
}

impl Pace {
    /// `rate` requests per second from `start` until `end` (the tokio clock's instants, so that
    /// a test can pause it; they are the std clock's when it is not paused).
    pub fn new(rate: u64, start: Instant, end: Instant) -> Pace {
        assert!(rate > 0, "a fixed rate is at least 1 request/s");
        Pace {
            start,
            end,
            interval: Duration::from_secs_f64(1.0 / rate as f64),
            next: AtomicU64::new(0),
        }
    }

    /// The next request's due time, once it has come (None when the schedule is over).
    pub async fn next_due(&self) -> Option<Instant> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let due = self.start + self.interval.mul_f64(i as f64);
        if due >= self.end {
            return None;
        }
        tokio::time::sleep_until(due).await;
        Some(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_due_at_the_rate_and_none_after_the_end() {
        let start = Instant::now();
        let pace = Pace::new(100, start, start + Duration::from_millis(50));
        let mut due = Vec::new();
        while let Some(at) = pace.next_due().await {
            due.push(at - start);
        }
        assert_eq!(due.len(), 5);
        assert_eq!(due[1], Duration::from_millis(10));
        assert_eq!(due[4], Duration::from_millis(40));
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_worker_gets_the_due_time_not_its_own() {
        let start = Instant::now();
        let pace = Pace::new(1000, start, start + Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let due = pace.next_due().await.unwrap();
        assert_eq!(due, start, "the first request was due at the start");
        assert!(
            due.elapsed() >= Duration::from_millis(20),
            "its latency counts the wait"
        );
    }
}
