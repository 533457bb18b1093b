//! `SqlRows` on SQLite: the writer's transaction, and pooled read connections.

use async_trait::async_trait;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params_from_iter};

use super::ops::SqliteOps;
use super::reads::ReadPool;
use crate::store::StoreError;
use crate::store::page::Bind;
use crate::store::sql_rows::SqlRows;

fn text(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => String::new(),
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(x) => x.to_string(),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
    }
}

/// `$N` as SQLite's `?N`: a numbered placeholder, whatever the order placeholders appear in
/// (SQLite numbers `$N` by first appearance, as a name).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let digit_follows = chars.peek().is_some_and(char::is_ascii_digit);
        out.push(if c == '$' && digit_follows { '?' } else { c });
    }
    out
}

fn select(conn: &Connection, sql: &str, binds: &[Bind<'_>]) -> rusqlite::Result<Vec<Vec<String>>> {
    let mut statement = conn.prepare_cached(&numbered(sql))?;
    let columns = statement.column_count();
    let rows = statement.query_map(params_from_iter(binds), |row| {
        (0..columns).map(|i| row.get_ref(i).map(text)).collect()
    })?;
    rows.collect()
}

#[async_trait]
impl SqlRows for SqliteOps<'_> {
    async fn execute(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .prepare_cached(&numbered(sql))?
            .execute(params_from_iter(binds))? as u64)
    }

    async fn select(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<Vec<String>>, StoreError> {
        Ok(select(self.conn, sql, binds)?)
    }
}

/// `SqlRows` on the read pool: a read connection per statement.
pub(super) struct ReadRows<'p>(pub &'p ReadPool);

#[async_trait]
impl SqlRows for ReadRows<'_> {
    async fn execute(&mut self, _sql: &str, _binds: &[Bind<'_>]) -> Result<u64, StoreError> {
        Err(StoreError::Database("a read connection does not write".into()))
    }

    async fn select(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<Vec<String>>, StoreError> {
        self.0.with(|conn| select(conn, sql, binds))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_whatever_their_order() {
        assert_eq!(
            super::numbered("UPDATE t SET a = $4 WHERE b = $1 AND c = '$x'"),
            "UPDATE t SET a = ?4 WHERE b = ?1 AND c = '$x'"
        );
    }
}
