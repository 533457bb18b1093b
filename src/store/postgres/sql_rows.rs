//! `SqlRows` on PostgreSQL: a write's transaction, and a pooled connection for reads.

use async_trait::async_trait;
use sqlx::postgres::{PgArguments, PgConnection, PgRow};
use sqlx::{Postgres, Row};

use super::ops::PgOps;
use crate::store::StoreError;
use crate::store::page::Bind;
use crate::store::sql_rows::SqlRows;

fn bound<'q>(
    mut query: sqlx::query::Query<'q, Postgres, PgArguments>,
    binds: &[Bind<'q>],
) -> sqlx::query::Query<'q, Postgres, PgArguments> {
    for value in binds {
        query = match *value {
            Bind::Text(s) => query.bind(s),
            Bind::Int(n) => query.bind(n),
            Bind::Bool(b) => query.bind(b),
        };
    }
    query
}

/// A value as text, whichever of the types payrec's tables use it has.
fn text(row: &PgRow, i: usize) -> String {
    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
        return v.unwrap_or_default();
    }
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return v.map(|n| n.to_string()).unwrap_or_default();
    }
    if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
        return v.map(|n| n.to_string()).unwrap_or_default();
    }
    match row.try_get::<Option<bool>, _>(i) {
        Ok(Some(b)) => i64::from(b).to_string(),
        _ => String::new(),
    }
}

async fn execute(conn: &mut PgConnection, sql: &str, binds: &[Bind<'_>]) -> Result<u64, StoreError> {
    Ok(bound(sqlx::query(sql), binds).execute(conn).await?.rows_affected())
}

async fn select(conn: &mut PgConnection, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<Vec<String>>, StoreError> {
    let rows = bound(sqlx::query(sql), binds).fetch_all(conn).await?;
    Ok(rows
        .iter()
        .map(|row| (0..row.len()).map(|i| text(row, i)).collect())
        .collect())
}

#[async_trait]
impl SqlRows for PgOps<'_> {
    async fn execute(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, StoreError> {
        execute(self.read_conn().await?, sql, binds).await
    }

    async fn select(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<Vec<String>>, StoreError> {
        select(self.read_conn().await?, sql, binds).await
    }

    async fn refresh_statistics(&mut self, table: &'static str) -> Result<(), StoreError> {
        execute(self.read_conn().await?, &format!("ANALYZE {table}"), &[]).await?;
        Ok(())
    }

    fn row_lock(&self) -> &'static str {
        " FOR UPDATE"
    }
}

/// `SqlRows` on one connection, outside any write.
pub(super) struct ConnRows<'c>(pub &'c mut PgConnection);

#[async_trait]
impl SqlRows for ConnRows<'_> {
    async fn execute(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, StoreError> {
        execute(self.0, sql, binds).await
    }

    async fn select(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<Vec<String>>, StoreError> {
        select(self.0, sql, binds).await
    }
}
