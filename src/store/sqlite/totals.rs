//! SQLite's SQL for the daily totals (`records::totals`): one row per tenant, day and
//! currency, added to by the single writer in each write's transaction.

use crate::records::model::Currency;
use std::sync::LazyLock;

use rusqlite::{Connection, params};

use crate::records::totals::{TOTALS_COLUMNS, Totals};
use crate::store::{DayTotals, Tenant};

/// Adds a change to its day's row (`?1..?4`: tenant, currency, day; then the columns' deltas).
pub(super) static ADD_TOTALS: LazyLock<String> = LazyLock::new(|| {
    let columns = TOTALS_COLUMNS.join(", ");
    let values: Vec<String> = (5..5 + TOTALS_COLUMNS.len()).map(|i| format!("?{i}")).collect();
    let sums: Vec<String> = TOTALS_COLUMNS
        .iter()
        .map(|c| format!("{c} = {c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO daily_totals (account_id, livemode, currency, day, {columns}) VALUES (?1, ?2, ?3, ?4, {}) \
         ON CONFLICT (account_id, livemode, day, currency) DO UPDATE SET {}",
        values.join(", "),
        sums.join(", ")
    )
});

static DAILY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT day, currency, {} FROM daily_totals WHERE account_id = ?1 AND livemode = ?2 \
         AND day BETWEEN ?3 AND ?4 ORDER BY day, currency",
        TOTALS_COLUMNS.join(", ")
    )
});

pub(super) fn daily(
    conn: &Connection,
    tenant: &Tenant,
    first_day: i64,
    last_day: i64,
) -> rusqlite::Result<Vec<DayTotals>> {
    conn.prepare_cached(&DAILY)?
        .query_map(params![tenant.account_id, tenant.livemode, first_day, last_day], |r| {
            let mut values = [0i64; TOTALS_COLUMNS.len()];
            for (i, v) in values.iter_mut().enumerate() {
                *v = r.get(2 + i)?;
            }
            Ok(DayTotals {
                day: r.get(0)?,
                currency: Currency::new_unchecked(r.get::<_, String>(1)?),
                totals: Totals::from_values(values),
            })
        })?
        .collect()
}
