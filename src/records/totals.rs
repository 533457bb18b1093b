//! A ledger's daily totals, the dashboard's overview: per account, mode, currency and UTC day of
//! a record's `created`, how many records there are and what they carry, by the state of their
//! latest attempt. The store keeps one row per (tenant, currency, day) and adds each write's
//! `TotalsChange` to it in the write's own transaction, so the overview reads a few rows instead
//! of every record, and is never out of step with the ledger. A record contributes to the day it
//! was created on (its `created` and currency never change), so a change only moves amounts
//! between the columns of that one day.

use super::model::{AttemptState, PaymentRecord, portions};

/// Seconds in a (UTC) day: days are `created.div_euclid(SECONDS_PER_DAY)`.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// The UTC day (days since the Unix epoch) a time falls on.
pub fn day_of(time: i64) -> i64 {
    time.div_euclid(SECONDS_PER_DAY)
}

/// How many records and how much (minor units of one currency).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: i64,
    pub amount: i64,
}

/// What the records of one day (or a period) carry. Every record is counted in exactly one of
/// pending, guaranteed, failed and canceled (its latest attempt's state); `refunded` counts the
/// records with any refund and sums their refunds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Every record, with its requested amount.
    pub requested: Tally,
    pub pending: Tally,
    pub guaranteed: Tally,
    pub failed: Tally,
    pub canceled: Tally,
    pub refunded: Tally,
}

/// The stored columns of `Totals`, in `Totals::values` order (fixed names, never client input).
pub const TOTALS_COLUMNS: [&str; 12] = [
    "requested_count",
    "requested_amount",
    "pending_count",
    "pending_amount",
    "guaranteed_count",
    "guaranteed_amount",
    "failed_count",
    "failed_amount",
    "canceled_count",
    "canceled_amount",
    "refunded_count",
    "refunded_amount",
];

impl Totals {
    /// What one record adds to its day.
    pub fn of(record: &PaymentRecord) -> Totals {
        let requested = record.amount_requested.value;
        let one = Tally {
            count: 1,
            amount: requested,
        };
        let mut totals = Totals {
            requested: one,
            ..Totals::default()
        };
        let (guaranteed, failed, canceled) = portions(record.latest_attempt_state, requested);
        match record.latest_attempt_state {
            AttemptState::Pending => totals.pending = one,
            AttemptState::Guaranteed { .. } => {
                totals.guaranteed = Tally {
                    count: 1,
                    amount: guaranteed,
                }
            }
            AttemptState::Failed { .. } => {
                totals.failed = Tally {
                    count: 1,
                    amount: failed,
                }
            }
            AttemptState::Canceled { .. } => {
                totals.canceled = Tally {
                    count: 1,
                    amount: canceled,
                }
            }
        }
        if record.amount_refunded > 0 {
            totals.refunded = Tally {
                count: 1,
                amount: record.amount_refunded,
            };
        }
        totals
    }

    pub fn values(&self) -> [i64; 12] {
        let t = [
            self.requested,
            self.pending,
            self.guaranteed,
            self.failed,
            self.canceled,
            self.refunded,
        ];
        std::array::from_fn(|i| if i % 2 == 0 { t[i / 2].count } else { t[i / 2].amount })
    }

    pub fn from_values(v: [i64; 12]) -> Totals {
        let tally = |i: usize| Tally {
            count: v[2 * i],
            amount: v[2 * i + 1],
        };
        Totals {
            requested: tally(0),
            pending: tally(1),
            guaranteed: tally(2),
            failed: tally(3),
            canceled: tally(4),
            refunded: tally(5),
        }
    }

    fn zip(&self, other: &Totals, f: impl Fn(i64, i64) -> i64) -> Totals {
        let (a, b) = (self.values(), other.values());
        Totals::from_values(std::array::from_fn(|i| f(a[i], b[i])))
    }

    pub fn minus(&self, other: &Totals) -> Totals {
        self.zip(other, |a, b| a - b)
    }

    pub fn plus(&self, other: &Totals) -> Totals {
        self.zip(other, |a, b| a + b)
    }

    pub fn is_zero(&self) -> bool {
        self.values().iter().all(|v| *v == 0)
    }
}

/// What a write adds to one day's totals of one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalsChange {
    /// The record whose write this is.
    pub record_id: String,
    pub day: i64,
    pub currency: String,
    pub delta: Totals,
}

/// What a write that turned `before` (None: the record is new) into `after` adds to the totals;
/// None when nothing the totals count changed (metadata, details).
pub fn totals_change(before: Option<&PaymentRecord>, after: &PaymentRecord) -> Option<TotalsChange> {
    let old = match before {
        Some(before) => {
            assert_eq!(before.id, after.id, "a change keeps its record");
            assert_eq!(before.created, after.created, "a record's created never changes");
            assert_eq!(
                before.amount_requested.currency, after.amount_requested.currency,
                "a record's currency never changes"
            );
            Totals::of(before)
        }
        None => Totals::default(),
    };
    let delta = Totals::of(after).minus(&old);
    (!delta.is_zero()).then(|| TotalsChange {
        record_id: after.id.as_str().to_owned(),
        day: day_of(after.created),
        currency: after.amount_requested.currency.as_str().to_owned(),
        delta,
    })
}

#[cfg(test)]
mod tests;
