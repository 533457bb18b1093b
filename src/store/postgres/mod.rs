//! The production backend: PostgreSQL, any number of payrec replicas on one database. Each
//! write is one transaction; `SELECT … FOR UPDATE` on the record serialises reports on one
//! record, and reports on different records never wait for each other.

use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use super::{Health, KeyOwner, NewKey, StoreError, Tenant};

mod batch;
mod committer;
mod events;
mod group;
mod hosts;
mod kept;
mod key_listener;
mod ledger;
mod ops;
mod primary;
mod reads;
mod roles;
mod sessions;
mod sql_rows;
mod statistics;
mod totals;

pub use committer::{GROUP_WRITES_MAX, GROUPS_IN_FLIGHT};
pub(crate) use reads::doc;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Advisory lock key serialising first-start bootstrap across replicas ("payrec" in ASCII).
const FIRST_ACCOUNT_LOCK: i64 = 0x7061_7972_6563;

pub const POOL_CONNECTIONS_DEFAULT: u32 = 16;
pub const ACQUIRE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);

/// `random_page_cost` of a bulk command's connections (`PgOptions::custom_plans`).
pub const BULK_RANDOM_PAGE_COST: &str = "1.1";

#[derive(Debug, Clone)]
pub struct PgOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// A bulk command's connections (import, reconcile). Every statement is planned for its
    /// values (`plan_cache_mode = force_custom_plan`): in a bulk load into empty tables, a
    /// connection's cached generic plans, made while the tables were empty, would scan them
    /// whole until an ANALYZE (BENCHMARKS.md, the import). And an index probe is costed as the
    /// page in memory it is (`random_page_cost = 1.1`): at the default 4, a lookup of 500
    /// references among 50,000 refunds read the whole table, 7 ms against 1 ms (issue 32).
    pub custom_plans: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: POOL_CONNECTIONS_DEFAULT,
            acquire_timeout: ACQUIRE_TIMEOUT_DEFAULT,
            custom_plans: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PgStore {
    /// The writable host among the URL's, and the pool and kept connections to it: a pool per
    /// primary, replaced when another host is promoted (`primary`).
    primary: std::sync::Arc<primary::Primary>,
    health: std::sync::Arc<Health>,
    delivery_signal: std::sync::Arc<tokio::sync::Notify>,
    keys: std::sync::Arc<crate::store::key_cache::KeyCache>,
    /// The turns of reads that scan (`store::scan`).
    scans: crate::store::scan::Scans,
    /// This process's group commit (`committer`).
    committer: std::sync::Arc<committer::Committer>,
}

impl PgStore {
    /// Connects to `url` (which may set `options=-c search_path=…`) and applies migrations.
    /// `url` may name several hosts (`postgres://h1:5432,h2:5433/db`): the store serves the
    /// writable one and follows a promotion (`primary`).
    pub async fn open(url: &str, options: &PgOptions) -> Result<Self, StoreError> {
        let mut hosts = hosts::hosts(url)?;
        if options.custom_plans {
            for host in &mut hosts {
                host.options = host.options.clone().options([
                    ("plan_cache_mode", "force_custom_plan"),
                    ("random_page_cost", BULK_RANDOM_PAGE_COST),
                ]);
            }
        }
        let settings = primary::PoolSettings {
            max_connections: options.max_connections,
            acquire_timeout: options.acquire_timeout,
        };
        let primary = primary::Primary::connect(hosts, settings).await?;
        MIGRATOR.run(&primary.serving()?.pool).await?;
        Ok(PgStore {
            primary,
            health: Default::default(),
            delivery_signal: Default::default(),
            keys: Default::default(),
            scans: Default::default(),
            committer: Default::default(),
        })
    }

    /// The pool to the current primary; an error at once while no host is writable.
    pub fn pool(&self) -> Result<PgPool, StoreError> {
        Ok(self.primary.serving()?.pool.clone())
    }

    fn kept(&self) -> Result<std::sync::Arc<kept::KeptConnections>, StoreError> {
        Ok(self.primary.serving()?.kept.clone())
    }

    /// The current primary's `host:port`, if one is writable.
    pub fn primary_host(&self) -> Option<String> {
        self.primary.host().map(str::to_owned)
    }
}

fn key_owner(row: &PgRow) -> KeyOwner {
    KeyOwner {
        key_id: row.get("id"),
        tenant: Tenant {
            account_id: row.get("account_id"),
            livemode: row.get("livemode"),
        },
        kind: crate::store::KeyKind::of_prefix(row.get("prefix")),
    }
}

pub(crate) const RECORD_DOC: &str =
    "SELECT doc FROM payment_records WHERE account_id = $1 AND livemode = $2 AND id = $3";
pub(crate) const RECORD_DOC_FOR_UPDATE: &str =
    "SELECT doc FROM payment_records WHERE account_id = $1 AND livemode = $2 AND id = $3 FOR UPDATE";
pub(crate) const ENDPOINT_DOC: &str =
    "SELECT doc FROM webhook_endpoints WHERE account_id = $1 AND livemode = $2 AND id = $3";
pub(crate) const ATTEMPT_DOC: &str =
    "SELECT doc FROM payment_attempt_records WHERE account_id = $1 AND livemode = $2 AND id = $3";

async fn insert_key(pool: &PgPool, key: &NewKey, conflict: &str) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO api_keys (account_id, livemode, id, digest, prefix, last4, created) VALUES ($1, $2, $3, $4, $5, $6, $7){conflict}"
    );
    sqlx::query(&sql)
        .bind(&key.tenant.account_id)
        .bind(key.tenant.livemode)
        .bind(&key.key_id)
        .bind(&key.digest[..])
        .bind(&key.prefix)
        .bind(&key.last4)
        .bind(key.created)
        .execute(pool)
        .await?;
    Ok(())
}
