//! Injected faults for client-resilience tests: with `--allow-simulation`, a test-mode request
//! may ask for one failure in its `Payrec-Simulate` header. Without the flag, and for live keys,
//! the header is ignored. Each fault is what Stripe (or the network) can do to a client:
//!
//! - `rate_limit`: 429 `rate_limit`, `Stripe-Should-Retry: true`; nothing runs.
//! - `lock_timeout`: 429 `lock_timeout`, `Stripe-Should-Retry: true`; nothing runs.
//! - `api_error`: 500 `api_error`, `Stripe-Should-Retry: true`; nothing runs.
//! - `latency=<ms>`: the request waits that long (at most `SIMULATED_LATENCY_MAX`), then runs;
//!   past `--request-timeout` it is answered with the deadline's 503.
//! - `drop_after_commit`: the request runs and commits, then its connection is closed without
//!   an answer: the case idempotency keys exist for.
//!
//! A fault is injected once per identical request (tenant, method, URL, Idempotency-Key and
//! header) in `ratelimit::SIMULATION_ONCE_WINDOW`: the SDKs resend a request's headers when they
//! retry it, and the retry must go through, as it would against Stripe.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::http::request::Parts;

use crate::state::AppState;
use crate::store::Tenant;
use crate::wire::error::{ApiError, RateLimitScope};
use crate::wire::request::RequestContext;

/// The request header that asks for a fault.
pub const SIMULATE_HEADER: &str = "payrec-simulate";
/// Longest simulated latency.
pub const SIMULATED_LATENCY_MAX: Duration = Duration::from_secs(60);

/// One fault a request may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simulation {
    RateLimit,
    LockTimeout,
    ApiError,
    Latency(Duration),
    DropAfterCommit,
}

impl Simulation {
    /// The header's value, or Stripe's 400 naming what it may be.
    pub fn parse(value: &str) -> Result<Simulation, ApiError> {
        let value = value.trim();
        let simulation = match value {
            "rate_limit" => Some(Simulation::RateLimit),
            "lock_timeout" => Some(Simulation::LockTimeout),
            "api_error" => Some(Simulation::ApiError),
            "drop_after_commit" => Some(Simulation::DropAfterCommit),
            _ => value
                .strip_prefix("latency=")
                .and_then(|ms| ms.parse::<u64>().ok())
                .map(Duration::from_millis)
                .filter(|latency| *latency <= SIMULATED_LATENCY_MAX)
                .map(Simulation::Latency),
        };
        simulation.ok_or_else(|| ApiError::Invalid {
            message: format!(
                "Invalid Payrec-Simulate header: {value:?}. It must be one of rate_limit, lock_timeout, api_error, \
                 drop_after_commit or latency=<milliseconds> (at most {}).",
                SIMULATED_LATENCY_MAX.as_millis()
            ),
            param: None,
        })
    }
}

/// Applies the fault an authenticated request asks for, if the server allows simulation and
/// the key is a test key: an error to answer at once, a wait, or a mark on the request that
/// closes its connection once it has succeeded.
pub async fn apply(app: &AppState, parts: &Parts, tenant: &Tenant) -> Result<(), ApiError> {
    if !app.config.allow_simulation || tenant.livemode {
        return Ok(());
    }
    let Some(value) = parts.headers.get(SIMULATE_HEADER) else {
        return Ok(());
    };
    let asked = Simulation::parse(&String::from_utf8_lossy(value.as_bytes()))?;
    let identical = crate::ratelimit::key_of((
        &tenant.account_id,
        tenant.livemode,
        parts.method.as_str(),
        parts.uri.to_string(),
        parts.headers.get("idempotency-key").map(|k| k.as_bytes()),
        value.as_bytes(),
    ));
    if !app.rate_limiter.simulation_due(identical) {
        return Ok(());
    }
    metrics::counter!("payrec_simulated_faults_total").increment(1);
    match asked {
        Simulation::RateLimit => Err(ApiError::RateLimited {
            scope: RateLimitScope::StripeTest,
            retry_after_seconds: 1,
        }),
        Simulation::LockTimeout => Err(ApiError::LockTimeout),
        Simulation::ApiError => Err(ApiError::SimulatedApiError),
        Simulation::Latency(latency) => {
            tokio::time::sleep(latency).await;
            Ok(())
        }
        Simulation::DropAfterCommit => {
            if let Some(context) = parts.extensions.get::<std::sync::Arc<RequestContext>>() {
                context.drop_response.store(true, Ordering::Relaxed);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fault_parses_and_anything_else_is_refused() {
        assert_eq!(Simulation::parse("rate_limit"), Ok(Simulation::RateLimit));
        assert_eq!(Simulation::parse(" lock_timeout "), Ok(Simulation::LockTimeout));
        assert_eq!(Simulation::parse("api_error"), Ok(Simulation::ApiError));
        assert_eq!(Simulation::parse("drop_after_commit"), Ok(Simulation::DropAfterCommit));
        assert_eq!(
            Simulation::parse("latency=250"),
            Ok(Simulation::Latency(Duration::from_millis(250)))
        );
        for bad in ["", "latency=", "latency=-1", "latency=60001", "crash", "RATE_LIMIT"] {
            assert!(Simulation::parse(bad).is_err(), "{bad:?}");
        }
    }
}
