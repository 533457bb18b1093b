//! Planner statistics when nobody else keeps them. A pooled connection caches a generic plan
//! for each statement after five runs; one made while a fresh schema's tables were small can
//! scan them, and it lasts until the table's statistics change. Autovacuum's ANALYZE is what
//! normally changes them; with autovacuum off (this machine's default) nothing did, and a
//! PostgreSQL soak fell to 0.67 of its first minute in two minutes (BENCHMARKS.md, issue 14).
//! So, with autovacuum off, payrec analyzes its own tables at autovacuum's default threshold.

use sqlx::postgres::PgPool;

use crate::store::StoreError;

/// payrec's tables, in the connection's schema, changed by more than autovacuum's default
/// analyze threshold (50 rows + 10% of the table) since their last ANALYZE; none while
/// autovacuum is on, which does it itself.
const STALE_TABLES: &str = "SELECT relname::text FROM pg_stat_user_tables \
     WHERE schemaname = current_schema() AND NOT current_setting('autovacuum')::bool \
     AND n_mod_since_analyze > 50 + 0.1 * GREATEST(n_live_tup, 0) ORDER BY relname";

/// Analyzes every stale table (see `STALE_TABLES`) and returns their names. Each ANALYZE
/// commits on its own, invalidating every connection's cached plans on that table so they are
/// made again with the new statistics; one table's lock at a time, so a concurrent DROP
/// SCHEMA cannot deadlock with it. Replicas may each analyze the same table once: harmless.
pub(super) async fn refresh(pool: &PgPool) -> Result<Vec<String>, StoreError> {
    let stale: Vec<String> = sqlx::query_scalar(STALE_TABLES).fetch_all(pool).await?;
    for table in &stale {
        // A name read from the catalogue, quoted as an identifier.
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        sqlx::query(&format!("ANALYZE {quoted}"))
            .persistent(false)
            .execute(pool)
            .await?;
    }
    Ok(stale)
}
