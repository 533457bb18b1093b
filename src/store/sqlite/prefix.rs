//! Tables whose rows are numbered in the order they are created (events, deliveries, saved
//! idempotent responses) expire as a prefix: every row before the first one still live.

use rusqlite::Connection;

/// The number (`order`, a column growing with `created`) of `table`'s first row created at or
/// after `cutoff`; one past the last row when none is, so that everything before it goes.
pub(super) fn first_live(conn: &Connection, table: &str, order: &str, cutoff: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        &format!(
            "SELECT COALESCE((SELECT {order} FROM {table} WHERE created >= ?1 ORDER BY {order} LIMIT 1), \
             (SELECT COALESCE(MAX({order}), 0) + 1 FROM {table}))"
        ),
        [cutoff],
        |r| r.get(0),
    )
}
