//! Reading runs, outcomes and statuses: the read API's and the dashboard's role, and the
//! statements both backends run for it.

use async_trait::async_trait;

use super::{PaymentStatus, RESULTS, RUNS, category, decode, scoped, tenant_binds};
use crate::reconcile::Category;
use crate::reconcile::kept::{ResultView, RunView};
use crate::store::page::{Bind, Filter};
use crate::store::sql_rows::{SqlRows, placeholders};
use crate::store::{ListError, ListQuery, Page, StoreError, Tenant};

/// Which outcomes a list shows; the default is all of the tenant's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultFilter {
    pub run: Option<String>,
    pub category: Option<Category>,
    /// Only the open breaks (the queue).
    pub open_only: bool,
    pub payment_record: Option<String>,
}

impl ResultFilter {
    /// The conditions on `reconciliation_results` rows.
    pub(crate) fn conditions(&self) -> Vec<Filter<'_>> {
        let mut conditions = Vec::new();
        if self.open_only {
            // The partial index's own condition, written as it is (SQLite uses the index then).
            conditions.push(Filter::Sql("open"));
        }
        if let Some(run) = &self.run {
            conditions.push(Filter::Equals("run_id", run));
        }
        if let Some(category) = self.category {
            conditions.push(Filter::Equals("category", category.as_str()));
        }
        if let Some(record) = &self.payment_record {
            conditions.push(Filter::Equals("record_id", record));
            // The condition of the partial index by payment, said so that SQLite uses it.
            conditions.push(Filter::Sql("record_id <> ''"));
        }
        conditions
    }
}

/// Runs and their outcomes, as read.
#[async_trait]
pub trait Reconciliations: Send + Sync {
    async fn get_run(&self, tenant: &Tenant, id: &str) -> Result<Option<RunView>, StoreError>;
    /// Newest first.
    async fn list_runs(&self, tenant: &Tenant, query: &ListQuery) -> Result<Page<RunView>, ListError>;
    async fn get_result(&self, tenant: &Tenant, id: &str) -> Result<Option<ResultView>, StoreError>;
    /// Newest first.
    async fn list_results(
        &self,
        tenant: &Tenant,
        query: &ListQuery,
        filter: &ResultFilter,
    ) -> Result<Page<ResultView>, ListError>;
    async fn payment_status(&self, tenant: &Tenant, record_id: &str) -> Result<Option<PaymentStatus>, StoreError>;
    /// Which of these payments another run than `run_id` matched (their status is a match):
    /// a later statement does not call them missing.
    async fn reconciled_elsewhere(
        &self,
        tenant: &Tenant,
        run_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError>;
}

pub(crate) async fn statuses(
    rows: &mut (impl SqlRows + ?Sized),
    tenant: &Tenant,
    ids: &[String],
) -> Result<Vec<PaymentStatus>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT record_id, status, run_id, result_id FROM payment_reconciliations \
         WHERE account_id = $1 AND livemode = $2 AND record_id IN ({})",
        placeholders(3, ids.len())
    );
    let binds = tenant_binds(tenant, None, ids);
    let rows = rows.select(&sql, &binds).await?;
    rows.into_iter()
        .map(|mut r| {
            Ok(PaymentStatus {
                status: category(&r[1])?,
                record_id: std::mem::take(&mut r[0]),
                run_id: std::mem::take(&mut r[2]),
                result_id: std::mem::take(&mut r[3]),
            })
        })
        .collect()
}

async fn doc_by_id(
    rows: &mut (impl SqlRows + ?Sized),
    table: &'static str,
    tenant: &Tenant,
    id: &str,
) -> Result<Option<String>, StoreError> {
    if !crate::store::page::can_exist(id) {
        return Ok(None);
    }
    let sql = format!("SELECT doc FROM {table} WHERE account_id = $1 AND livemode = $2 AND id = $3");
    let [a, m] = scoped(tenant);
    let mut found = rows.select(&sql, &[a, m, Bind::Text(id)]).await?;
    Ok(found.pop().map(|mut r| r.swap_remove(0)))
}

pub(crate) async fn outcome(
    rows: &mut (impl SqlRows + ?Sized),
    tenant: &Tenant,
    id: &str,
) -> Result<Option<ResultView>, StoreError> {
    doc_by_id(rows, RESULTS, tenant, id)
        .await?
        .map(|d| decode(&d))
        .transpose()
}

pub(crate) async fn run(
    rows: &mut (impl SqlRows + ?Sized),
    tenant: &Tenant,
    id: &str,
) -> Result<Option<RunView>, StoreError> {
    doc_by_id(rows, RUNS, tenant, id).await?.map(|d| decode(&d)).transpose()
}

pub(crate) async fn reconciled_elsewhere(
    rows: &mut (impl SqlRows + ?Sized),
    tenant: &Tenant,
    run_id: &str,
    ids: &[String],
) -> Result<Vec<String>, StoreError> {
    Ok(statuses(rows, tenant, ids)
        .await?
        .into_iter()
        .filter(|s| s.status.is_match() && s.run_id != run_id)
        .map(|s| s.record_id)
        .collect())
}
