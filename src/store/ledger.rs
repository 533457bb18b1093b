//! Reads over a tenant's whole ledger, for people rather than programs: the dashboard's
//! searches and overview, the export, reconciliation. Each is an index search or a keyset page,
//! never a load of everything. Every `Store` answers them.

use async_trait::async_trait;

use super::{DayTotals, StoreError, Tenant};
use crate::records::model::{PaymentAttemptRecord, PaymentRecord, Refund};

/// A keyset page of an export, in the order of the tenant's unique key (an id, or a refund's
/// reference): ids are time-prefixed, so that is about the order they were made in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportQuery {
    /// Only keys after this one.
    pub after: Option<String>,
    /// `created >= created_from`.
    pub created_from: Option<i64>,
    /// `created < created_until`.
    pub created_until: Option<i64>,
    pub limit: usize,
}

/// Most references one `records_by_references` or `refunds_by_references` call takes (well
/// under SQLite's bound parameters).
pub const REFERENCES_PER_LOOKUP_MAX: usize = 500;

/// A guaranteed payment as reconciliation needs it: no document decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuaranteedPayment {
    pub id: String,
    pub payment_reference: Option<String>,
    pub currency: String,
    pub amount: i64,
}

#[async_trait]
pub trait LedgerQueries: Send + Sync {
    /// Every account's id, oldest first.
    async fn list_accounts(&self) -> Result<Vec<String>, StoreError>;
    /// Records whose processor `payment_reference` is `reference`, newest first (an index
    /// search on both backends).
    async fn records_by_reference(
        &self,
        tenant: &Tenant,
        reference: &str,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, StoreError>;
    /// The records whose processor `payment_reference` is one of `references` (at most
    /// `REFERENCES_PER_LOOKUP_MAX`), in no order: one index search per reference, one statement.
    async fn records_by_references(
        &self,
        tenant: &Tenant,
        references: &[String],
    ) -> Result<Vec<PaymentRecord>, StoreError>;
    /// The refunds whose `refund_reference` is one of `references` (at most
    /// `REFERENCES_PER_LOOKUP_MAX`), in no order.
    async fn refunds_by_references(&self, tenant: &Tenant, references: &[String]) -> Result<Vec<Refund>, StoreError>;
    /// The record a refund with this `refund_reference` belongs to.
    async fn record_of_refund(&self, tenant: &Tenant, refund_reference: &str) -> Result<Option<String>, StoreError>;
    /// The newest records whose stored document contains `text` (case-insensitive): customer
    /// email or name, description, metadata values. A scan of the tenant's records, newest
    /// first, stopping at `limit` matches.
    async fn records_containing(
        &self,
        tenant: &Tenant,
        text: &str,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, StoreError>;
    /// Every refund reported on a record, oldest first.
    async fn list_refunds(&self, tenant: &Tenant, record_id: &str) -> Result<Vec<Refund>, StoreError>;
    /// The totals of the days `first_day..=last_day` (UTC days since the epoch), of every
    /// currency, oldest first: a few rows per day, however many records.
    async fn daily_totals(&self, tenant: &Tenant, first_day: i64, last_day: i64) -> Result<Vec<DayTotals>, StoreError>;
    /// A page of the tenant's records whose latest attempt is guaranteed, by id: their columns
    /// only (the reconciliation's `missing_in_file` walk).
    async fn guaranteed_payments(
        &self,
        tenant: &Tenant,
        query: &ExportQuery,
    ) -> Result<Vec<GuaranteedPayment>, StoreError>;
    /// A page of the tenant's attempts, by id.
    async fn export_attempts(
        &self,
        tenant: &Tenant,
        query: &ExportQuery,
    ) -> Result<Vec<PaymentAttemptRecord>, StoreError>;
    /// A page of the tenant's refunds, by `refund_reference`.
    async fn export_refunds(&self, tenant: &Tenant, query: &ExportQuery) -> Result<Vec<Refund>, StoreError>;
}
