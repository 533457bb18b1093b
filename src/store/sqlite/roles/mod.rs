//! Each role of the store (`store::Store`), as this backend plays it: one file per role.

mod accounts;
mod endpoints;
mod idempotency;
mod outbox;
mod reconciliation;
mod records;
mod reset;
mod sessions;
mod upkeep;
mod writes;
