//! The `payrec` commands: flags (`args`) and what each command does. `main` parses and
//! dispatches; this runs.

use std::sync::Arc;

use crate::base62::random_base62;
use crate::store::postgres::{PgOptions, PgStore};
use crate::store::sqlite::{SqliteOptions, SqliteStore};
use crate::store::{Store, Tenant};

pub mod args;
mod csv_bound;
pub mod doctor;
mod ephemeral;
mod events;
mod export;
mod import;
mod keys;
pub mod listen;
mod output;
mod progress;
mod reconcile;
pub mod remote;
mod run;
pub mod seed;
mod serve;
pub mod trigger;

use args::ServeArgs;
pub use events::events;
pub use export::export_command;
pub use import::import_command;
pub use keys::keys;
pub use reconcile::{REPORT_COLUMNS, reconcile_command};
pub use serve::{bootstrap, serve, shutdown_signal};

/// A CLI failure: a message for the operator.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// The tenant a data command works on: `--account` (which must exist), or the database's only
/// account; and the mode.
pub async fn tenant_of(store: &dyn Store, account: Option<&str>, mode: args::Mode) -> Result<Tenant, Failure> {
    let livemode = mode == args::Mode::Live;
    if let Some(account) = account {
        if !store.account_exists(account).await? {
            return Err(Failure(format!("no account {account} in this database")));
        }
        return Ok(Tenant {
            account_id: account.to_owned(),
            livemode,
        });
    }
    let accounts = store.list_accounts().await?;
    match accounts.as_slice() {
        [only] => Ok(Tenant {
            account_id: only.clone(),
            livemode,
        }),
        [] => Err(Failure("the database holds no account yet".into())),
        many => Err(Failure(format!(
            "the database holds {} accounts: name one with --account ({})",
            many.len(),
            many.join(", ")
        ))),
    }
}

/// Opens the store named by `database_url`, applying migrations.
pub async fn open_store(database_url: &str, serve: &ServeArgs) -> Result<Arc<dyn Store>, Failure> {
    open_store_for(database_url, serve, false).await
}

/// `open_store`; `bulk`: for a bulk load (PostgreSQL plans each statement for its values).
pub async fn open_store_for(database_url: &str, serve: &ServeArgs, bulk: bool) -> Result<Arc<dyn Store>, Failure> {
    if database_url.starts_with("sqlite:") {
        let options = SqliteOptions {
            synchronous: serve.sqlite_synchronous,
            wal_bytes_max: serve.sqlite_wal_max_mib * 1024 * 1024,
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
            custom_plans: bulk,
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

/// Query parameters that carry a secret in a PostgreSQL URL (libpq reads both).
const SECRET_URL_PARAMS: [&str; 2] = ["password", "sslpassword"];

/// A URL without its passwords, for messages: the user info's and any `password` or
/// `sslpassword` query parameter's.
pub fn redact_url(url: &str) -> String {
    let Some(scheme) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let at = url.rfind('@').filter(|at| *at > scheme);
    let mut out = match at.and_then(|at| url[scheme..at].split_once(':').map(|(user, _)| (at, user))) {
        Some((at, user)) => format!("{}{user}:***", &url[..scheme]) + &url[at..],
        None => url.to_owned(),
    };
    let after_authority = out.find('@').unwrap_or(scheme);
    if let Some(q) = out[after_authority..].find('?').map(|q| q + after_authority) {
        let query: Vec<String> = out[q + 1..]
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if SECRET_URL_PARAMS.contains(&name.to_ascii_lowercase().as_str()) => {
                    format!("{name}=***")
                }
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{}?{}", &out[..q], query.join("&"));
    }
    out
}

/// A new account's id.
pub fn new_account_id() -> String {
    format!("acct_{}", random_base62(16))
}

/// `payrec migrate`.
pub async fn migrate(database_url: &str) -> Result<(), Failure> {
    open_store(database_url, &ServeArgs::default()).await?;
    println!("migrations applied to {}", redact_url(database_url));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redact_url_hides_every_password_form() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/payrec"),
            "postgres://app:***@db.internal:5432/payrec"
        );
        assert_eq!(
            redact_url("postgres://app@h1:5432,h2:5432/payrec?password=s3cret&sslmode=require"),
            "postgres://app@h1:5432,h2:5432/payrec?password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://a:b@h/db?sslmode=verify-full&SSLPassword=k&application_name=x"),
            "postgres://a:***@h/db?sslmode=verify-full&SSLPassword=***&application_name=x"
        );
        assert_eq!(redact_url("sqlite://payrec.db"), "sqlite://payrec.db");
        assert!(!redact_url("postgres://u:p@ss@h/db").contains("p@ss"));
    }
}
