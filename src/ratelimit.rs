//! Token buckets, and the `RateLimiter` built on them: how many requests an API key and an
//! account may make, and how many failed authentications an address may cause, per second. The tables are bounded: past
//! `BUCKETS_PER_SHARD_MAX` entries a shard forgets its refilled buckets (a full bucket is the
//! same as none), or else one arbitrary bucket.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::wire::error::{ApiError, RateLimitScope};

/// Shards per table: a request locks one.
const SHARDS: usize = 16;
/// Buckets kept per shard (16 × 4,096 = 65,536 keys, accounts or addresses per table).
pub const BUCKETS_PER_SHARD_MAX: usize = 4096;

/// Requests per second one API key may make by default: far above what one client reaches
/// (the benchmarks drive one key at tens of thousands per second), so that only a runaway is
/// stopped. Stripe's own limits are 100 per second in live mode, 25 in test mode.
pub const REQUESTS_PER_KEY_PER_SECOND_DEFAULT: u32 = 100_000;
/// Requests per second one account (both modes, all its keys) may make by default.
pub const REQUESTS_PER_ACCOUNT_PER_SECOND_DEFAULT: u32 = 100_000;
/// Failed authentications (a key that is not valid, on the API or the dashboard's sign-in) one
/// address may cause per minute; past them its keys are not looked at until the budget refills.
pub const AUTH_FAILURES_PER_ADDRESS_PER_MINUTE_DEFAULT: u32 = 30;

/// A sustained rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    /// `n` per second, with a burst of one second's worth.
    pub fn per_second(n: u32) -> Rate {
        assert!(n > 0, "a rate is positive");
        Rate {
            per_second: f64::from(n),
            burst: f64::from(n),
        }
    }

    /// `n` per minute, with a burst of the whole minute's worth.
    pub fn per_minute(n: u32) -> Rate {
        assert!(n > 0, "a rate is positive");
        Rate {
            per_second: f64::from(n) / 60.0,
            burst: f64::from(n),
        }
    }
}

/// Stripe's documented rate of one account's requests in live mode (`--stripe-rate-limits`).
pub const STRIPE_LIVE_REQUESTS_PER_SECOND: u32 = 100;
/// Stripe's documented rate of one account's requests in test mode (sandboxes).
pub const STRIPE_TEST_REQUESTS_PER_SECOND: u32 = 25;

/// The server's rate limits.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    pub per_key: Rate,
    pub per_account: Rate,
    pub auth_failures_per_address: Rate,
    /// Also Stripe's own limits per account and mode (for testing a client's throttling): on
    /// top of the protective limits, never instead of them.
    pub stripe: Option<StripeRates>,
}

/// Stripe's per-account rates, one per mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StripeRates {
    pub live: Rate,
    pub test: Rate,
}

