//! The production backend: PostgreSQL, any number of payrec replicas on one database. Each
//! write is one transaction; `SELECT … FOR UPDATE` on the record serialises reports on one
//! record, and reports on different records never wait for each other.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use super::doc::{decode, decode_page};
use super::events::{event_filters, events_list, in_order};
use super::page::ListOf;
use super::{
    Backlog, Claim, ClaimedDelivery, DeliveryInfo, DueEndpoint, EventQuery, EventSummary, FailingEndpoint,
    FinishedDelivery, Health, KeyInfo, KeyOwner, ListError, ListQuery, NewKey, NewSession, Outage, PROBE_BYTES, Page,
    PoolUsage, RecordFilter, Resend, Resent, SavedIdempotent, Session, Store, StoreError, Tenant, Write, WriteOutcome,
};
use crate::events::WebhookEndpoint;
use crate::records::model::{PaymentAttemptRecord, PaymentRecord};

mod batch;
mod events;
mod hosts;
mod kept;
mod key_listener;
mod ledger;
mod ops;
mod primary;
mod reads;
mod sessions;
mod statistics;
mod totals;

pub(crate) use reads::doc;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Advisory lock key serialising first-start bootstrap across replicas ("payrec" in ASCII).
const FIRST_ACCOUNT_LOCK: i64 = 0x7061_7972_6563;

pub const POOL_CONNECTIONS_DEFAULT: u32 = 16;
pub const ACQUIRE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct PgOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// Plan every statement for its values (`plan_cache_mode = force_custom_plan`): for a bulk
    /// load into empty tables, where a connection's cached generic plans, made while the tables
    /// were empty, would scan them whole until an ANALYZE (BENCHMARKS.md, the import).
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
}

impl PgStore {
    /// Connects to `url` (which may set `options=-c search_path=…`) and applies migrations.
    /// `url` may name several hosts (`postgres://h1:5432,h2:5433/db`): the store serves the
    /// writable one and follows a promotion (`primary`).
    pub async fn open(url: &str, options: &PgOptions) -> Result<Self, StoreError> {
        let mut hosts = hosts::hosts(url)?;
        if options.custom_plans {
            for host in &mut hosts {
                host.options = host.options.clone().options([("plan_cache_mode", "force_custom_plan")]);
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

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool()?).await?;
        Ok(())
    }

    async fn migrations_current(&self) -> Result<bool, StoreError> {
        let applied: Result<i64, sqlx::Error> =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool()?)
                .await;
        match applied {
            Ok(n) => Ok(n as usize >= MIGRATOR.iter().count()),
            // No bookkeeping table: nothing is applied yet.
            Err(sqlx::Error::Database(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn outage(&self) -> Option<Outage> {
        self.health.outage()
    }

    async fn probe(&self) -> Result<(), StoreError> {
        let probed = sqlx::query(
            "INSERT INTO payrec_probe (id, at, ballast) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET at = excluded.at, ballast = excluded.ballast",
        )
        .bind(crate::clock::unix_now())
        .bind(vec![0u8; PROBE_BYTES])
        .execute(&self.pool()?)
        .await
        .map(|_| ())
        .map_err(StoreError::from);
        self.health.observe(&probed);
        probed
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.primary.close().await;
        Ok(())
    }

    fn pool_usage(&self) -> PoolUsage {
        match self.primary.serving() {
            Ok(serving) => PoolUsage {
                connections: serving.pool.size(),
                idle: serving.pool.num_idle() as u32,
            },
            Err(_) => PoolUsage {
                connections: 0,
                idle: 0,
            },
        }
    }

    async fn count_accounts(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool()?)
            .await?;
        Ok(n as u64)
    }

    async fn create_account(&self, account_id: &str, created: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO accounts (id, created) VALUES ($1, $2)")
            .bind(account_id)
            .bind(created)
            .execute(&self.pool()?)
            .await?;
        Ok(())
    }

    async fn create_first_account(&self, account_id: &str, created: i64) -> Result<bool, StoreError> {
        // Replicas starting together on an empty database: the advisory lock lets one of them
        // check and create while the others wait, then see the account.
        let mut tx = self.pool()?.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FIRST_ACCOUNT_LOCK)
            .execute(&mut *tx)
            .await?;
        let done =
            sqlx::query("INSERT INTO accounts (id, created) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM accounts)")
                .bind(account_id)
                .bind(created)
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn account_exists(&self, account_id: &str) -> Result<bool, StoreError> {
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool()?)
            .await?;
        Ok(found.is_some())
    }

    async fn create_key(&self, key: &NewKey) -> Result<(), StoreError> {
        insert_key(&self.pool()?, key, "").await
    }

    async fn ensure_key_account(&self, key: &NewKey) -> Result<KeyOwner, StoreError> {
        sqlx::query("INSERT INTO accounts (id, created) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
            .bind(&key.tenant.account_id)
            .bind(key.created)
            .execute(&self.pool()?)
            .await?;
        insert_key(&self.pool()?, key, " ON CONFLICT DO NOTHING").await?;
        self.find_key(&key.digest)
            .await?
            .ok_or_else(|| StoreError::Database("a key vanished right after its insert".into()))
    }

    async fn find_key(&self, digest: &[u8; 32]) -> Result<Option<KeyOwner>, StoreError> {
        key_listener::start_listening(&self.keys, &self.primary);
        let lookup = async {
            let row = sqlx::query(
                "SELECT id, account_id, livemode, prefix FROM api_keys WHERE digest = $1 AND revoked_at IS NULL",
            )
            .bind(&digest[..]);
            let serving = self.primary.serving()?;
            let row = serving
                .run(async { Ok(row.fetch_optional(&serving.pool).await?) })
                .await?;
            Ok::<_, StoreError>(row.as_ref().map(key_owner))
        };
        self.keys.find(digest, lookup).await
    }

    async fn list_keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, account_id, livemode, prefix, last4, created, revoked_at FROM api_keys ORDER BY account_id, created, id",
        )
        .fetch_all(&self.pool()?)
        .await?;
        Ok(rows
            .iter()
            .map(|r| KeyInfo {
                key_id: r.get("id"),
                account_id: r.get("account_id"),
                livemode: r.get("livemode"),
                prefix: r.get("prefix"),
                last4: r.get("last4"),
                created: r.get("created"),
                revoked_at: r.get("revoked_at"),
            })
            .collect())
    }

    /// Every replica's key cache forgets its keys when this commits (`key_listener`).
    async fn revoke_key(&self, key_id: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool()?.begin().await?;
        let done = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(key_listener::KEYS_CHANNEL)
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.keys.forget();
        Ok(done.rows_affected() == 1)
    }

    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        sessions::create(&self.pool()?, session).await
    }

