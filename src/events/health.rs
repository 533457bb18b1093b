//! A webhook endpoint's health: how a dead endpoint backs off, how much of a backlog it may
//! hold, and when it is disabled. Stripe retries each delivery for days and disables an
//! endpoint that has failed for days; payrec does the same, and also pauses an endpoint that
//! keeps failing so that its deliveries do not hold the worker's slots at every retry.

/// Consecutive failed attempts before an endpoint is paused.
pub const FAILURES_BEFORE_PAUSE: i64 = 5;
/// The first pause; each further failure doubles it, up to `PAUSE_MAX_MS`.
pub const PAUSE_BASE_MS: i64 = 1_000;
pub const PAUSE_MAX_MS: i64 = 60 * 60 * 1_000;
/// Doublings at most (2^20 s is past `PAUSE_MAX_MS` already): keeps the shift in range.
pub const PAUSE_DOUBLINGS_MAX: i64 = 20;
/// An endpoint failing without a success for this long is disabled (Stripe: "multiple days").
pub const DISABLE_AFTER_MS: i64 = 3 * 24 * 60 * 60 * 1_000;
/// Pending deliveries one endpoint may hold; past it, its oldest are given up (the events stay
/// listable with `delivery_success=false`).
pub const BACKLOG_PER_ENDPOINT_MAX: i64 = 10_000;

const _: () = assert!(PAUSE_BASE_MS << PAUSE_DOUBLINGS_MAX >= PAUSE_MAX_MS);

/// How long an endpoint is paused after its `failures`-th consecutive failure (None: not yet).
/// The stores compute the same in SQL; this is its statement.
pub fn pause_ms(failures: i64) -> Option<i64> {
    (failures >= FAILURES_BEFORE_PAUSE)
        .then(|| PAUSE_MAX_MS.min(PAUSE_BASE_MS << (failures - FAILURES_BEFORE_PAUSE).min(PAUSE_DOUBLINGS_MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_endpoint_pauses_after_five_failures_doubling_up_to_an_hour() {
        assert_eq!(pause_ms(4), None);
        assert_eq!(pause_ms(5), Some(1_000));
        assert_eq!(pause_ms(6), Some(2_000));
        assert_eq!(pause_ms(10), Some(32_000));
        assert_eq!(pause_ms(17), Some(PAUSE_MAX_MS));
        assert_eq!(pause_ms(1_000_000), Some(PAUSE_MAX_MS));
    }
}
