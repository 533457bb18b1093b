//! `payrec serve`: open the store, create the first account on an empty database, listen, run
//! the background jobs, and shut down gracefully on Ctrl-C or SIGTERM.

use super::args::ServeArgs;
use super::ephemeral::Ephemeral;
use super::{Failure, new_account_id, open_store, redact_url, seed};
use crate::clock::unix_now;
use crate::state::{AppState, ServerConfig};
use crate::store::{Store, Tenant};
use crate::wire::auth::generate_key;

/// On an empty database: one account with a test and a live key, printed once.
pub async fn bootstrap(store: &dyn Store) -> Result<(), Failure> {
    let account_id = new_account_id();
    let now = unix_now();
    if !store.create_first_account(&account_id, now).await? {
        return Ok(());
    }
    let test = generate_key(
        Tenant {
            account_id: account_id.clone(),
            livemode: false,
        },
        now,
    );
    let live = generate_key(
        Tenant {
            account_id: account_id.clone(),
            livemode: true,
        },
        now,
    );
    store.create_key(&test.stored).await?;
    store.create_key(&live.stored).await?;
    println!("================================================================");
    println!(" payrec created account {account_id} with these API keys.");
    println!(" They are shown only this once; payrec stores only their digests.");
    println!();
    println!("   test mode: {}", test.secret);
    println!("   live mode: {}", live.secret);
    println!();
    println!(" More keys: payrec keys create [--live]");
    println!("================================================================");
    Ok(())
}

/// One `payrec serve` per SQLite file: its writer numbers rows and tracks in-flight idempotency
/// keys in memory. The lock is held until the process exits.
pub(super) fn lock_sqlite_for_serving(database_url: &str) -> Result<Option<std::fs::File>, Failure> {
    if !database_url.starts_with("sqlite:") {
        return Ok(None);
    }
    let mut path = crate::store::sqlite::path_of(database_url)?.into_os_string();
    path.push(".serve-lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(_) => Err(Failure(format!(
            "another `payrec serve` is already serving {database_url}: one server per SQLite file \
             (use PostgreSQL for several replicas)"
        ))),
    }
}

/// `payrec serve`.
pub async fn serve(database_url: &str, args: &ServeArgs) -> Result<(), Failure> {
    // The recorder first: opening the store already records (the PostgreSQL primary found).
    crate::telemetry::handle();
    // Declared first, so dropped last: the database is removed after the store is closed.
    let ephemeral = args.ephemeral.then(Ephemeral::create).transpose()?;
    let database_url = ephemeral.as_ref().map_or(database_url, |e| e.database_url.as_str());
    // The seed is checked whole before the database is opened: a refused file writes nothing.
    let seed = match &args.seed {
        Some(path) => Some((path, seed::read(path, &args.webhooks().destinations)?)),
        None => None,
    };
    let _serving = lock_sqlite_for_serving(database_url)?;
    let store = open_store(database_url, args).await?;
    match seed {
        Some((path, seed)) => {
            let applied = seed::apply(store.as_ref(), seed).await?;
            println!("payrec applied the seed file {}: {applied}", path.display());
        }
        None => bootstrap(store.as_ref()).await?,
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| Failure(format!("cannot listen on {}: {e}", args.listen)))?;
    let address = listener.local_addr()?;
    let delay_after_commit = std::env::var("PAYREC_TEST_DELAY_AFTER_COMMIT_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(std::time::Duration::from_millis);
    let config = ServerConfig {
        accept_any_key: args.accept_any_key,
        extensions: args.extensions,
        allow_simulation: args.allow_simulation,
        delay_after_commit,
        metrics_on_api: args.metrics_listen.is_none(),
        webhooks: args.webhooks(),
        dashboard: !args.no_dashboard,
        limits: args.limits(),
        rate_limits: args.rate_limits(),
        public_url: args.public_url.clone(),
        ..ServerConfig::default()
    };
    let state = AppState::new(store, config);
    if let Some(metrics_listen) = &args.metrics_listen {
        let metrics_listener = tokio::net::TcpListener::bind(metrics_listen)
            .await
            .map_err(|e| Failure(format!("cannot listen on {metrics_listen} for metrics: {e}")))?;
        println!("payrec metrics on http://{}/metrics", metrics_listener.local_addr()?);
        let metrics_app = crate::app::metrics_app(state.clone());
        tokio::spawn(async move {
            let limits = crate::server::Limits::default();
            let never = std::future::pending::<()>();
            if let Err(e) = crate::server::serve(metrics_listener, metrics_app, &limits, never).await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    println!(
        "payrec listening on http://{address} (database {})",
        redact_url(database_url)
    );
    crate::jobs::spawn(&state);
    let store = state.store.clone();
    crate::app::serve(listener, state, shutdown_signal()).await?;
    if let Err(e) = store.close().await {
        tracing::warn!(error = %e, "closing the database after the last request failed");
    }
    tracing::info!("payrec stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