    async fn find_session(&self, digest: &[u8; 32], now: i64) -> Result<Option<Session>, StoreError> {
        sessions::find(&self.pool()?, digest, now).await
    }

    async fn delete_session(&self, digest: &[u8; 32], now: i64) -> Result<(), StoreError> {
        sessions::delete(&self.pool()?, digest, now).await
    }

    async fn get_record(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentRecord>, StoreError> {
        let serving = self.primary.serving()?;
        serving
            .run(reads::hot_doc(&serving.kept, RECORD_DOC, tenant, id))
            .await?
            .map(|d| decode(&d))
            .transpose()
    }

    async fn record_exists(&self, tenant: &Tenant, id: &str) -> Result<bool, StoreError> {
        let serving = self.primary.serving()?;
        serving.run(reads::record_exists(&serving.kept, tenant, id)).await
    }

    async fn get_attempt(&self, tenant: &Tenant, id: &str) -> Result<Option<PaymentAttemptRecord>, StoreError> {
        let serving = self.primary.serving()?;
        serving
            .run(reads::hot_doc(&serving.kept, ATTEMPT_DOC, tenant, id))
            .await?
            .map(|d| decode(&d))
            .transpose()
    }

    async fn list_records_where(
        &self,
        tenant: &Tenant,
        query: &ListQuery,
        filter: &RecordFilter,
    ) -> Result<Page<PaymentRecord>, ListError> {
        let conditions = filter.conditions();
        let list = ListOf {
            filters: &conditions,
            ..ListOf::table("payment_records", tenant)
        };
        let page = match conditions.is_empty() {
            true => reads::hot_page(&*self.kept()?, &list, query).await?,
            false => reads::scan_page(&self.pool()?, &self.scans, &list, query).await?,
        };
        Ok(decode_page(page)?)
    }

    async fn list_attempts(
        &self,
        tenant: &Tenant,
        record_id: &str,
        query: &ListQuery,
    ) -> Result<Page<PaymentAttemptRecord>, ListError> {
        let list = ListOf {
            parent: Some(("payment_record", record_id)),
            ..ListOf::table("payment_attempt_records", tenant)
        };
        Ok(decode_page(reads::hot_page(&*self.kept()?, &list, query).await?)?)
    }

    async fn write(&self, write: Write) -> Result<WriteOutcome, StoreError> {
        let serving = self.primary.serving()?;
        let written = serving
            .run(ops::write(&serving.pool, &serving.kept, write))
            .await
            .map(|(outcome, queued)| {
                if queued > 0 {
                    self.delivery_signal.notify_one();
                }
                outcome
            });
        self.health.observe(&written);
        written
    }

    async fn find_idempotent(&self, tenant: &Tenant, key: &str) -> Result<Option<SavedIdempotent>, StoreError> {
        ops::saved(&self.pool()?, tenant, key).await
    }

    async fn prune_idempotent(&self, cutoff: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created < $1")
            .bind(cutoff)
            .execute(&self.pool()?)
            .await?;
        Ok(done.rows_affected())
    }

    async fn get_event(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        events::get_event(&self.pool()?, tenant, id).await
    }

    async fn list_events(&self, tenant: &Tenant, query: &EventQuery) -> Result<Page<String>, ListError> {
        if !query.can_match() {
            return Ok(Page::empty());
        }
        let filters = event_filters(query);
        let list = events_list(tenant, &filters);
        let ids = match filters.is_empty() {
            true => reads::hot_page(&*self.kept()?, &list, &query.page).await?,
            false => reads::scan_page(&self.pool()?, &self.scans, &list, &query.page).await?,
        };
        let bodies = events::events_by_id(&self.pool()?, tenant, &ids.data).await?;
        Ok(Page {
            data: in_order(&ids.data, bodies)?,
            has_more: ids.has_more,
        })
    }

    async fn record_events(&self, tenant: &Tenant, record_id: &str) -> Result<Vec<EventSummary>, StoreError> {
        events::record_events(&self.pool()?, tenant, record_id).await
    }

    async fn get_endpoint(&self, tenant: &Tenant, id: &str) -> Result<Option<WebhookEndpoint>, StoreError> {
        doc(&self.pool()?, ENDPOINT_DOC, tenant, id)
            .await?
            .map(|d| decode(&d))
            .transpose()
    }

    async fn endpoint_secret(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        events::endpoint_secret(&self.pool()?, tenant, id).await
    }

    async fn list_endpoints(&self, tenant: &Tenant, query: &ListQuery) -> Result<Page<WebhookEndpoint>, ListError> {
        let list = ListOf::table("webhook_endpoints", tenant);
        Ok(decode_page(reads::hot_page(&*self.kept()?, &list, query).await?)?)
    }

    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        endpoint_id: Option<&str>,
        event_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeliveryInfo>, StoreError> {
        events::list_deliveries(&self.pool()?, tenant, endpoint_id, event_id, limit).await
    }

    async fn prune_events(&self, cutoff: i64) -> Result<u64, StoreError> {
        events::prune(&self.pool()?, cutoff).await
    }

    async fn refresh_statistics(&self) -> Result<Vec<String>, StoreError> {
        statistics::refresh(&self.pool()?).await
    }

    fn deliveries_queued(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.delivery_signal.clone()
    }

    async fn due_endpoints(&self, now_ms: i64) -> Result<Vec<DueEndpoint>, StoreError> {
        events::due_endpoints(&self.pool()?, now_ms).await
    }

    async fn claim_deliveries(&self, claim: Claim) -> Result<Vec<ClaimedDelivery>, StoreError> {
        events::claim(&self.pool()?, &claim).await
    }

    async fn finish_deliveries(&self, finished: Vec<FinishedDelivery>) -> Result<Vec<FailingEndpoint>, StoreError> {
        events::finish(&self.pool()?, &finished).await
    }

    async fn cap_backlogs(&self, max: u64) -> Result<u64, StoreError> {
        events::cap_backlogs(&self.pool()?, max).await
    }

    async fn delivery_backlog(&self) -> Result<Backlog, StoreError> {
        events::backlog(&self.pool()?).await
    }

    async fn resend_event(&self, resend: &Resend) -> Result<Resent, StoreError> {
        events::resend(&self.pool()?, resend).await
    }
}

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
