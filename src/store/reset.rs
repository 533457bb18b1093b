//! Erasing one account's test-mode data (`POST /payrec/v1/test_data/reset`, `payrec reset`):
//! its records, attempts, refunds, events, deliveries, saved idempotent responses and daily
//! totals, and its webhook endpoints when asked, in one transaction. Never live mode, never
//! another account: the write's tenant is the only one named, and it must be test mode.

use async_trait::async_trait;

use super::write::{Mutation, WriteContext, WriteOps};
use super::{StoreError, Tenant};

/// The tables a reset erases a tenant's rows from, in an order the foreign keys allow.
pub const TEST_DATA_TABLES: &[&str] = &[
    "webhook_deliveries",
    "events",
    "refunds",
    "payment_attempt_records",
    "payment_records",
    "idempotency_keys",
    "daily_totals",
];
/// Erased after the rest when the reset asks for it.
pub const ENDPOINTS_TABLE: &str = "webhook_endpoints";

/// The rows of a tenant inside a write's open transaction, as a reset erases them.
#[async_trait]
pub trait ResetRows: Send {
    /// Erases the tenant's rows of `table` (one of `TEST_DATA_TABLES` or `ENDPOINTS_TABLE`);
    /// returns how many.
    async fn erase_rows(&mut self, tenant: &Tenant, table: &'static str) -> Result<u64, StoreError>;
}

/// A reset of the write's tenant, which must be in test mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetTestData {
    /// Also erase the webhook endpoints (by default they stay, with their signing secrets).
    pub webhook_endpoints: bool,
}

/// How many rows of each table were erased, in the order erased.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Erased(pub Vec<(&'static str, u64)>);

#[async_trait]
impl Mutation for ResetTestData {
    type Done = Erased;

    fn reads_its_own_rows(&self) -> bool {
        true
    }

    async fn apply(self, rows: &mut dyn WriteOps, at: &WriteContext<'_>) -> Result<Erased, StoreError> {
        if at.tenant.livemode {
            // The API refuses live keys before this; a live tenant here is a bug, and erases nothing.
            return Err(StoreError::Database("a reset of live-mode data was refused".into()));
        }
        let endpoints = self.webhook_endpoints.then_some(ENDPOINTS_TABLE);
        let mut erased = Vec::with_capacity(TEST_DATA_TABLES.len() + 1);
        for table in TEST_DATA_TABLES.iter().copied().chain(endpoints) {
            erased.push((table, rows.erase_rows(at.tenant, table).await?));
        }
        Ok(Erased(erased))
    }
}
