//! Command-line flags with environment fallbacks. Defaults work on a fresh machine: an
//! embedded SQLite file in the current directory and 127.0.0.1:12111.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::events::allow::AllowList;
use crate::events::destination::Destinations;
use crate::events::schedule::{RetrySchedule, parse_duration};
use crate::state::{
    WEBHOOK_CONCURRENCY_DEFAULT, WEBHOOK_CONNECTIONS_PER_ACCOUNT_DEFAULT, WEBHOOK_CONNECTIONS_PER_ENDPOINT_DEFAULT,
    WEBHOOK_TIMEOUT_DEFAULT, WebhookConfig,
};

use crate::ratelimit::{
    AUTH_FAILURES_PER_ADDRESS_PER_MINUTE_DEFAULT, REQUESTS_PER_ACCOUNT_PER_SECOND_DEFAULT,
    REQUESTS_PER_KEY_PER_SECOND_DEFAULT, Rate, RateLimits,
};
pub use crate::server::LISTEN_DEFAULT;
use crate::server::client::TrustedProxies;
use crate::server::{
    BODY_READ_TIMEOUT, CONNECTIONS_MAX, CONNECTIONS_PER_ADDRESS_MAX, HEADER_READ_TIMEOUT, Limits, REQUEST_TIMEOUT,
};
use crate::store::postgres::{ACQUIRE_TIMEOUT_DEFAULT, POOL_CONNECTIONS_DEFAULT};
use crate::store::sqlite::{SqliteSync, WAL_BYTES_MAX_DEFAULT};

/// `--sqlite-wal-max-mib` when not given.
const WAL_MIB_DEFAULT: u64 = WAL_BYTES_MAX_DEFAULT / (1024 * 1024);

pub const DATABASE_URL_DEFAULT: &str = "sqlite://payrec.db";

#[derive(Debug, Parser)]
#[command(
    name = "payrec",
    version,
    about = "A self-hostable, Stripe-compatible Payment Records server"
)]
pub struct Cli {
    /// Database: sqlite://PATH (embedded, the default) or postgres://USER@HOST/DB (production).
    #[arg(long, env = "DATABASE_URL", default_value = DATABASE_URL_DEFAULT, global = true)]
    pub database_url: String,
    /// Log format.
    #[arg(long, env = "PAYREC_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (applies migrations first).
    Serve(ServeArgs),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Apply migrations and exit.
    Migrate,
    /// Check the database, migrations, keys and disk space; say how to fix what is wrong.
    Doctor,
    /// Operate on events.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Export one account's objects (one mode) as CSV or JSON Lines, streamed.
    Export(ExportArgs),
    /// Match a settlement or bank file (CSV with a header) to the ledger by processor
    /// reference. Exit 0: everything matched; 1: something did not; 2: a usage or file error.
    Reconcile(ReconcileArgs),
    /// Import payments from another system's history: a CSV with the payment records export's
    /// columns, or JSON Lines of report calls. Each line goes through the API's validation and
    /// lifecycle, whole or not at all; a line imported before is skipped. Exit 0: every line
    /// imported (or imported before); 1: some lines were refused; 2: a usage or file error.
    Import(ImportArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The file: CSV with a header line, or JSON Lines.
    pub file: std::path::PathBuf,
    /// The file's format; by default from its extension (`.jsonl`, `.ndjson`, `.json` are JSON
    /// Lines), else from its first character.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// The account (acct_…), created when missing; optional when the database holds one
    /// (or none: an account is created, with its keys).
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long, value_enum, default_value_t = Mode::Test)]
    pub mode: Mode,
    /// Validate every line and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop at the first refused line (what was written before it stays).
    #[arg(long)]
    pub stop_on_error: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ReconcileArgs {
    /// The CSV file, with a header line.
    pub file: std::path::PathBuf,
    /// The column holding the processor reference (`payment_reference`, or a refund's
    /// `refund_reference`).
    #[arg(long)]
    pub reference_column: String,
    /// The column holding the amount.
    #[arg(long)]
    pub amount_column: String,
    /// The column holding the currency (an ISO code).
    #[arg(long)]
    pub currency_column: Option<String>,
    /// The currency of every line, for a file without a currency column.
    #[arg(long, conflicts_with = "currency_column")]
    pub currency: Option<String>,
    /// The column holding the date: its earliest and latest days are the window unless
    /// --since / --until are given.
    #[arg(long)]
    pub date_column: Option<String>,
    /// Amounts in the file: `decimal` (12.34) or `minor` units (1234).
    #[arg(long, value_enum, default_value_t = AmountsArg::Decimal)]
    pub amounts: AmountsArg,
    /// Guaranteed payments created at or after this count as `missing_in_file` when no line
    /// names them.
    #[arg(long, value_parser = time_arg)]
    pub since: Option<i64>,
    /// … and created before this.
    #[arg(long, value_parser = time_arg)]
    pub until: Option<i64>,
    /// The account (acct_…); optional when the database holds one.
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long, value_enum, default_value_t = Mode::Test)]
    pub mode: Mode,
    /// Write one CSV line per file line and per missing payment, with its category.
    #[arg(long)]
    pub report: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AmountsArg {
    Minor,
    Decimal,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// What to export.
    #[arg(long, value_enum, default_value_t = ObjectArg::PaymentRecords)]
    pub object: ObjectArg,
    /// `csv` (the columns in docs/data-tools.md) or `jsonl` (one API object per line).
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    pub format: FormatArg,
    /// Only objects created at or after this: Unix seconds or an RFC 3339 date or date-time.
    #[arg(long, value_parser = time_arg)]
    pub created_after: Option<i64>,
    /// Only objects created before this: Unix seconds or an RFC 3339 date or date-time.
    #[arg(long, value_parser = time_arg)]
    pub created_before: Option<i64>,
    /// The account (acct_…); optional when the database holds one.
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long, value_enum, default_value_t = Mode::Test)]
    pub mode: Mode,
    /// Write to this file (complete, or not at all) instead of stdout.
    #[arg(long, short)]
    pub output: Option<std::path::PathBuf>,
}

