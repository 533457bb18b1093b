//! When a failed delivery is tried again: Stripe's schedules, exponential with jitter. Live mode
//! keeps trying for up to three days, test mode retries three times over a few hours; a test
//! suite may set one schedule for both (`--webhook-retry-schedule 100ms,200ms`).

use std::time::Duration;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;

/// Live mode: 10 retries over ~52 hours (at most ~62 with the jitter, under Stripe's three
/// days), doubling up to 12 hours.
pub const LIVE_RETRY_SECS: &[u64] = &[
    MINUTE,
    5 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    4 * HOUR,
    8 * HOUR,
    12 * HOUR,
    12 * HOUR,
    12 * HOUR,
];
/// Test mode: three retries over ~4 hours.
pub const TEST_RETRY_SECS: &[u64] = &[5 * MINUTE, HOUR, 3 * HOUR];
/// Each delay is stretched or shrunk by up to this fraction, at random, so endpoints that failed
/// together are not retried together.
pub const JITTER_FRACTION: f64 = 0.2;

/// The delays between attempts, after the first: one retry per entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    pub live: Vec<Duration>,
    pub test: Vec<Duration>,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        let secs = |s: &[u64]| s.iter().map(|&s| Duration::from_secs(s)).collect();
        RetrySchedule {
            live: secs(LIVE_RETRY_SECS),
            test: secs(TEST_RETRY_SECS),
        }
    }
}

impl RetrySchedule {
    /// The same delays in both modes (for test suites).
    pub fn both(delays: Vec<Duration>) -> Self {
        RetrySchedule {
            live: delays.clone(),
            test: delays,
        }
    }

    /// The wait before the next attempt once `attempts` have failed, or `None` when that was the
    /// last one. `jitter` in `-1.0 ..= 1.0` scales `JITTER_FRACTION`.
    pub fn next_delay(&self, livemode: bool, attempts: u32, jitter: f64) -> Option<Duration> {
        let delays = if livemode { &self.live } else { &self.test };
        let base = delays.get(attempts.checked_sub(1)? as usize)?;
        Some(base.mul_f64(1.0 + JITTER_FRACTION * jitter.clamp(-1.0, 1.0)))
    }

    /// Parses `100ms,2s,5m,1h`.
    pub fn parse(text: &str) -> Result<Vec<Duration>, String> {
        text.split(',')
            .map(|part| parse_duration(part.trim()))
            .collect::<Result<Vec<_>, _>>()
    }
}

/// `250ms`, `10s`, `0.5s`, `5m`, `2h`; a bare number is seconds (`1`, `0.25`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("'{text}' is not a duration such as 250ms, 10s, 5m or 2h");
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * MINUTE as f64,
        "h" => n * HOUR as f64,
        _ => return Err(invalid()),
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(invalid());
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_mode_retries_for_up_to_three_days_and_test_mode_three_times() {
        let schedule = RetrySchedule::default();
        let total = |live: bool| -> Duration { (1..).map_while(|n| schedule.next_delay(live, n, 1.0)).sum() };
        assert!(total(true) <= Duration::from_secs(72 * HOUR), "{:?}", total(true));
        assert!(total(true) >= Duration::from_secs(48 * HOUR));
        assert_eq!((1..).map_while(|n| schedule.next_delay(false, n, 0.0)).count(), 3);
        assert!(total(false) <= Duration::from_secs(6 * HOUR));
    }

    #[test]
    fn delays_grow_and_jitter_stays_within_its_fraction() {
        let schedule = RetrySchedule::default();
        let first = schedule.next_delay(true, 1, 0.0).expect("a retry");
        assert_eq!(first, Duration::from_secs(60));
        assert_eq!(schedule.next_delay(true, 1, 1.0), Some(Duration::from_secs(72)));
        assert_eq!(schedule.next_delay(true, 1, -5.0), Some(Duration::from_secs(48)));
        assert_eq!(schedule.next_delay(true, 0, 0.0), None, "no attempt made yet");
        for pair in LIVE_RETRY_SECS.windows(2) {
            assert!(pair[0] <= pair[1]);
        }
    }

    #[test]
    fn schedules_parse_from_a_comma_list() {
        assert_eq!(
            RetrySchedule::parse("100ms, 2s,5m,1h"),
            Ok(vec![
                Duration::from_millis(100),
                Duration::from_secs(2),
                Duration::from_secs(300),
                Duration::from_secs(3600)
            ])
        );
        assert_eq!(
            RetrySchedule::parse("1,0.25,0.5s"),
            Ok(vec![
                Duration::from_secs(1),
                Duration::from_millis(250),
                Duration::from_millis(500)
            ])
        );
        assert!(RetrySchedule::parse("1x").is_err());
        assert!(RetrySchedule::parse("").is_err());
        assert!(RetrySchedule::parse("-1s").is_err());
    }
}
