//! `payrec serve`'s flags, with their environment fallbacks.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::WAL_MIB_DEFAULT;
use crate::events::allow::AllowList;
use crate::events::destination::Destinations;
use crate::events::schedule::{RetrySchedule, parse_duration};
use crate::ratelimit::{
    AUTH_FAILURES_PER_ADDRESS_PER_MINUTE_DEFAULT, REQUESTS_PER_ACCOUNT_PER_SECOND_DEFAULT,
    REQUESTS_PER_KEY_PER_SECOND_DEFAULT, Rate, RateLimits, StripeRates,
};
pub use crate::server::LISTEN_DEFAULT;
use crate::server::client::TrustedProxies;
use crate::server::{
    BODY_READ_TIMEOUT, CONNECTIONS_MAX, CONNECTIONS_PER_ADDRESS_MAX, HEADER_READ_TIMEOUT, Limits, REQUEST_TIMEOUT,
};
use crate::state::{
    WEBHOOK_CONCURRENCY_DEFAULT, WEBHOOK_CONNECTIONS_PER_ACCOUNT_DEFAULT, WEBHOOK_CONNECTIONS_PER_ENDPOINT_DEFAULT,
    WEBHOOK_TIMEOUT_DEFAULT, WebhookConfig,
};
use crate::store::postgres::{ACQUIRE_TIMEOUT_DEFAULT, POOL_CONNECTIONS_DEFAULT};
use crate::store::sqlite::SqliteSync;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PAYREC_LISTEN", default_value = LISTEN_DEFAULT)]
    pub listen: String,
    /// Accept any well-formed sk_test_/sk_live_ key; each distinct key is its own account.
    #[arg(long, env = "PAYREC_ACCEPT_ANY_KEY")]
    pub accept_any_key: bool,
    /// Answer requests Stripe refuses (payrec's extensions: README, "Extensions"); off, payrec
    /// refuses them as Stripe does.
    #[arg(long, env = "PAYREC_EXTENSIONS")]
    pub extensions: bool,
    /// Apply this seed file (TOML or JSON: accounts, literal API keys, webhook endpoints with
    /// their signing secrets, payments) before listening; applying it again changes nothing.
    #[arg(long, env = "PAYREC_SEED")]
    pub seed: Option<PathBuf>,
    /// Serve a new SQLite database in a temporary directory, removed when the server stops
    /// (instead of --database-url): a test suite's throwaway server.
    #[arg(long, env = "PAYREC_EPHEMERAL")]
    pub ephemeral: bool,
    /// Test mode only: honour the `Payrec-Simulate` request header (a 429, a 500, latency, a
    /// connection dropped after the commit, a lock timeout) for client-resilience tests.
    #[arg(long, env = "PAYREC_ALLOW_SIMULATION")]
    pub allow_simulation: bool,
    /// Also apply Stripe's documented per-account rate limits (100 requests/s live, 25 in test
    /// mode), so that a client's own throttling can be tested; the protective limits stay on.
    #[arg(long, env = "PAYREC_STRIPE_RATE_LIMITS")]
    pub stripe_rate_limits: bool,
    /// SQLite durability: `full` fsyncs every commit.
    #[arg(long, env = "PAYREC_SQLITE_SYNCHRONOUS", value_enum, default_value_t = SqliteSync::Full)]
    pub sqlite_synchronous: SqliteSync,
    /// SQLite: the WAL's bound under sustained writes, in MiB (past it, the WAL is restarted).
    #[arg(long, env = "PAYREC_SQLITE_WAL_MAX_MIB", default_value_t = WAL_MIB_DEFAULT, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub sqlite_wal_max_mib: u64,
    /// Serve `GET /metrics` on this address instead of the API listener.
    #[arg(long, env = "PAYREC_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// PostgreSQL: connections in the pool.
    #[arg(long, env = "PAYREC_PG_MAX_CONNECTIONS", default_value_t = POOL_CONNECTIONS_DEFAULT)]
    pub pg_max_connections: u32,
    /// PostgreSQL: seconds to wait for a pooled connection before failing the request.
    #[arg(long, env = "PAYREC_PG_ACQUIRE_TIMEOUT_SECS", default_value_t = ACQUIRE_TIMEOUT_DEFAULT.as_secs())]
    pub pg_acquire_timeout_secs: u64,
    /// Webhooks: the delays between attempts, for both modes (e.g. `100ms,200ms,400ms` in a test
    /// suite). Default: Stripe's schedules (live: 10 retries over up to ~3 days; test: 3 over a
    /// few hours).
    #[arg(long, env = "PAYREC_WEBHOOK_RETRY_SCHEDULE", value_parser = parse_schedule)]
    pub webhook_retry_schedule: Option<RetryDelays>,
    /// Webhooks: besides public addresses, also deliver to these hosts (`hooks.internal`,
    /// `*.corp.example`) and networks (`10.0.0.0/8`), comma-separated: an internal receiver.
    #[arg(long, env = "PAYREC_WEBHOOK_ALLOW", value_parser = AllowList::parse)]
    pub webhook_allow: Option<AllowList>,
    /// Webhooks: test mode may not deliver to loopback either (by default it may: a receiver on
    /// the developer's own machine).
    #[arg(long, env = "PAYREC_WEBHOOK_DENY_LOOPBACK")]
    pub webhook_deny_loopback: bool,
    /// Webhooks: an attempt not answered with a 2xx within this is failed (e.g. `10s`).
    #[arg(long, env = "PAYREC_WEBHOOK_TIMEOUT", value_parser = parse_duration, default_value = "10s")]
    pub webhook_timeout: Duration,
    /// Webhooks: most attempts in flight at once.
    #[arg(long, env = "PAYREC_WEBHOOK_CONCURRENCY", default_value_t = WEBHOOK_CONCURRENCY_DEFAULT as u64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub webhook_concurrency: u64,
    /// Webhooks: most attempts in flight to one endpoint (its connections).
    #[arg(long, env = "PAYREC_WEBHOOK_CONNECTIONS_PER_ENDPOINT", default_value_t = WEBHOOK_CONNECTIONS_PER_ENDPOINT_DEFAULT as u64, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub webhook_connections_per_endpoint: u64,
    /// Webhooks: most attempts in flight to one account's endpoints: one account's slow or dead
    /// endpoints never hold the others' slots.
    #[arg(long, env = "PAYREC_WEBHOOK_CONNECTIONS_PER_ACCOUNT", default_value_t = WEBHOOK_CONNECTIONS_PER_ACCOUNT_DEFAULT as u64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub webhook_connections_per_account: u64,
    /// Most connections served at once; when full, the idlest is closed for a new one.
    #[arg(long, env = "PAYREC_CONNECTIONS_MAX", default_value_t = CONNECTIONS_MAX as u64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub connections_max: u64,
    /// Most connections from one peer address (at most --connections-max).
    #[arg(long, env = "PAYREC_CONNECTIONS_PER_ADDRESS_MAX", default_value_t = CONNECTIONS_PER_ADDRESS_MAX as u64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub connections_per_address_max: u64,
    /// A client must send a request's headers within this (e.g. `10s`).
    #[arg(long, env = "PAYREC_HEADER_TIMEOUT", value_parser = parse_duration, default_value = "10s")]
    pub header_timeout: Duration,
    /// A request must be answered within this once its body has arrived, else 503 with
    /// `Stripe-Should-Retry` (a database that does not answer, e.g. a hung primary).
    #[arg(long, env = "PAYREC_REQUEST_TIMEOUT", value_parser = parse_duration, default_value = "10s")]
    pub request_timeout: Duration,
    /// A request's body must arrive within this once its headers have (e.g. `30s`).
    #[arg(long, env = "PAYREC_BODY_TIMEOUT", value_parser = parse_duration, default_value = "30s")]
    pub body_timeout: Duration,
    /// Requests per second one API key may make (a burst of one second's worth); past it, 429.
    #[arg(long, env = "PAYREC_RATE_LIMIT_PER_KEY", default_value_t = REQUESTS_PER_KEY_PER_SECOND_DEFAULT, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_per_key: u32,
    /// Requests per second one account may make, over all its keys and both modes.
    #[arg(long, env = "PAYREC_RATE_LIMIT_PER_ACCOUNT", default_value_t = REQUESTS_PER_ACCOUNT_PER_SECOND_DEFAULT, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_per_account: u32,
    /// Failed authentications (API or dashboard sign-in) one address may cause per minute;
    /// past them its keys are not checked (429) until the budget refills.
    #[arg(long, env = "PAYREC_AUTH_FAILURES_PER_MINUTE", default_value_t = AUTH_FAILURES_PER_ADDRESS_PER_MINUTE_DEFAULT, value_parser = clap::value_parser!(u32).range(1..))]
    pub auth_failures_per_minute: u32,
    /// Where clients reach this server, e.g. `https://payrec.example.com` behind a proxy that
    /// terminates TLS: an https URL makes the dashboard's cookies `__Host-` and `Secure` and
    /// adds HSTS to every response.
    #[arg(long, env = "PAYREC_PUBLIC_URL", value_parser = public_url)]
    pub public_url: Option<url::Url>,
    /// Proxies in front of payrec (addresses or networks, comma-separated): their connections
    /// are not limited per address, and the client is the last address of X-Forwarded-For
    /// that is not one of them (for the per-address limits). Default: none, the TCP peer.
    #[arg(long, env = "PAYREC_TRUSTED_PROXY", value_parser = TrustedProxies::parse)]
    pub trusted_proxy: Option<TrustedProxies>,
    /// Do not serve the dashboard (/dashboard/) on the API listener.
    #[arg(long, env = "PAYREC_NO_DASHBOARD")]
    pub no_dashboard: bool,
    /// Do not deliver webhooks from this process (events are still recorded; another replica
    /// delivers them).
    #[arg(long, env = "PAYREC_NO_WEBHOOK_DELIVERY")]
    pub no_webhook_delivery: bool,
}

