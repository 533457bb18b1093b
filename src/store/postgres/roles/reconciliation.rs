//! PostgreSQL's reconciliation runs, as read (they are written by `Writes`).

use async_trait::async_trait;

use crate::reconcile::kept::{ResultView, RunView};
use crate::store::doc::decode_page;
use crate::store::page::ListOf;
use crate::store::postgres::sql_rows::ConnRows;
use crate::store::postgres::{PgStore, reads};
use crate::store::reconciliation::read::{self, Reconciliations, ResultFilter};
use crate::store::reconciliation::{PaymentStatus, RUNS, results_list};
use crate::store::{ListError, ListQuery, Page, StoreError, Tenant};

#[async_trait]
impl Reconciliations for PgStore {
    async fn get_run(&self, tenant: &Tenant, id: &str) -> Result<Option<RunView>, StoreError> {
        let mut conn = self.pool()?.acquire().await?;
        read::run(&mut ConnRows(&mut conn), tenant, id).await
    }

    async fn list_runs(&self, tenant: &Tenant, query: &ListQuery) -> Result<Page<RunView>, ListError> {
        let list = ListOf::table(RUNS, tenant);
        Ok(decode_page(reads::hot_page(&*self.kept()?, &list, query).await?)?)
    }

    async fn get_result(&self, tenant: &Tenant, id: &str) -> Result<Option<ResultView>, StoreError> {
        let mut conn = self.pool()?.acquire().await?;
        read::outcome(&mut ConnRows(&mut conn), tenant, id).await
    }

    async fn list_results(
        &self,
        tenant: &Tenant,
        query: &ListQuery,
        filter: &ResultFilter,
    ) -> Result<Page<ResultView>, ListError> {
        let conditions = filter.conditions();
        let list = results_list(tenant, &conditions);
        Ok(decode_page(reads::hot_page(&*self.kept()?, &list, query).await?)?)
    }

    async fn payment_status(&self, tenant: &Tenant, record_id: &str) -> Result<Option<PaymentStatus>, StoreError> {
        let mut conn = self.pool()?.acquire().await?;
        let ids = [record_id.to_owned()];
        Ok(read::statuses(&mut ConnRows(&mut conn), tenant, &ids).await?.pop())
    }

    async fn reconciled_elsewhere(
        &self,
        tenant: &Tenant,
        run_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let mut conn = self.pool()?.acquire().await?;
        read::reconciled_elsewhere(&mut ConnRows(&mut conn), tenant, run_id, ids).await
    }
}
