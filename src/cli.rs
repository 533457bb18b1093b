//! What each CLI command does. `main` parses and dispatches; this runs.

use std::sync::Arc;

use crate::config::{KeysCommand, ServeArgs};
use crate::store::postgres::{PgOptions, PgStore};
use crate::store::sqlite::{SqliteOptions, SqliteStore};
use crate::store::{Store, Tenant};
use crate::wire::auth::{generate_key, random_base62};
use crate::{AppState, ServerConfig, unix_now};

/// A CLI failure: a message for the operator.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// Opens the store named by `database_url`, applying migrations.
pub async fn open_store(database_url: &str, serve: &ServeArgs) -> Result<Arc<dyn Store>, Failure> {
    if database_url.starts_with("sqlite:") {
        let options = SqliteOptions {
            synchronous: serve.sqlite_synchronous,
            ..SqliteOptions::default()
        };
        let store = SqliteStore::open(database_url, &options)
            .await
            .map_err(|e| Failure(format!("cannot open the SQLite database {database_url}: {e}")))?;
        return Ok(Arc::new(store));
    }
    if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        let options = PgOptions {
            max_connections: serve.pg_max_connections,
            acquire_timeout: std::time::Duration::from_secs(serve.pg_acquire_timeout_secs),
        };
        let store = PgStore::open(database_url, &options).await.map_err(|e| {
            Failure(format!(
                "cannot open the PostgreSQL database {}: {e}",
                redact_url(database_url)
            ))
        })?;
        return Ok(Arc::new(store));
    }
    Err(Failure(format!(
        "unsupported DATABASE_URL {:?}: use sqlite://PATH (embedded) or postgres://USER@HOST/DB",
        redact_url(database_url)
    )))
}

/// A URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _password)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

fn new_account_id() -> String {
    format!("acct_{}", random_base62(16))
}

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
fn lock_sqlite_for_serving(database_url: &str) -> Result<Option<std::fs::File>, Failure> {
    use std::str::FromStr;
    if !database_url.starts_with("sqlite:") {
        return Ok(None);
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)?;
    let mut path = options.get_filename().as_os_str().to_owned();
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
    let _serving = lock_sqlite_for_serving(database_url)?;
    let store = open_store(database_url, args).await?;
    bootstrap(store.as_ref()).await?;
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
        delay_after_commit,
        metrics_on_api: args.metrics_listen.is_none(),
        ..ServerConfig::default()
    };
    let state = AppState::new(store, config);
    if let Some(metrics_listen) = &args.metrics_listen {
        let metrics_listener = tokio::net::TcpListener::bind(metrics_listen)
            .await
            .map_err(|e| Failure(format!("cannot listen on {metrics_listen} for metrics: {e}")))?;
        println!("payrec metrics on http://{}/metrics", metrics_listener.local_addr()?);
        let metrics_app = crate::metrics_app(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics_listener, metrics_app).await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    println!(
        "payrec listening on http://{address} (database {})",
        redact_url(database_url)
    );
    crate::wire::idempotency::spawn_pruner(state.clone());
    crate::serve(listener, state, shutdown_signal()).await?;
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

/// `payrec keys …`.
pub async fn keys(database_url: &str, command: &KeysCommand) -> Result<(), Failure> {
    let store = open_store(database_url, &ServeArgs::default()).await?;
    match command {
        KeysCommand::Create { live, account } => create_key(store.as_ref(), *live, account.as_deref()).await,
        KeysCommand::List => {
            let keys = store.list_keys().await?;
            println!(
                "{:<22} {:<22} {:<5} {:<20} {:<8}",
                "KEY ID", "ACCOUNT", "MODE", "KEY", "STATUS"
            );
            for k in keys {
                let status = if k.revoked_at.is_some() { "revoked" } else { "active" };
                let mode = if k.livemode { "live" } else { "test" };
                let shown = format!("{}…{}", k.prefix, k.last4);
                println!(
                    "{:<22} {:<22} {:<5} {:<20} {:<8}",
                    k.key_id, k.account_id, mode, shown, status
                );
            }
            Ok(())
        }
        KeysCommand::Revoke { key_id } => {
            if store.revoke_key(key_id, unix_now()).await? {
                println!("revoked {key_id}");
                Ok(())
            } else {
                Err(Failure(format!(
                    "no active key with id {key_id} (see `payrec keys list`)"
                )))
            }
        }
    }
}

async fn create_key(store: &dyn Store, live: bool, account: Option<&str>) -> Result<(), Failure> {
    let now = unix_now();
    let account_id = match account {
        Some(id) if store.account_exists(id).await? => id.to_owned(),
        Some(id) => return Err(Failure(format!("no account {id} (see `payrec keys list`)"))),
        None => default_account(store, now).await?,
    };
    let key = generate_key(
        Tenant {
            account_id: account_id.clone(),
            livemode: live,
        },
        now,
    );
    store.create_key(&key.stored).await?;
    println!(
        "created {} for account {account_id}; shown only this once:",
        key.stored.key_id
    );
    println!("{}", key.secret);
    Ok(())
}

/// The only account, or a new one on an empty database.
async fn default_account(store: &dyn Store, now: i64) -> Result<String, Failure> {
    let keys = store.list_keys().await?;
    let mut accounts: Vec<&str> = keys.iter().map(|k| k.account_id.as_str()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    match accounts.as_slice() {
        [] if store.count_accounts().await? == 0 => {
            let id = new_account_id();
            store.create_account(&id, now).await?;
            Ok(id)
        }
        [only] => Ok((*only).to_owned()),
        _ => Err(Failure("several accounts exist: pass --account acct_…".into())),
    }
}

/// `payrec migrate`.
pub async fn migrate(database_url: &str) -> Result<(), Failure> {
    open_store(database_url, &ServeArgs::default()).await?;
    println!("migrations applied to {}", redact_url(database_url));
    Ok(())
}