fn public_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !["http", "https"].contains(&url.scheme()) || url.host_str().is_none() {
        return Err(format!("{text:?} is not an http:// or https:// URL with a host"));
    }
    Ok(url)
}

/// `--webhook-retry-schedule`: the delays, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryDelays(pub Vec<Duration>);

fn parse_schedule(text: &str) -> Result<RetryDelays, String> {
    RetrySchedule::parse(text).map(RetryDelays)
}

impl ServeArgs {
    /// The rate limits these flags give.
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits {
            per_key: Rate::per_second(self.rate_limit_per_key),
            per_account: Rate::per_second(self.rate_limit_per_account),
            auth_failures_per_address: Rate::per_minute(self.auth_failures_per_minute),
            stripe: self.stripe_rate_limits.then(StripeRates::default),
        }
    }

    /// The connection and request limits these flags give.
    pub fn limits(&self) -> Limits {
        Limits {
            connections_max: self.connections_max as usize,
            connections_per_address_max: self.connections_per_address_max as usize,
            header_read_timeout: self.header_timeout,
            body_read_timeout: self.body_timeout,
            request_timeout: self.request_timeout,
            trusted_proxies: self.trusted_proxy.clone().unwrap_or_default(),
        }
    }

    /// The webhook settings these flags give.
    pub fn webhooks(&self) -> WebhookConfig {
        WebhookConfig {
            deliver: !self.no_webhook_delivery,
            destinations: Destinations {
                allow: self.webhook_allow.clone(),
                test_mode_loopback: !self.webhook_deny_loopback,
            },
            schedule: self
                .webhook_retry_schedule
                .clone()
                .map_or_else(RetrySchedule::default, |delays| RetrySchedule::both(delays.0)),
            timeout: self.webhook_timeout,
            concurrency: self.webhook_concurrency as usize,
            connections_per_endpoint: self.webhook_connections_per_endpoint as usize,
            connections_per_account: self.webhook_connections_per_account as usize,
            ..WebhookConfig::default()
        }
    }
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            listen: LISTEN_DEFAULT.into(),
            accept_any_key: false,
            extensions: false,
            seed: None,
            ephemeral: false,
            allow_simulation: false,
            stripe_rate_limits: false,
            sqlite_synchronous: SqliteSync::Full,
            sqlite_wal_max_mib: WAL_MIB_DEFAULT,
            metrics_listen: None,
            pg_max_connections: POOL_CONNECTIONS_DEFAULT,
            pg_acquire_timeout_secs: ACQUIRE_TIMEOUT_DEFAULT.as_secs(),
            webhook_retry_schedule: None,
            webhook_allow: None,
            webhook_deny_loopback: false,
            webhook_timeout: WEBHOOK_TIMEOUT_DEFAULT,
            webhook_concurrency: WEBHOOK_CONCURRENCY_DEFAULT as u64,
            webhook_connections_per_endpoint: WEBHOOK_CONNECTIONS_PER_ENDPOINT_DEFAULT as u64,
            webhook_connections_per_account: WEBHOOK_CONNECTIONS_PER_ACCOUNT_DEFAULT as u64,
            no_webhook_delivery: false,
            no_dashboard: false,
            connections_max: CONNECTIONS_MAX as u64,
            connections_per_address_max: CONNECTIONS_PER_ADDRESS_MAX as u64,
            header_timeout: HEADER_READ_TIMEOUT,
            body_timeout: BODY_READ_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            public_url: None,
            trusted_proxy: None,
            rate_limit_per_key: REQUESTS_PER_KEY_PER_SECOND_DEFAULT,
            rate_limit_per_account: REQUESTS_PER_ACCOUNT_PER_SECOND_DEFAULT,
            auth_failures_per_minute: AUTH_FAILURES_PER_ADDRESS_PER_MINUTE_DEFAULT,
        }
    }
}
