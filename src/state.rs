//! The process's state, below the faces that use it (the API, the dashboard, the jobs, the
//! CLI): the store, the server's settings, the in-flight idempotency keys, the rate limiters.

use std::sync::Arc;
use std::time::Duration;

use crate::events::destination::Destinations;
use crate::events::schedule::RetrySchedule;
use crate::ratelimit::RateLimiter;
use crate::ratelimit::RateLimits;
use crate::server::Limits;
use crate::store::Store;
use crate::wire::idempotency::InFlight;

/// How long idempotent results are replayed (Stripe keeps keys at least 24 hours).
pub const IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// What the server needs beyond the store.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Accept any well-formed secret key, each its own account (for stripe-mock-style suites).
    pub accept_any_key: bool,
    /// Answer what Stripe refuses (`api::extensions`); off: Stripe-exact.
    pub extensions: bool,
    /// Honour `Payrec-Simulate` on test-mode requests (`api::simulate`).
    pub allow_simulation: bool,
    /// How long idempotent results are replayed.
    pub idempotency_retention: Duration,
    /// Test hook: wait this long after a write commits, before answering, so a crash test can
    /// kill the process between commit and response. Set only by `PAYREC_TEST_DELAY_AFTER_COMMIT_MS`.
    pub delay_after_commit: Option<Duration>,
    /// Serve `GET /metrics` on the API listener (off when `--metrics-listen` names another).
    pub metrics_on_api: bool,
    /// Connection and slow-client limits.
    pub limits: Limits,
    /// Webhook delivery.
    pub webhooks: WebhookConfig,
    /// Serve the dashboard at /dashboard/.
    pub dashboard: bool,
    /// Requests per key and per account, failed authentications per address.
    pub rate_limits: RateLimits,
    /// Where clients reach this server (`--public-url`): an https one makes the dashboard's
    /// cookies `__Host-` and `Secure` and every response carry HSTS.
    pub public_url: Option<url::Url>,
}

impl ServerConfig {
    /// Whether clients reach the server over https (its public URL says so).
    pub fn serves_https(&self) -> bool {
        self.public_url.as_ref().is_some_and(|u| u.scheme() == "https")
    }
}

/// Most deliveries in flight at once, over all endpoints.
pub const WEBHOOK_CONCURRENCY_DEFAULT: usize = 64;
/// Most deliveries in flight to one endpoint (so most connections to it) per server.
pub const WEBHOOK_CONNECTIONS_PER_ENDPOINT_DEFAULT: usize = 8;
/// Most deliveries in flight for one account's endpoints, per server: a quarter of the default
/// concurrency, so that no account's slow or dead endpoints hold the others' slots.
pub const WEBHOOK_CONNECTIONS_PER_ACCOUNT_DEFAULT: usize = 16;
/// How often each endpoint's backlog is cut back to its bound (a scan of the pending deliveries).
pub const BACKLOG_CHECK_INTERVAL: Duration = Duration::from_secs(30);
/// A delivery not answered with a 2xx within this is a failed attempt (Stripe's timeout).
pub const WEBHOOK_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);

/// How events are delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Run the delivery worker in this process.
    pub deliver: bool,
    /// Where deliveries may go: public addresses, test-mode loopback, and the allow list.
    pub destinations: Destinations,
    pub schedule: RetrySchedule,
    pub timeout: Duration,
    pub concurrency: usize,
    pub connections_per_endpoint: usize,
    pub connections_per_account: usize,
    /// Pending deliveries one endpoint may hold (`events::health::BACKLOG_PER_ENDPOINT_MAX`).
    pub backlog_per_endpoint: u64,
    /// How often backlogs are cut back to `backlog_per_endpoint`.
    pub backlog_check_interval: Duration,
}

const _: () = assert!(WEBHOOK_CONNECTIONS_PER_ACCOUNT_DEFAULT * 2 <= WEBHOOK_CONCURRENCY_DEFAULT);
const _: () = assert!(WEBHOOK_CONNECTIONS_PER_ENDPOINT_DEFAULT <= WEBHOOK_CONNECTIONS_PER_ACCOUNT_DEFAULT);

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            deliver: true,
            destinations: Destinations::default(),
            schedule: RetrySchedule::default(),
            timeout: WEBHOOK_TIMEOUT_DEFAULT,
            concurrency: WEBHOOK_CONCURRENCY_DEFAULT,
            connections_per_endpoint: WEBHOOK_CONNECTIONS_PER_ENDPOINT_DEFAULT,
            connections_per_account: WEBHOOK_CONNECTIONS_PER_ACCOUNT_DEFAULT,
            backlog_per_endpoint: crate::events::health::BACKLOG_PER_ENDPOINT_MAX as u64,
            backlog_check_interval: BACKLOG_CHECK_INTERVAL,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            accept_any_key: false,
            extensions: false,
            allow_simulation: false,
            idempotency_retention: IDEMPOTENCY_RETENTION,
            delay_after_commit: None,
            metrics_on_api: true,
            limits: Limits::default(),
            webhooks: WebhookConfig::default(),
            dashboard: true,
            rate_limits: RateLimits::default(),
            public_url: None,
        }
    }
}

/// Shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    pub inflight: InFlight,
    pub rate_limiter: Arc<RateLimiter>,
    /// The background jobs, supervised.
    pub jobs: Arc<crate::jobs::supervisor::Jobs>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        AppState {
            store,
            rate_limiter: Arc::new(RateLimiter::new(&config.rate_limits)),
            config: Arc::new(config),
            inflight: InFlight::default(),
            jobs: Default::default(),
        }
    }
}