impl Default for StripeRates {
    fn default() -> Self {
        StripeRates {
            live: Rate::per_second(STRIPE_LIVE_REQUESTS_PER_SECOND),
            test: Rate::per_second(STRIPE_TEST_REQUESTS_PER_SECOND),
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_key: Rate::per_second(REQUESTS_PER_KEY_PER_SECOND_DEFAULT),
            per_account: Rate::per_second(REQUESTS_PER_ACCOUNT_PER_SECOND_DEFAULT),
            auth_failures_per_address: Rate::per_minute(AUTH_FAILURES_PER_ADDRESS_PER_MINUTE_DEFAULT),
            stripe: None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn refilled(&self, rate: Rate, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        (self.tokens + elapsed * rate.per_second).min(rate.burst)
    }
}

/// One rate applied to many keys.
#[derive(Debug)]
pub struct Buckets {
    rate: Rate,
    shards: Vec<Mutex<HashMap<u64, Bucket>>>,
}

impl Buckets {
    pub fn new(rate: Rate) -> Buckets {
        Buckets {
            rate,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, key: u64) -> std::sync::MutexGuard<'_, HashMap<u64, Bucket>> {
        self.shards[(key % SHARDS as u64) as usize]
            .lock()
            .expect("rate limit shard lock")
    }

    /// Takes one token for `key`; when there is none, how long until there is.
    pub fn take(&self, key: u64, now: Instant) -> Result<(), Duration> {
        let rate = self.rate;
        let mut shard = self.shard(key);
        let tokens = shard.get(&key).map_or(rate.burst, |b| b.refilled(rate, now));
        if tokens < 1.0 {
            return Err(Duration::from_secs_f64((1.0 - tokens) / rate.per_second));
        }
        if !shard.contains_key(&key) {
            make_room(&mut shard, rate, now);
        }
        shard.insert(
            key,
            Bucket {
                tokens: tokens - 1.0,
                updated: now,
            },
        );
        Ok(())
    }

    /// Whether `key` has a token, without taking it; when it has none, how long until it has.
    pub fn check(&self, key: u64, now: Instant) -> Result<(), Duration> {
        let rate = self.rate;
        match self.shard(key).get(&key).map(|b| b.refilled(rate, now)) {
            Some(tokens) if tokens < 1.0 => Err(Duration::from_secs_f64((1.0 - tokens) / rate.per_second)),
            _ => Ok(()),
        }
    }
}

/// Before a new key enters a full shard: forget the refilled buckets, or else one bucket.
fn make_room(shard: &mut HashMap<u64, Bucket>, rate: Rate, now: Instant) {
    if shard.len() < BUCKETS_PER_SHARD_MAX {
        return;
    }
    shard.retain(|_, b| b.refilled(rate, now) < rate.burst);
    if shard.len() >= BUCKETS_PER_SHARD_MAX
        && let Some(any) = shard.keys().next().copied()
    {
        shard.remove(&any);
    }
}

/// A table key for any hashable value (an account id, a key's digest).
pub fn key_of(value: impl Hash) -> u64 {
    let mut hasher = siphasher::sip::SipHasher13::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// An address's table key: an IPv4 address whole, an IPv6 address by its /64 (one host
/// usually holds a whole /64).
pub fn address_key(address: IpAddr) -> u64 {
    match address {
        IpAddr::V4(v4) => key_of(("v4", v4.octets())),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => key_of(("v4", v4.octets())),
            None => key_of(("v6", &v6.octets()[..8])),
        },
    }
}

fn limited(scope: RateLimitScope, wait: Duration) -> ApiError {
    metrics::counter!("payrec_rate_limited_total", "scope" => scope.as_str()).increment(1);
    ApiError::RateLimited {
        scope,
        retry_after_seconds: wait.as_secs_f64().ceil().max(1.0) as u64,
    }
}

/// The limits every API request passes, applied: failed authentications per address before a
/// key is looked at, then requests per API key and per account once it is known.
#[derive(Debug)]
pub struct RateLimiter {
    per_key: Buckets,
    per_account: Buckets,
    auth_failures: Buckets,
    /// Stripe's rates per account: live mode, then test mode.
    stripe: Option<(Buckets, Buckets)>,
    /// Simulated faults already injected (`api::simulate`): one per identical request per
    /// `SIMULATION_ONCE_WINDOW`, so that a client's automatic retry goes through.
    simulated: Buckets,
}

/// How long an identical request is not faulted again once it was.
pub const SIMULATION_ONCE_WINDOW: Duration = Duration::from_secs(10);

impl RateLimiter {
    pub fn new(limits: &RateLimits) -> RateLimiter {
        RateLimiter {
            per_key: Buckets::new(limits.per_key),
            per_account: Buckets::new(limits.per_account),
            auth_failures: Buckets::new(limits.auth_failures_per_address),
            stripe: limits.stripe.map(|r| (Buckets::new(r.live), Buckets::new(r.test))),
            simulated: Buckets::new(Rate {
                per_second: 1.0 / SIMULATION_ONCE_WINDOW.as_secs_f64(),
                burst: 1.0,
            }),
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

    /// Whether the request identified by `request` is to be faulted: the first time in
    /// `SIMULATION_ONCE_WINDOW`, not its retries.
    pub fn simulation_due(&self, request: u64) -> bool {
        self.simulated.take(request, Instant::now()).is_ok()
    }

    /// One request of `account_id` in this mode, under Stripe's rates when they are on.
    pub fn stripe_request(&self, account_id: &str, livemode: bool) -> Result<(), ApiError> {
        let Some((live, test)) = &self.stripe else {
            return Ok(());
        };
        let (buckets, scope) = match livemode {
            true => (live, RateLimitScope::StripeLive),
            false => (test, RateLimitScope::StripeTest),
        };
        buckets
            .take(key_of(account_id), Instant::now())
            .map_err(|wait| limited(scope, wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_spends_its_burst_then_refills_at_its_rate() {
        let buckets = Buckets::new(Rate::per_minute(30));
        let t0 = Instant::now();
        for _ in 0..30 {
            assert!(buckets.take(7, t0).is_ok());
        }
        let wait = buckets.take(7, t0).expect_err("the burst is spent");
        assert!(
            wait <= Duration::from_secs(2) && wait > Duration::from_millis(1900),
            "{wait:?}"
        );
        assert!(buckets.check(7, t0).is_err());
        assert!(buckets.check(8, t0).is_ok(), "another key has its own bucket");
        assert!(
            buckets.take(7, t0 + Duration::from_secs(2)).is_ok(),
            "one token after 2 s"
        );
        assert!(buckets.take(7, t0 + Duration::from_secs(2)).is_err());
    }

    #[test]
    fn a_full_shard_forgets_refilled_buckets_first_and_stays_bounded() {
        let buckets = Buckets::new(Rate::per_second(10));
        let t0 = Instant::now();
        for key in 0..(BUCKETS_PER_SHARD_MAX as u64 * SHARDS as u64 * 3) {
            let _ = buckets.take(key, t0);
        }
        for shard in &buckets.shards {
            assert!(shard.lock().unwrap().len() <= BUCKETS_PER_SHARD_MAX);
        }
        let later = t0 + Duration::from_secs(5);
        let _ = buckets.take(u64::MAX, later);
        let kept: usize = buckets.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(
            kept < BUCKETS_PER_SHARD_MAX * SHARDS,
            "refilled buckets were forgotten: {kept}"
        );
    }

    #[test]
    fn an_ipv6_host_is_one_address_by_its_64_and_a_v4_mapped_one_is_its_v4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:127.0.0.2".parse().unwrap();
        assert_eq!(address_key(mapped), address_key("127.0.0.2".parse().unwrap()));
    }
}
