//! Logs a repeating failure once, then at most once every `LOG_INTERVAL` with a count: a full
//! disk fails every write, and the log should say so, not repeat it per request.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// At most one log line per kind of failure this often.
pub const LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Per kind: when it was last logged, and how many since were not.
static SEEN: LazyLock<Mutex<HashMap<&'static str, (Instant, u64)>>> = LazyLock::new(Default::default);

/// How many failures of `kind` to report now, if a line is due (1 for the first one).
fn due(kind: &'static str, now: Instant) -> Option<u64> {
    let mut seen = SEEN.lock().expect("throttle lock");
    match seen.get_mut(kind) {
        None => {
            seen.insert(kind, (now, 0));
            Some(1)
        }
        Some((last, quiet)) if now.duration_since(*last) >= LOG_INTERVAL => {
            let count = *quiet + 1;
            (*last, *quiet) = (now, 0);
            Some(count)
        }
        Some((_, quiet)) => {
            *quiet += 1;
            None
        }
    }
}

/// Logs `what` at ERROR, throttled per `kind`.
pub fn error(kind: &'static str, what: &str, cause: &dyn Display) {
    match due(kind, Instant::now()) {
        Some(1) => tracing::error!(kind, error = %cause, "{what}"),
        Some(count) => tracing::error!(kind, error = %cause, count, "{what} ({count} times since the last report)"),
        None => {}
    }
}

/// Logs `what` at WARN, throttled per `kind`.
pub fn warn(kind: &'static str, what: &str, cause: &dyn Display) {
    match due(kind, Instant::now()) {
        Some(1) => tracing::warn!(kind, error = %cause, "{what}"),
        Some(count) => tracing::warn!(kind, error = %cause, count, "{what} ({count} times since the last report)"),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_is_logged_then_one_line_per_interval_with_a_count() {
        let t0 = Instant::now();
        let kind = "throttle-test";
        assert_eq!(due(kind, t0), Some(1));
        for i in 1..=9 {
            assert_eq!(due(kind, t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(
            due(kind, t0 + LOG_INTERVAL),
            Some(10),
            "the nine quiet ones and this one"
        );
        assert_eq!(due(kind, t0 + LOG_INTERVAL + Duration::from_millis(1)), None);
        assert_eq!(due("another-kind", t0), Some(1), "kinds are throttled apart");
    }
}
