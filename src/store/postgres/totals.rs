//! PostgreSQL's SQL for the daily totals (`records::totals`). A day's totals are spread over
//! `SHARDS` rows, picked by record id: every write holds its row's lock until it commits, and
//! on one row every concurrent report would wait for the one before it to reach the disk.

use crate::records::model::Currency;
use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

use sqlx::Row;
use sqlx::postgres::PgPool;

use super::batch::{Batch, Rows};

use crate::records::totals::{TOTALS_COLUMNS, Totals, TotalsChange};
use crate::store::{DayTotals, StoreError, Tenant};

/// Rows per tenant, day and currency; a few times the pool's connections.
const SHARDS: u64 = 64;

/// The totals upsert's text around its placeholders: the same for every write (and every
/// group, `group`), made once.
pub(super) static UPSERT_COLUMNS: LazyLock<String> = LazyLock::new(|| TOTALS_COLUMNS.join(", "));
pub(super) static UPSERT_SUMS: LazyLock<String> = LazyLock::new(|| {
    let sums: Vec<String> = TOTALS_COLUMNS
        .iter()
        .map(|c| format!("{c} = daily_totals.{c} + excluded.{c}"))
        .collect();
    sums.join(", ")
});

static DAILY: LazyLock<String> = LazyLock::new(|| {
    let sums: Vec<String> = TOTALS_COLUMNS.iter().map(|c| format!("sum({c})::bigint")).collect();
    format!(
        "SELECT day, currency, {} FROM daily_totals WHERE account_id = $1 AND livemode = $2 \
         AND day BETWEEN $3 AND $4 GROUP BY day, currency ORDER BY day, currency",
        sums.join(", ")
    )
});

/// The shard a record's changes go to: the same for every change of one record.
pub(super) fn shard_of(record_id: &str) -> i16 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    record_id.hash(&mut h);
    (h.finish() % SHARDS) as i16
}

/// Adds `change` to its day's totals (the record's shard), in a write's batch.
pub(super) fn push_add(batch: &mut Batch, tenant: &Tenant, change: &TotalsChange) {
    let keys = [
        batch.bind(&tenant.account_id),
        batch.bind(tenant.livemode),
        batch.bind(change.day),
        batch.bind(&change.currency),
        batch.bind(shard_of(&change.record_id)),
    ];
    let values: Vec<String> = change.delta.values().iter().map(|v| batch.bind(*v)).collect();
    batch.push(
        format!(
            "INSERT INTO daily_totals (account_id, livemode, day, currency, shard, {}) VALUES ({}, {}) \
             ON CONFLICT (account_id, livemode, day, currency, shard) DO UPDATE SET {} RETURNING 1",
            *UPSERT_COLUMNS,
            keys.join(", "),
            values.join(", "),
            *UPSERT_SUMS
        ),
        Rows::One,
    );
}

pub(super) async fn daily(
    pool: &PgPool,
    tenant: &Tenant,
    first_day: i64,
    last_day: i64,
) -> Result<Vec<DayTotals>, StoreError> {
    let rows = sqlx::query(&DAILY)
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(first_day)
        .bind(last_day)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            let mut values = [0i64; TOTALS_COLUMNS.len()];
            for (i, v) in values.iter_mut().enumerate() {
                *v = r.try_get(2 + i)?;
            }
            Ok(DayTotals {
                day: r.try_get(0)?,
                currency: Currency::new_unchecked(r.try_get::<String, _>(1)?),
                totals: Totals::from_values(values),
            })
        })
        .collect()
}
