//! SQLite's health and upkeep.

use crate::store::sqlite::{SqliteStore, checkpoint, migrate, writer};
use crate::store::{Outage, PoolUsage, StoreError, Upkeep};
use async_trait::async_trait;
use tokio::sync::oneshot;

#[async_trait]
impl Upkeep for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.reads.with(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
    }
    async fn migrations_current(&self) -> Result<bool, StoreError> {
        self.reads.with(migrate::current)
    }
    fn outage(&self) -> Option<Outage> {
        self.health.outage()
    }
    async fn close(&self) -> Result<(), StoreError> {
        self.admin(|conn| checkpoint::truncate(conn)).await
    }
    async fn probe(&self) -> Result<(), StoreError> {
        let (reply, result) = oneshot::channel();
        self.writes
            .send(writer::WriteRequest::Probe(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }
    fn pool_usage(&self) -> PoolUsage {
        // The writer and the admin connection, and the idle readers (more open under load).
        let idle = self.reads.idle() as u32;
        PoolUsage {
            connections: idle + 2,
            idle,
        }
    }
}
