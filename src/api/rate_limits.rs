//! The rate limits every API request passes (`crate::ratelimit`'s buckets, applied): failed
//! authentications per address before a key is looked at, then requests per API key and per
//! account once it is known.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::ratelimit::{Buckets, RateLimits, address_key, key_of};
use crate::wire::error::{ApiError, RateLimitScope};

#[derive(Debug)]
pub struct RateLimiter {
    per_key: Buckets,
    per_account: Buckets,
    auth_failures: Buckets,
}

fn limited(scope: RateLimitScope, wait: Duration) -> ApiError {
    metrics::counter!("payrec_rate_limited_total", "scope" => scope.as_str()).increment(1);
    ApiError::RateLimited {
        scope,
        retry_after_seconds: wait.as_secs_f64().ceil().max(1.0) as u64,
    }
}

impl RateLimiter {
    pub fn new(limits: &RateLimits) -> RateLimiter {
        RateLimiter {
            per_key: Buckets::new(limits.per_key),
            per_account: Buckets::new(limits.per_account),
            auth_failures: Buckets::new(limits.auth_failures_per_address),
        }
    }

    /// Whether a key from `peer` may be checked: not while its failures are over their limit
    /// (the right key too, or guessing would go on at full speed).
    pub fn authentication_allowed(&self, peer: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(peer) = peer else { return Ok(()) };
        self.auth_failures
            .check(address_key(peer), Instant::now())
            .map_err(|wait| limited(RateLimitScope::AuthFailures, wait))
    }

    /// A key from `peer` was not valid.
    pub fn authentication_failed(&self, peer: Option<IpAddr>) {
        metrics::counter!("payrec_auth_failures_total").increment(1);
        if let Some(peer) = peer {
            let _ = self.auth_failures.take(address_key(peer), Instant::now());
        }
    }

    /// One request of `key_id`, a key of `account_id`.
    pub fn request(&self, key_id: &str, account_id: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let limit = |wait| limited(RateLimitScope::Requests, wait);
        self.per_key.take(key_of(key_id), now).map_err(limit)?;
        self.per_account.take(key_of(account_id), now).map_err(limit)
    }
}
