//! PostgreSQL's SQL for the daily totals (`records::totals`). A day's totals are spread over
//! `SHARDS` rows, picked by record id: every write holds its row's lock until it commits, and
//! on one row every concurrent report would wait for the one before it to reach the disk.

use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

use sqlx::Row;
use sqlx::postgres::{PgConnection, PgPool};

use crate::records::totals::{TOTALS_COLUMNS, Totals, TotalsChange};
use crate::store::{DayTotals, StoreError, Tenant};

/// Rows per tenant, day and currency; a few times the pool's connections.
const SHARDS: u64 = 64;

static ADD_TOTALS: LazyLock<String> = LazyLock::new(|| {
    let columns = TOTALS_COLUMNS.join(", ");
    let values: Vec<String> = (6..6 + TOTALS_COLUMNS.len()).map(|i| format!("${i}")).collect();
    let sums: Vec<String> = TOTALS_COLUMNS
        .iter()
        .map(|c| format!("{c} = daily_totals.{c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO daily_totals (account_id, livemode, day, currency, shard, {columns}) \
         VALUES ($1, $2, $3, $4, $5, {}) ON CONFLICT (account_id, livemode, day, currency, shard) DO UPDATE SET {}",
        values.join(", "),
        sums.join(", ")
    )
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
fn shard_of(record_id: &str) -> i16 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    record_id.hash(&mut h);
    (h.finish() % SHARDS) as i16
}

pub(super) async fn add(conn: &mut PgConnection, tenant: &Tenant, change: &TotalsChange) -> Result<(), StoreError> {
    let mut q = sqlx::query(&ADD_TOTALS)
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(change.day)
        .bind(&change.currency)
        .bind(shard_of(&change.record_id));
    for v in change.delta.values() {
        q = q.bind(v);
    }
    q.execute(conn).await?;
    Ok(())
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
                currency: r.try_get(1)?,
                totals: Totals::from_values(values),
            })
        })
        .collect()
}
