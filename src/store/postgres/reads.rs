//! The hot reads: a document by id, a list page, whether a record exists, on kept connections
//! (`kept`); and `doc`, the same read on any executor.

use async_trait::async_trait;
use sqlx::Postgres;

use super::kept::KeptConnections;
use crate::store::page::{Bind, ListOf, PageRows, can_exist, read_page};
use crate::store::scan::Scans;
use crate::store::{ListError, ListQuery, Page, StoreError, Tenant};

const RECORD_EXISTS: &str = "SELECT 1 FROM payment_records WHERE account_id = $1 AND livemode = $2 AND id = $3";

/// The document `sql` (one of the `*_DOC` statements) selects for `id` in the tenant.
pub(crate) async fn doc<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    sql: &'static str,
    tenant: &Tenant,
    id: &str,
) -> Result<Option<String>, StoreError> {
    by_id(executor, sql, tenant, id).await
}

/// The one column `sql` selects for object `id` in the tenant (`$1`, `$2`, `$3`: account,
/// mode, id); None without a query for an id that cannot exist.
async fn by_id<'e, T>(
    executor: impl sqlx::PgExecutor<'e>,
    sql: &'static str,
    tenant: &Tenant,
    id: &str,
) -> Result<Option<T>, StoreError>
where
    T: Send + Unpin,
    (T,): for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    if !can_exist(id) {
        return Ok(None);
    }
    Ok(sqlx::query_scalar(sql)
        .bind(&tenant.account_id)
        .bind(tenant.livemode)
        .bind(id)
        .fetch_optional(executor)
        .await?)
}

/// `PageRows` on one connection.
struct Rows<'c>(&'c mut sqlx::PgConnection);

fn bound<'q, O>(
    mut query: sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments>,
    binds: &[Bind<'q>],
) -> sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments> {
    for value in binds {
        query = match *value {
            Bind::Text(s) => query.bind(s),
            Bind::Int(n) => query.bind(n),
            Bind::Bool(b) => query.bind(b),
        };
    }
    query
}

#[async_trait]
impl PageRows for Rows<'_> {
    async fn cursor(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Option<(i64, i64)>, StoreError> {
        Ok(bound(sqlx::query_as(sql), binds).fetch_optional(&mut *self.0).await?)
    }

    async fn docs(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = bound(sqlx::query_as(sql), binds).fetch_all(&mut *self.0).await?;
        Ok(rows.into_iter().map(|(doc,)| doc).collect())
    }
}

/// A transaction whose statements stop at the scan deadline (`store::scan`): the only place
/// payrec sets a statement_timeout, so its error means a scan too long.
pub(super) async fn scan_transaction(pool: &sqlx::PgPool) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
    let mut tx = pool.begin().await?;
    let millis = crate::store::scan::SCAN_DEADLINE.as_millis();
    sqlx::query(&format!("SET LOCAL statement_timeout = {millis}"))
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// A page of a list filtered on columns no index serves: a scan, in its turn and deadline.
pub(super) async fn scan_page(
    pool: &sqlx::PgPool,
    scans: &Scans,
    list: &ListOf<'_>,
    query: &ListQuery,
) -> Result<Page<String>, ListError> {
    let _turn = scans.turn().await?;
    let mut tx = scan_transaction(pool).await?;
    let page = read_page(&mut Rows(&mut tx), list, query).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(page)
}

/// `doc` on a kept connection.
pub(super) async fn hot_doc(
    kept: &KeptConnections,
    sql: &'static str,
    tenant: &Tenant,
    id: &str,
) -> Result<Option<String>, StoreError> {
    let mut conn = kept.take().await?;
    let found = doc(conn.conn(), sql, tenant, id).await?;
    conn.done();
    Ok(found)
}

/// A page of `list`'s documents on a kept connection.
pub(super) async fn hot_page(
    kept: &KeptConnections,
    list: &ListOf<'_>,
    query: &ListQuery,
) -> Result<Page<String>, ListError> {
    let mut conn = kept.take().await?;
    let page = read_page(&mut Rows(conn.conn()), list, query).await?;
    conn.done();
    Ok(page)
}

/// Whether record `id` exists in the tenant: its key only.
pub(super) async fn record_exists(kept: &KeptConnections, tenant: &Tenant, id: &str) -> Result<bool, StoreError> {
    let mut conn = kept.take().await?;
    let found: Option<i32> = by_id(conn.conn(), RECORD_EXISTS, tenant, id).await?;
    conn.done();
    Ok(found.is_some())
}
