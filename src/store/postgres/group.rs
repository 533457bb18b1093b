//! The rows of writes that insert and read nothing first (report_payment), as data, so that
//! the rows of many such writes are sent as one statement of one transaction (group commit,
//! `committer`): one INSERT per table, each fed by arrays (`unnest`), instead of a statement
//! per write with an INSERT per row.
//!
//! Rows are locked in one order by every write of every replica, so that two groups never
//! deadlock: a record's row before the totals (writes that lock a record), the daily totals'
//! rows sorted by their key, then the idempotency keys sorted. Records, attempts, events and
//! deliveries are new rows with new ids, which lock nothing another write waits for.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use sqlx::postgres::PgConnection;

use super::batch::BatchError;
use crate::records::model::{PaymentAttemptRecord, PaymentRecord};
use crate::records::totals::{TOTALS_COLUMNS, Totals, TotalsChange};
use crate::store::doc::encode;
use crate::store::write::PackedEvent;
use crate::store::{IdempotencyRow, SavedResponse, Tenant};

/// A daily totals row: tenant, day, currency, shard.
type TotalsKey = (String, bool, i64, String, i16);

/// The rows one write (or a group of them) inserts.
#[derive(Debug, Default)]
pub(super) struct NewRows {
    /// How many writes' rows these are.
    writes: usize,
    records: Vec<(Tenant, RecordRow)>,
    attempts: Vec<(Tenant, AttemptRow)>,
    events: Vec<(Tenant, PackedEvent)>,
    /// The deliveries' first attempt is due then (ms); a group's is its latest write's.
    due_ms: i64,
    /// Summed per row: a group's several changes of one row are one upsert.
    totals: BTreeMap<TotalsKey, Totals>,
    /// Sorted: the order keys are inserted, and so locked, in.
    keys: BTreeMap<(String, bool, String), KeyRow>,
    /// How long a saved key is replayed (`created - expired_before`), the same for a group's
    /// keys: one statement compares each key with it.
    retention: Option<i64>,
}

#[derive(Debug)]
struct RecordRow {
    id: String,
    created: i64,
    doc: String,
    payment_reference: Option<String>,
    currency: String,
    amount: i64,
    state: String,
}

#[derive(Debug)]
struct AttemptRow {
    id: String,
    payment_record: String,
    created: i64,
    state: String,
    doc: String,
}

#[derive(Debug)]
struct KeyRow {
    fingerprint: String,
    request_id: String,
    status: i32,
    packed_body: Vec<u8>,
    created: i64,
}

impl NewRows {
    /// The rows of one write, none yet.
    pub fn of_one_write() -> Self {
        NewRows {
            writes: 1,
            ..NewRows::default()
        }
    }

    pub fn writes(&self) -> usize {
        self.writes
    }

    pub fn insert_record(&mut self, tenant: &Tenant, record: &PaymentRecord) {
        let row = RecordRow {
            id: record.id.as_str().to_owned(),
            created: record.created,
            doc: encode(record),
            payment_reference: record.details.processor_details.payment_reference.clone(),
            currency: record.amount_requested.currency.as_str().to_owned(),
            amount: record.amount_requested.value,
            state: record.latest_attempt_state.as_str().to_owned(),
        };
        self.records.push((tenant.clone(), row));
    }

    pub fn insert_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) {
        let row = AttemptRow {
            id: attempt.id.as_str().to_owned(),
            payment_record: attempt.payment_record.as_str().to_owned(),
            created: attempt.created,
            state: attempt.state.as_str().to_owned(),
            doc: encode(attempt),
        };
        self.attempts.push((tenant.clone(), row));
    }

    pub fn insert_events(&mut self, tenant: &Tenant, events: &[PackedEvent], now_ms: i64) {
        self.events.extend(events.iter().map(|e| (tenant.clone(), e.clone())));
        self.due_ms = self.due_ms.max(now_ms);
    }

    pub fn add_totals(&mut self, tenant: &Tenant, change: &TotalsChange, shard: i16) {
        let key = (
            tenant.account_id.clone(),
            tenant.livemode,
            change.day,
            change.currency.clone(),
            shard,
        );
        self.add_to_totals(key, &change.delta);
    }

    fn add_to_totals(&mut self, key: TotalsKey, delta: &Totals) {
        let sums = self.totals.entry(key).or_default();
        *sums = sums.plus(delta);
    }

    pub fn save_key(&mut self, tenant: &Tenant, idem: &IdempotencyRow, response: &SavedResponse) {
        let retention = idem.created - idem.expired_before;
        assert!(self.retention.is_none_or(|r| r == retention), "one write saves one key");
        self.retention = Some(retention);
        let row = KeyRow {
            fingerprint: idem.fingerprint.clone(),
            request_id: idem.request_id.clone(),
            status: i32::from(response.status),
            packed_body: response.packed_body(),
            created: idem.created,
        };
        let previous = self
            .keys
            .insert((tenant.account_id.clone(), tenant.livemode, idem.key.clone()), row);
        assert!(previous.is_none(), "one write saves one key");
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
            && self.attempts.is_empty()
            && self.events.is_empty()
            && self.totals.is_empty()
            && self.keys.is_empty()
    }

    /// Whether `other` can join this group: it saves none of the same keys (one statement
    /// cannot insert a key twice) and keeps its keys as long.
    pub fn fits(&self, other: &NewRows) -> bool {
        let same_retention = match (self.retention, other.retention) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        same_retention && other.keys.keys().all(|k| !self.keys.contains_key(k))
    }

    /// Adds `other`'s rows to this group's (`fits` first).
    pub fn append(&mut self, other: NewRows) {
        assert!(self.fits(&other), "a group's writes save different keys");
        self.writes += other.writes;
        self.records.extend(other.records);
        self.attempts.extend(other.attempts);
        self.events.extend(other.events);
        self.due_ms = self.due_ms.max(other.due_ms);
        for (key, delta) in other.totals {
            self.add_to_totals(key, &delta);
        }
        self.keys.extend(other.keys);
        self.retention = self.retention.or(other.retention);
    }
}

mod statement;
pub(super) use statement::run;

#[cfg(test)]
mod tests;
