//! Command-line options.

use clap::{Parser, ValueEnum};
use payrec::store::sqlite::SqliteSync;

/// Load generator for payrec: scenarios against the real server, ratios to the HTTP ceiling.
#[derive(Debug, Clone, Parser)]
#[command(name = "payrec-bench", version)]
pub struct Args {
    /// Scenarios to run, in order (comma-separated). `ceiling` first gives every other row its
    /// ratio to the ceiling measured in the same run.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "ceiling,retrieve,list,report,report-nokey,lifecycle"
    )]
    pub scenario: Vec<Scenario>,
    /// Keep-alive connections, one per client task.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Fixed rate in requests/s instead of a closed loop: request i is due at start + i/N,
    /// whichever connection is free sends it, and its latency runs from when it was due
    /// (coordinated omission corrected). Single-request scenarios only.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub rate: Option<u64>,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Seconds of load before measuring, per scenario.
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// Runs the scenario list this many times in turn on the same server and reports, per
    /// scenario, the round with the median ratio to the ceiling (median throughput without a
    /// ceiling). Drift on a shared machine then hits every scenario alike.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// Database of the in-process server: sqlite://PATH or postgres://USER@HOST/DB. Default: a
    /// fresh SQLite file in the current directory, removed afterwards. For PostgreSQL a fresh
    /// schema is created in that database and dropped afterwards.
    #[arg(long)]
    pub database_url: Option<String>,
    /// SQLite durability of the in-process server (`full` fsyncs every commit).
    #[arg(long, value_enum, default_value_t = SqliteSync::Full)]
    pub sqlite_synchronous: SqliteSync,
    /// The in-process SQLite server's WAL bound (`payrec serve --sqlite-wal-max-mib`); its
    /// default when not given.
    #[arg(long)]
    pub sqlite_wal_max_mib: Option<u64>,
    /// PostgreSQL pool size of the in-process server.
    #[arg(long, default_value_t = payrec::store::postgres::POOL_CONNECTIONS_DEFAULT)]
    pub pg_max_connections: u32,
    /// Payment records seeded before `retrieve` and `list` (in-process: bulk SQL copies of a
    /// record made through the API; with --url: report_payment calls).
    #[arg(long, default_value_t = 10_000)]
    pub seed: u64,
    /// Live idempotency keys seeded before the scenarios (SQLite only: bulk SQL rows created
    /// over the last 24 hours, each saving a body the size of a report's answer).
    #[arg(long, default_value_t = 0)]
    pub seed_keys: u64,
    /// Calls of each phase of the `amplification` scenario.
    #[arg(long, default_value_t = 1000)]
    pub calls: u64,
    /// Minutes the `soak` scenario runs.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub soak_minutes: u64,
    /// Before the scenarios, create a webhook endpoint for every event type at a receiver in
    /// this process that acknowledges each delivery (payrec's delivery worker then delivers
    /// every event the load makes).
    #[arg(long)]
    pub webhook_endpoint: bool,
    /// Fetches of each page in the dashboard scenario.
    #[arg(long, default_value_t = 200)]
    pub dashboard_samples: usize,
    /// Keep the SQLite file or PostgreSQL schema after the run (to inspect query plans).
    #[arg(long)]
    pub keep_db: bool,
    /// Target a running server (http://HOST:PORT) instead of starting one; needs --key.
    #[arg(long, requires = "key")]
    pub url: Option<String>,
    /// Secret key for --url.
    #[arg(long, env = "PAYREC_BENCH_KEY")]
    pub key: Option<String>,
    /// Threads of the load generator's runtime (the server's runtime has one per core, as
    /// `payrec serve` does).
    #[arg(long, default_value_t = 2)]
    pub client_threads: usize,
    /// Install payrec's log subscriber (one line per request to stderr, as `payrec serve`).
    #[arg(long)]
    pub server_log: bool,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Internal: run as the seeding child process, copying this template record --seed times.
    #[arg(long, hide = true, requires = "database_url")]
    pub seed_copies_of: Option<String>,
    /// Internal: the salt of the seeded ids (with --seed-copies-of).
    #[arg(long, hide = true, default_value_t = 0)]
    pub seed_salt: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// A minimal axum endpoint returning a fixed 1.5 KB JSON body: the HTTP limit.
    Ceiling,
    /// GET /v1/payment_records/:id of a random seeded record.
    Retrieve,
    /// GET /v1/payment_attempt_records?payment_record=…&limit=10 of a random seeded record.
    List,
    /// POST report_payment with a fresh Idempotency-Key, as the SDKs send it.
    Report,
    /// POST report_payment without an Idempotency-Key.
    ReportNokey,
    /// report → failed → new attempt → guaranteed → refund, each step timed on its own.
    Lifecycle,
    /// Keyed report_payment, then a retrieve and a list of the new record, in a loop.
    Mixed,
    /// `mixed` at peak for --soak-minutes, reported minute by minute with the WAL, database and
    /// memory sizes.
    Soak,
    /// report-nokey at peak (or at --rate) for the window with a webhook endpoint, then until
    /// every event has been delivered (or nothing arrives for 5 s: the backlog bound dropped
    /// some): the delivery rate, and how long the backlog left by the load takes to drain.
    Deliver,
    /// The dashboard's pages (overview, payments list, a filtered list, a search by
    /// reference, a payment's page), each fetched --dashboard-samples times one after
    /// another on one signed-in connection: the latency of each page.
    Dashboard,
    /// What the database writes per call: --calls keyed report_payment, then --calls keyed
    /// report_refund, on one connection; rows, index entries, WAL bytes and the writer's CPU.
    Amplification,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Ceiling => "ceiling",
            Scenario::Retrieve => "retrieve",
            Scenario::List => "list",
            Scenario::Report => "report",
            Scenario::ReportNokey => "report-nokey",
            Scenario::Lifecycle => "lifecycle",
            Scenario::Mixed => "mixed",
            Scenario::Soak => "soak",
            Scenario::Deliver => "deliver",
            Scenario::Dashboard => "dashboard",
            Scenario::Amplification => "amplification",
        }
    }

    /// One request per iteration: what a fixed rate (--rate) can pace.
    pub fn single_request(self) -> bool {
        matches!(
            self,
            Scenario::Ceiling | Scenario::Retrieve | Scenario::List | Scenario::Report | Scenario::ReportNokey
        )
    }

    pub fn needs_seed(self) -> bool {
        matches!(self, Scenario::Retrieve | Scenario::List | Scenario::Dashboard)
    }
}
