//! PostgreSQL's health and upkeep.

use crate::store::postgres::{MIGRATOR, PgStore, statistics};
use crate::store::{Outage, PROBE_BYTES, PoolUsage, StoreError, Upkeep};
use async_trait::async_trait;

#[async_trait]
impl Upkeep for PgStore {
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
    async fn refresh_statistics(&self) -> Result<Vec<String>, StoreError> {
        statistics::refresh(&self.pool()?).await
    }
}