/// `--created-after` and the like: Unix seconds or RFC 3339.
fn time_arg(text: &str) -> Result<i64, String> {
    crate::clock::parse_time(text).ok_or_else(|| {
        format!(
            "{text:?} is neither Unix seconds nor an RFC 3339 date (2024-10-29) or date-time (2024-10-29T14:15:00Z)"
        )
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ObjectArg {
    #[value(name = "payment_records", alias = "payment-records")]
    PaymentRecords,
    #[value(name = "payment_attempt_records", alias = "payment-attempt-records")]
    PaymentAttemptRecords,
    Refunds,
    Events,
}

impl ObjectArg {
    pub fn name(self) -> &'static str {
        match self {
            ObjectArg::PaymentRecords => "payment records",
            ObjectArg::PaymentAttemptRecords => "payment attempt records",
            ObjectArg::Refunds => "refunds",
            ObjectArg::Events => "events",
        }
    }
}

impl From<ObjectArg> for crate::export::ExportObject {
    fn from(o: ObjectArg) -> Self {
        use crate::export::ExportObject as E;
        match o {
            ObjectArg::PaymentRecords => E::PaymentRecords,
            ObjectArg::PaymentAttemptRecords => E::PaymentAttemptRecords,
            ObjectArg::Refunds => E::Refunds,
            ObjectArg::Events => E::Events,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
}

impl From<FormatArg> for crate::export::Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Csv => crate::export::Format::Csv,
            FormatArg::Jsonl => crate::export::Format::Jsonl,
        }
    }
}

/// Test or live data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Test,
    Live,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Deliver an event again: to every endpoint it went to, or to one (`--endpoint we_…`). A
    /// running server sends it within a moment.
    Resend {
        /// The event (evt_…).
        event_id: String,
        /// Only this webhook endpoint (we_…) of the event's account and mode.
        #[arg(long)]
        endpoint: Option<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PAYREC_LISTEN", default_value = LISTEN_DEFAULT)]
    pub listen: String,
    /// Accept any well-formed sk_test_/sk_live_ key; each distinct key is its own account.
    #[arg(long, env = "PAYREC_ACCEPT_ANY_KEY")]
    pub accept_any_key: bool,
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

/// A restricted key's permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Permission {
    Read,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it once.
    Create {
        /// A live-mode key (sk_live_…) instead of test mode.
        #[arg(long)]
        live: bool,
        /// A restricted key (rk_test_… / rk_live_…) with this permission instead of a secret
        /// key: `read` may call every GET of the API and nothing else (for the dashboard, or a
        /// reporting job).
        #[arg(long, value_enum)]
        restricted: Option<Permission>,
        /// The account to create the key for (default: the only account, or a new one).
        #[arg(long)]
        account: Option<String>,
    },
    /// List keys: prefix and last four characters only.
    List,
    /// Revoke a key by its id (key_…).
    Revoke { key_id: String },
}
