//! PostgreSQL's reset of a tenant's test data.

use async_trait::async_trait;

use crate::store::postgres::ops::PgOps;
use crate::store::reset::ResetRows;
use crate::store::{StoreError, Tenant};

#[async_trait]
impl ResetRows for PgOps<'_> {
    async fn erase_rows(&mut self, tenant: &Tenant, table: &'static str) -> Result<u64, StoreError> {
        let sql = format!("DELETE FROM {table} WHERE account_id = $1 AND livemode = $2");
        let done = sqlx::query(&sql)
            .bind(&tenant.account_id)
            .bind(tenant.livemode)
            .execute(self.read_conn().await?)
            .await?;
        Ok(done.rows_affected())
    }
}
