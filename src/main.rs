//! The `payrec` binary: parse the CLI, start tracing, run the command.

use std::io::IsTerminal;

use clap::Parser;
use payrec::cli;
use payrec::cli::args::{Cli, Command, LogFormat, ServeArgs};
use tracing_subscriber::EnvFilter;

/// The log level unless `RUST_LOG` says otherwise: a server's (and `migrate`'s) INFO lines,
/// such as each migration applied, are for its operator's log; a one-off command shows its own
/// progress and summary, and only warnings and errors besides.
fn default_log_filter(command: Option<&Command>) -> &'static str {
    match command {
        None | Some(Command::Serve(_) | Command::Migrate) => "info,sqlx=warn",
        Some(_) => "warn",
    }
}

fn init_tracing(format: LogFormat, default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // Colour only on a terminal: a log file or journald gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => {
            builder.json().flatten_event(true).init();
            payrec::wire::request_log::write_json_to_stderr();
        }
        LogFormat::Pretty => builder.init(),
    }
}

/// mimalloc: the request path allocates many small, short-lived buffers, and glibc's malloc
/// showed up at ~5% of the server threads' profile (docs/decisions.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The exit status of a command that judges its input: 0 all good, 1 not, 2 it could not.
fn judged(result: Result<bool, cli::Failure>) -> std::process::ExitCode {
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(failure) => {
            eprintln!("payrec: {}", failure.0);
            std::process::ExitCode::from(2)
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Cli::parse();
    init_tracing(args.log_format, default_log_filter(args.command.as_ref()));
    match &args.command {
        // 0: everything matched; 1: something did not; 2: the file or the command is wrong.
        Some(Command::Reconcile(reconcile)) => {
            return judged(cli::reconcile_command(&args.database_url, reconcile).await);
        }
        // 0: every line imported (or imported before); 1: some were refused; 2: it stopped.
        Some(Command::Import(import)) => return judged(cli::import_command(&args.database_url, import).await),
        _ => {}
    }
    let result = match &args.command {
        None => cli::serve(&args.database_url, &ServeArgs::default()).await,
        Some(Command::Serve(serve)) => cli::serve(&args.database_url, serve).await,
        Some(Command::Keys(keys)) => cli::keys(&args.database_url, keys).await,
        Some(Command::Migrate) => cli::migrate(&args.database_url).await,
        Some(Command::Doctor) => cli::doctor::doctor(&args.database_url).await,
        Some(Command::Events(events)) => cli::events(&args.database_url, events).await,
        Some(Command::Export(export)) => cli::export_command(&args.database_url, export).await,
        Some(Command::Reset(reset)) => cli::remote::reset(reset).await,
        Some(Command::Listen(listen)) => cli::listen::listen(listen).await,
        Some(Command::Trigger(trigger)) => cli::trigger::trigger(trigger).await,
        Some(Command::Reconcile(_) | Command::Import(_)) => unreachable!("answered above"),
    };
    // The last request lines, still waiting for their batch.
    payrec::wire::request_log::flush();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("payrec: {}", failure.0);
            std::process::ExitCode::FAILURE
        }
    }
}
