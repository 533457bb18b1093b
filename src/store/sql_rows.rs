//! Statements written once for both backends (`$1, $2, …` placeholders, as `page`), run on
//! either: a write's open transaction or a read connection. Each selected value comes back as
//! text (an integer in decimal, NULL as empty), so one function reads the rows of both.

use async_trait::async_trait;

use super::StoreError;
use super::page::Bind;

#[async_trait]
pub(crate) trait SqlRows: Send {
    /// Runs a statement; answers how many rows it changed.
    async fn execute(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, StoreError>;
    /// The rows a query selects, each value as text.
    async fn select(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<Vec<String>>, StoreError>;
    /// After a bulk write: the planner's statistics of `table` (a fixed name) brought up to
    /// date, where a backend plans by them (PostgreSQL; SQLite keeps none).
    async fn refresh_statistics(&mut self, _table: &'static str) -> Result<(), StoreError> {
        Ok(())
    }
    /// What a write's select ends with to hold the rows it reads until the write commits, so
    /// that concurrent writes read, change and write them in turn (PostgreSQL's `FOR UPDATE`;
    /// SQLite's one writer is the lock).
    fn row_lock(&self) -> &'static str {
        ""
    }
}

/// `$first, $first+1, …` for `n` values: an `IN (…)` list.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
