//! Command-line flags with environment fallbacks. Defaults work on a fresh machine: an
//! embedded SQLite file in the current directory and 127.0.0.1:12111.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::store::sqlite::WAL_BYTES_MAX_DEFAULT;

mod serve;

pub use serve::{LISTEN_DEFAULT, RetryDelays, ServeArgs};

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
    /// Erase the key's account's test-mode data on a running payrec (records, attempts,
    /// refunds, events, deliveries, idempotency keys), through its API: a test's clean slate.
    Reset(ResetArgs),
    /// Forward each new event of the key's account to a URL, signed, printing the receiver's
    /// answers, as `stripe listen` does; the webhook endpoint it makes is removed at Ctrl-C.
    Listen(ListenArgs),
    /// Make the API calls that emit an event type (and print what they created), as
    /// `stripe trigger` does.
    Trigger(TriggerArgs),
}

/// Where a running payrec is and the key to call it with: these commands use its API, never a
/// database, so they work against a payrec on another machine.
#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    /// The account's secret key (a test key for `reset`).
    #[arg(long, env = "PAYREC_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// The server's address.
    #[arg(long, env = "PAYREC_URL", default_value = "http://127.0.0.1:12111")]
    pub url: url::Url,
}

#[derive(Debug, Clone, Args)]
pub struct ResetArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Also erase the account's test-mode webhook endpoints.
    #[arg(long)]
    pub webhook_endpoints: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Where to send each event (`http://localhost:3000/webhooks`).
    #[arg(long)]
    pub forward_to: url::Url,
    /// Only these event types, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    pub events: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct TriggerArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// The event type to emit (`payment_attempt_record.guaranteed`, …).
    pub event: String,
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
    /// The file: a bank statement (camt.053, MT940, BAI2) or a CSV with a header line.
    pub file: std::path::PathBuf,
    /// The file's format; by default sniffed from its first bytes.
    #[arg(long, value_enum)]
    pub format: Option<StatementFormatArg>,
    /// The matching rules (TOML: references in free text, an amount tolerance); by default
    /// exact amounts, references also looked for in a statement's free text.
    #[arg(long)]
    pub rules: Option<std::path::PathBuf>,
    /// A processor's settlement report (CSV: payout_id, payment_reference, currency, gross,
    /// fee, net): a line naming a payout matches the payments it lists, less their fees.
    #[arg(long)]
    pub settlement: Option<std::path::PathBuf>,
    /// Judge and report only: keep no run, set no payment's status, emit no event.
    #[arg(long)]
    pub dry_run: bool,
    /// CSV: the column holding the processor reference (`payment_reference`, or a refund's
    /// `refund_reference`).
    #[arg(long)]
    pub reference_column: Option<String>,
    /// CSV: the column holding the amount.
    #[arg(long)]
    pub amount_column: Option<String>,
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

/// `payrec reconcile --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatementFormatArg {
    Camt053,
    Mt940,
    Bai2,
    Csv,
}

impl StatementFormatArg {
    pub fn format(self) -> crate::statements::Format {
        match self {
            StatementFormatArg::Camt053 => crate::statements::Format::Camt053,
            StatementFormatArg::Mt940 => crate::statements::Format::Mt940,
            StatementFormatArg::Bai2 => crate::statements::Format::Bai2,
            StatementFormatArg::Csv => crate::statements::Format::Csv,
        }
    }
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
