//! SQLite's reconciliation runs, as read (they are written by `Writes`).

use async_trait::async_trait;

use crate::reconcile::kept::{ResultView, RunView};
use crate::store::doc::decode_page;
use crate::store::page::ListOf;
use crate::store::reconciliation::read::{self, Reconciliations, ResultFilter};
use crate::store::reconciliation::{PaymentStatus, RUNS, results_list};
use crate::store::sqlite::SqliteStore;
use crate::store::sqlite::sql_rows::ReadRows;
use crate::store::{ListError, ListQuery, Page, StoreError, Tenant};

#[async_trait]
impl Reconciliations for SqliteStore {
    async fn get_run(&self, tenant: &Tenant, id: &str) -> Result<Option<RunView>, StoreError> {
        read::run(&mut ReadRows(&self.reads), tenant, id).await
    }

    async fn list_runs(&self, tenant: &Tenant, query: &ListQuery) -> Result<Page<RunView>, ListError> {
        Ok(decode_page(self.reads.page(&ListOf::table(RUNS, tenant), query)?)?)
    }

    async fn get_result(&self, tenant: &Tenant, id: &str) -> Result<Option<ResultView>, StoreError> {
        read::outcome(&mut ReadRows(&self.reads), tenant, id).await
    }

    async fn list_results(
        &self,
        tenant: &Tenant,
        query: &ListQuery,
        filter: &ResultFilter,
    ) -> Result<Page<ResultView>, ListError> {
        let conditions = filter.conditions();
        Ok(decode_page(
            self.reads.page(&results_list(tenant, &conditions), query)?,
        )?)
    }

    async fn payment_status(&self, tenant: &Tenant, record_id: &str) -> Result<Option<PaymentStatus>, StoreError> {
        let ids = [record_id.to_owned()];
        Ok(read::statuses(&mut ReadRows(&self.reads), tenant, &ids).await?.pop())
    }

    async fn reconciled_elsewhere(
        &self,
        tenant: &Tenant,
        run_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        read::reconciled_elsewhere(&mut ReadRows(&self.reads), tenant, run_id, ids).await
    }
}
