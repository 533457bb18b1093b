//! Whether the store can take writes right now, as the last writes found out. A write that fails
//! because the disk is full or the database is unreachable marks the store out; the next write
//! that commits (a request's, or `/readyz`'s probe) marks it back.

use std::sync::atomic::{AtomicU8, Ordering};

use async_trait::async_trait;

use super::StoreError;

/// Why the store cannot serve writes right now: a condition the operator fixes and the client
/// retries through (a 503 with `Stripe-Should-Retry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// The disk (or the database's quota) is full.
    DiskFull,
    /// The database cannot be reached, is restarting, or is too busy to answer in time.
    DatabaseUnavailable,
}

impl Outage {
    /// What a client is told.
    pub fn describe(self) -> &'static str {
        match self {
            Outage::DiskFull => "its database has no disk space left",
            Outage::DatabaseUnavailable => "its database is unavailable",
        }
    }

    /// As `/readyz` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outage::DiskFull => "disk_full",
            Outage::DatabaseUnavailable => "database_unavailable",
        }
    }
}

impl StoreError {
    /// The outage this failure is a sign of, if it is one (anything else is a bug or corruption).
    pub fn outage(&self) -> Option<Outage> {
        match self {
            StoreError::DiskFull(_) => Some(Outage::DiskFull),
            StoreError::Unavailable(_) | StoreError::Busy(_) | StoreError::Closed => Some(Outage::DatabaseUnavailable),
            StoreError::Corrupt(_) | StoreError::Migrate(_) | StoreError::Database(_) | StoreError::ScanTooLong => None,
        }
    }
}

/// Bytes a readiness probe writes: about what a burst of requests needs, so that a disk with
/// room for one small write left is not reported writable.
pub const PROBE_BYTES: usize = 256 * 1024;

const HEALTHY: u8 = 0;
const DISK_FULL: u8 = 1;
const UNAVAILABLE: u8 = 2;

/// The last outage seen by a write, cleared by the next write that commits.
#[derive(Debug, Default)]
pub struct Health(AtomicU8);

impl Health {
    /// Notes the result of a write.
    pub fn observe<T>(&self, result: &Result<T, StoreError>) {
        match result {
            Ok(_) => self.0.store(HEALTHY, Ordering::Relaxed),
            Err(e) => match e.outage() {
                Some(Outage::DiskFull) => self.0.store(DISK_FULL, Ordering::Relaxed),
                Some(Outage::DatabaseUnavailable) => self.0.store(UNAVAILABLE, Ordering::Relaxed),
                None => {}
            },
        }
    }

    pub fn outage(&self) -> Option<Outage> {
        match self.0.load(Ordering::Relaxed) {
            DISK_FULL => Some(Outage::DiskFull),
            UNAVAILABLE => Some(Outage::DatabaseUnavailable),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_lasts_until_a_write_commits() {
        let health = Health::default();
        assert_eq!(health.outage(), None);
        health.observe::<()>(&Err(StoreError::DiskFull("no space".into())));
        assert_eq!(health.outage(), Some(Outage::DiskFull));
        health.observe::<()>(&Err(StoreError::Database("a bug".into())));
        assert_eq!(health.outage(), Some(Outage::DiskFull), "a bug is not an outage");
        health.observe::<()>(&Err(StoreError::Unavailable("refused".into())));
        assert_eq!(health.outage(), Some(Outage::DatabaseUnavailable));
        health.observe(&Ok(()));
        assert_eq!(health.outage(), None);
    }
}

/// Connections in a backend's pool, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub connections: u32,
    pub idle: u32,
}

/// Health and upkeep: whether the database answers and is current, and tidying it.
#[async_trait]
pub trait Upkeep: Send + Sync {
    /// Whether the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Whether every migration this build knows has been applied.
    async fn migrations_current(&self) -> Result<bool, StoreError>;
    /// The outage the last write ran into, until a write commits again.
    fn outage(&self) -> Option<Outage>;
    /// A small durable write, to find out whether writes work again (clears `outage` if so).
    async fn probe(&self) -> Result<(), StoreError>;
    /// Called once the server has stopped: leaves the database tidy (SQLite: the WAL copied
    /// back and emptied).
    async fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }
    fn pool_usage(&self) -> PoolUsage;
    /// Brings the query planner's statistics up to date where the database does not do so
    /// itself; returns the tables analyzed (PostgreSQL with autovacuum off; SQLite: none).
    async fn refresh_statistics(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
}
