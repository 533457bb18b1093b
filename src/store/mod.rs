//! Persistence behind one trait, in the domain's terms: domain objects and commands in, domain
//! objects and results out; nothing here knows HTTP. Each backend has its own SQL and
//! migrations; every query is scoped by `Tenant` (account + livemode), which is also the
//! leading part of every key.

use std::fmt::Debug;

use crate::records::model::{Currency, StateName};
use crate::records::totals::Totals;

mod doc;
mod endpoint_health;
pub mod endpoints;
mod error;
pub mod events;
mod health;
pub mod idempotency;
pub mod import;
pub mod key_cache;
pub mod keys;
pub mod ledger;
mod page;
pub mod postgres;
pub mod reconciliation;
pub mod records;
pub mod reset;
pub mod scan;
pub mod sessions;
mod sql_rows;
pub mod sqlite;
pub mod write;

pub use endpoint_health::{DueEndpoint, FailingEndpoint, HealthChange};
pub use endpoints::{EndpointOutcome, WebhookEndpoints};
pub use error::StoreError;
pub use events::{
    Backlog, Claim, ClaimedDelivery, DeliveryInfo, DeliveryNext, DeliveryState, EventQuery, EventSummary,
    FinishedDelivery, Outbox, Released, Resend, Resent,
};
pub use health::{Health, Outage, PROBE_BYTES, PoolUsage, Upkeep};
pub use idempotency::{Idempotency, IdempotencyRow, SavedIdempotent, SavedResponse};
pub use import::{ImportOutcome, ImportWrite};
pub use keys::{Accounts, KeyInfo, KeyKind, KeyOwner, NewKey};
pub use ledger::{ExportQuery, LedgerQueries};
pub use reconciliation::Reconciliations;
pub use records::{RecordOutcome, RecordWrite, Records};
pub use sessions::{NewSession, Session, Sessions};
pub use write::{IdempotencySave, Mutation, RenderSaved, TypedWrites, Write, WriteOutcome, Writes};

/// The wall between tenants: every row belongs to one account in one mode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant {
    pub account_id: String,
    pub livemode: bool,
}

/// Which page of a list: newest first, `(created, seq)` descending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub limit: usize,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
    /// Exclusive bounds on `created`.
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
}

/// Which payment records a list shows (the dashboard's filters); the default is all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// The latest attempt's state.
    pub state: Option<StateName>,
    pub currency: Option<Currency>,
    /// Bounds on the requested amount, in minor units, inclusive.
    pub amount_at_least: Option<i64>,
    pub amount_at_most: Option<i64>,
}

impl RecordFilter {
    /// The conditions on `payment_records` rows.
    pub(crate) fn conditions(&self) -> Vec<page::Filter<'_>> {
        let mut conditions = Vec::new();
        if let Some(state) = self.state {
            conditions.push(page::Filter::Equals("state", state.as_str()));
        }
        if let Some(currency) = &self.currency {
            conditions.push(page::Filter::Equals("currency", currency.as_str()));
        }
        if let Some(n) = self.amount_at_least {
            conditions.push(page::Filter::AtLeast("amount", n));
        }
        if let Some(n) = self.amount_at_most {
            conditions.push(page::Filter::AtMost("amount", n));
        }
        conditions
    }
}

/// One day's totals of one currency in one tenant (`records::totals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotals {
    pub day: i64,
    pub currency: Currency,
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    pub fn empty() -> Self {
        Page {
            data: Vec::new(),
            has_more: false,
        }
    }
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The cursor id is not an object of this list in this tenant.
    #[error("unknown cursor")]
    UnknownCursor,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything the server holds of its database: each role the store plays, composed. A new
/// resource adds its role here (and to `write::WriteOps` for its rows).
pub trait Store:
    Upkeep
    + Accounts
    + Sessions
    + Records
    + Idempotency
    + Outbox
    + WebhookEndpoints
    + Writes
    + LedgerQueries
    + Reconciliations
    + Debug
{
}

impl<
    T: Upkeep
        + Accounts
        + Sessions
        + Records
        + Idempotency
        + Outbox
        + WebhookEndpoints
        + Writes
        + LedgerQueries
        + Reconciliations
        + Debug,
> Store for T
{
}
