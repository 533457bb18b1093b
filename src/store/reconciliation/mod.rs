//! Reconciliation runs, their outcomes and the payments' reconciliation statuses (issue 32,
//! item 3), on both backends with the same SQL (`sql_rows`). A run is written by the shared
//! write path in several transactions (`write`): its start, its outcomes in bounded slices,
//! then the payments' statuses with their events, then its completion. Until the last, the run
//! says `running`; a pass interrupted is finished by the next pass of the same file.

use async_trait::async_trait;

use super::page::{Bind, Filter, ListOf};
use super::sql_rows::{SqlRows, placeholders};
use super::{StoreError, Tenant};
use crate::reconcile::Category;
use crate::reconcile::kept::{ResultView, RunView};

pub mod read;
pub mod resolve;
pub mod write;

pub use read::{Reconciliations, ResultFilter};

/// Outcomes written per transaction (and per statement).
pub const OUTCOMES_PER_WRITE: usize = 500;
/// Payments whose status one transaction settles.
pub const STATUSES_PER_WRITE: usize = 500;

pub(crate) const RUNS: &str = "reconciliation_runs";
pub(crate) const RESULTS: &str = "reconciliation_results";

/// A run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptRun {
    pub view: RunView,
    pub pass: i64,
}

/// An outcome as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptOutcome {
    pub item: String,
    pub category: String,
    pub record_id: String,
    pub resolved: bool,
    pub view: ResultView,
}

/// A payment's reconciliation status: the category of the outcome that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentStatus {
    pub record_id: String,
    pub status: Category,
    pub run_id: String,
    pub result_id: String,
}

fn decode<T: serde::de::DeserializeOwned>(doc: &str) -> Result<T, StoreError> {
    super::doc::decode(doc)
}

fn int(text: &str) -> Result<i64, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{text:?} is not a number")))
}

fn category(text: &str) -> Result<Category, StoreError> {
    Category::parse(text).ok_or_else(|| StoreError::Corrupt(format!("{text:?} is not a category")))
}

fn scoped<'a>(tenant: &'a Tenant) -> [Bind<'a>; 2] {
    [Bind::Text(&tenant.account_id), Bind::Bool(tenant.livemode)]
}

/// The tenant (`$1`, `$2`), then the run (`$3`) if given, then `ids`: an `IN (…)` list from the
/// next placeholder on.
fn tenant_binds<'a>(tenant: &'a Tenant, run: Option<&'a str>, ids: &'a [String]) -> Vec<Bind<'a>> {
    let mut binds = scoped(tenant).to_vec();
    binds.extend(run.map(Bind::Text));
    binds.extend(ids.iter().map(|i| Bind::Text(i)));
    binds
}

/// The rows of runs and outcomes inside a write's open transaction.
#[async_trait]
pub trait ReconciliationRows: Send {
    async fn run_of_file(&mut self, tenant: &Tenant, digest: &str) -> Result<Option<KeptRun>, StoreError>;
    async fn run_by_id(&mut self, tenant: &Tenant, id: &str) -> Result<Option<KeptRun>, StoreError>;
    /// Inserts the run, or replaces its pass and document.
    async fn put_run(&mut self, tenant: &Tenant, run: &KeptRun, new: bool) -> Result<(), StoreError>;
    /// The outcomes of run `run_id` stored under `items`.
    async fn kept_outcomes(
        &mut self,
        tenant: &Tenant,
        run_id: &str,
        items: &[&str],
    ) -> Result<Vec<KeptOutcome>, StoreError>;
    /// Inserts or replaces outcomes of pass `pass` (by their run and item).
    async fn put_outcomes(&mut self, tenant: &Tenant, pass: i64, rows: &[KeptOutcome]) -> Result<(), StoreError>;
    /// Erases the run's outcomes that pass `pass` did not judge again (never a resolved one).
    async fn drop_stale_outcomes(&mut self, tenant: &Tenant, run_id: &str, pass: i64) -> Result<u64, StoreError>;
    /// Up to `limit` payments the run's outcomes name, in id order, after `after`.
    async fn run_records(
        &mut self,
        tenant: &Tenant,
        run_id: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
    /// The run's outcomes naming these payments: (payment, category, outcome id), in the run's order.
    async fn outcomes_of_records(
        &mut self,
        tenant: &Tenant,
        run_id: &str,
        ids: &[String],
    ) -> Result<Vec<(String, Category, String)>, StoreError>;
    async fn statuses(&mut self, tenant: &Tenant, ids: &[String]) -> Result<Vec<PaymentStatus>, StoreError>;
    /// Sets these payments' statuses, in one statement (at most `STATUSES_PER_WRITE`).
    async fn put_statuses(&mut self, tenant: &Tenant, statuses: &[PaymentStatus], now: i64) -> Result<(), StoreError>;
    /// The open `missing_in_file` outcomes of other runs than `run_id` naming these payments.
    async fn open_missing_elsewhere(
        &mut self,
        tenant: &Tenant,
        run_id: &str,
        ids: &[String],
    ) -> Result<Vec<ResultView>, StoreError>;
    async fn outcome(&mut self, tenant: &Tenant, id: &str) -> Result<Option<ResultView>, StoreError>;
    /// Replaces an outcome's document, its `open` and `resolved` following it.
    async fn put_outcome_view(&mut self, tenant: &Tenant, view: &ResultView) -> Result<(), StoreError>;
    /// The stored documents of these payment records.
    async fn record_docs(&mut self, tenant: &Tenant, ids: &[String]) -> Result<Vec<String>, StoreError>;
    /// `SqlRows::refresh_statistics`: before and after a run's bulk reads and writes.
    async fn refresh_statistics(&mut self, table: &'static str) -> Result<(), StoreError>;
    /// The run's outcomes per category, and its open breaks.
    async fn run_counts(&mut self, tenant: &Tenant, run_id: &str) -> Result<(Vec<(Category, u64)>, u64), StoreError>;
}

const RUN_COLUMNS: &str = "pass, doc";

/// An outcome's stored key: its run, then its item within the run.
fn item_key(run_id: &str, item: &str) -> String {
    format!("{run_id}/{item}")
}

fn kept_run(row: &[String]) -> Result<KeptRun, StoreError> {
    Ok(KeptRun {
        pass: int(&row[0])?,
        view: decode(&row[1])?,
    })
}

#[async_trait]
impl<T: SqlRows> ReconciliationRows for T {
    async fn refresh_statistics(&mut self, table: &'static str) -> Result<(), StoreError> {
        SqlRows::refresh_statistics(self, table).await
    }

    async fn run_of_file(&mut self, tenant: &Tenant, digest: &str) -> Result<Option<KeptRun>, StoreError> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM {RUNS} WHERE account_id = $1 AND livemode = $2 AND file_digest = $3");
        let [a, m] = scoped(tenant);
        let rows = self.select(&sql, &[a, m, Bind::Text(digest)]).await?;
        rows.first().map(|r| kept_run(r)).transpose()
    }

    async fn run_by_id(&mut self, tenant: &Tenant, id: &str) -> Result<Option<KeptRun>, StoreError> {
        // Read to be changed (a pass's counts, another run's open breaks): held until the write
        // commits, so that slices written at once do not lose each other's changes.
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM {RUNS} WHERE account_id = $1 AND livemode = $2 AND id = $3{}",
            self.row_lock()
        );
        let [a, m] = scoped(tenant);
        let rows = self.select(&sql, &[a, m, Bind::Text(id)]).await?;
        rows.first().map(|r| kept_run(r)).transpose()
    }

    async fn put_run(&mut self, tenant: &Tenant, run: &KeptRun, new: bool) -> Result<(), StoreError> {
        let doc = super::doc::encode(&run.view);
        let [a, m] = scoped(tenant);
        let view = &run.view;
        if new {
            let sql = format!(
                "INSERT INTO {RUNS} (account_id, livemode, id, created, file_digest, pass, doc) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)"
            );
            let binds = [
                a,
                m,
                Bind::Text(&view.id),
                Bind::Int(view.created),
                Bind::Text(&view.file.sha256),
                Bind::Int(run.pass),
                Bind::Text(&doc),
            ];
            self.execute(&sql, &binds).await?;
        } else {
            let sql =
                format!("UPDATE {RUNS} SET pass = $4, doc = $5 WHERE account_id = $1 AND livemode = $2 AND id = $3");
            let binds = [a, m, Bind::Text(&view.id), Bind::Int(run.pass), Bind::Text(&doc)];
            self.execute(&sql, &binds).await?;
        }
        Ok(())
    }

    async fn kept_outcomes(
        &mut self,
        tenant: &Tenant,
        run_id: &str,
        items: &[&str],
    ) -> Result<Vec<KeptOutcome>, StoreError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT item, category, record_id, resolved, doc FROM {RESULTS} \
             WHERE account_id = $1 AND livemode = $2 AND item IN ({})",
            placeholders(3, items.len())
        );
        let keys: Vec<String> = items.iter().map(|i| item_key(run_id, i)).collect();
        let binds = tenant_binds(tenant, None, &keys);
        let rows = self.select(&sql, &binds).await?;
        rows.into_iter()
            .map(|r| {
                let item = r[0].strip_prefix(run_id).and_then(|i| i.strip_prefix('/'));
                Ok(KeptOutcome {
                    view: decode(&r[4])?,
                    resolved: r[3] == "1",
                    item: item.unwrap_or_default().to_owned(),
                    category: r[1].clone(),
                    record_id: r[2].clone(),
                })
            })
            .collect()
    }

    async fn put_outcomes(&mut self, tenant: &Tenant, pass: i64, rows: &[KeptOutcome]) -> Result<(), StoreError> {
        assert!(
            rows.len() <= OUTCOMES_PER_WRITE,
            "outcomes are written in bounded slices"
        );
        if rows.is_empty() {
            return Ok(());
        }
        let docs: Vec<String> = rows.iter().map(|r| super::doc::encode(&r.view)).collect();
        let keys: Vec<String> = rows.iter().map(|r| item_key(&r.view.run, &r.item)).collect();
        let mut sql = format!(
            "INSERT INTO {RESULTS} (account_id, livemode, id, run_id, item, created, category, record_id, open, \
             resolved, pass, doc) VALUES "
        );
        let [a, m] = scoped(tenant);
        let mut binds: Vec<Bind<'_>> = vec![a, m, Bind::Int(pass)];
        for (i, ((row, doc), key)) in rows.iter().zip(&docs).zip(&keys).enumerate() {
            let n = binds.len();
            if i > 0 {
                sql.push_str(", ");
            }
            let p: Vec<String> = (n + 1..=n + 9).map(|k| format!("${k}")).collect();
            // Columns in order: pass ($3) comes before the document.
            sql.push_str(&format!("($1, $2, {}, $3, {})", p[..8].join(", "), p[8]));
            let view = &row.view;
            binds.extend([
                Bind::Text(&view.id),
                Bind::Text(&view.run),
                Bind::Text(key),
                Bind::Int(view.created),
                Bind::Text(&row.category),
                Bind::Text(&row.record_id),
                Bind::Bool(view.is_open()),
                Bind::Bool(row.resolved),
                Bind::Text(doc),
            ]);
        }
        sql.push_str(
            " ON CONFLICT (account_id, livemode, item) DO UPDATE SET category = excluded.category, \
             record_id = excluded.record_id, open = excluded.open, resolved = excluded.resolved, \
             pass = excluded.pass, doc = excluded.doc",
        );
        self.execute(&sql, &binds).await?;
        Ok(())
    }

    async fn drop_stale_outcomes(&mut self, tenant: &Tenant, run_id: &str, pass: i64) -> Result<u64, StoreError> {
        // A pass has just written its outcomes, perhaps a million: the statuses are settled by
        // looking them up, planned on what the table holds now.
        SqlRows::refresh_statistics(self, RESULTS).await?;
        let sql = format!(
            "DELETE FROM {RESULTS} WHERE account_id = $1 AND livemode = $2 AND run_id = $3 AND pass < $4 AND NOT resolved"
        );
        let [a, m] = scoped(tenant);
        self.execute(&sql, &[a, m, Bind::Text(run_id), Bind::Int(pass)]).await
    }

    async fn run_records(
        &mut self,
        tenant: &Tenant,
        run_id: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "SELECT DISTINCT record_id FROM {RESULTS} WHERE account_id = $1 AND livemode = $2 AND run_id = $3 \
             AND record_id <> '' AND record_id > $4 ORDER BY record_id LIMIT $5"
        );
        let [a, m] = scoped(tenant);
        let binds = [a, m, Bind::Text(run_id), Bind::Text(after), Bind::Int(limit as i64)];
        Ok(self
            .select(&sql, &binds)
            .await?
            .into_iter()
            .map(|mut r| r.swap_remove(0))
            .collect())
    }

    async fn outcomes_of_records(
        &mut self,
        tenant: &Tenant,
        run_id: &str,
        ids: &[String],
    ) -> Result<Vec<(String, Category, String)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT record_id, category, id FROM {RESULTS} WHERE account_id = $1 AND livemode = $2 AND run_id = $3 \
             AND record_id <> '' AND record_id IN ({}) ORDER BY record_id, seq",
            placeholders(4, ids.len())
        );
        let binds = tenant_binds(tenant, Some(run_id), ids);
        let rows = self.select(&sql, &binds).await?;
        rows.into_iter()
            .map(|mut r| Ok((std::mem::take(&mut r[0]), category(&r[1])?, std::mem::take(&mut r[2]))))
            .collect()
    }

    async fn statuses(&mut self, tenant: &Tenant, ids: &[String]) -> Result<Vec<PaymentStatus>, StoreError> {
        read::statuses(self, tenant, ids).await
    }

    async fn put_statuses(&mut self, tenant: &Tenant, statuses: &[PaymentStatus], now: i64) -> Result<(), StoreError> {
        assert!(
            statuses.len() <= STATUSES_PER_WRITE,
            "statuses are set in bounded slices"
        );
        if statuses.is_empty() {
            return Ok(());
        }
        let mut sql = String::from(
            "INSERT INTO payment_reconciliations (account_id, livemode, record_id, status, run_id, result_id, updated) VALUES ",
        );
        let [a, m] = scoped(tenant);
        let mut binds = vec![a, m, Bind::Int(now)];
        for (i, status) in statuses.iter().enumerate() {
            let n = binds.len();
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("($1, $2, ${}, ${}, ${}, ${}, $3)", n + 1, n + 2, n + 3, n + 4));
            binds.extend([
                Bind::Text(&status.record_id),
                Bind::Text(status.status.as_str()),
                Bind::Text(&status.run_id),
                Bind::Text(&status.result_id),
            ]);
        }
        sql.push_str(
            " ON CONFLICT (account_id, livemode, record_id) DO UPDATE SET status = excluded.status, \
             run_id = excluded.run_id, result_id = excluded.result_id, updated = excluded.updated",
        );
        self.execute(&sql, &binds).await?;
        Ok(())
    }

    async fn open_missing_elsewhere(
        &mut self,
        tenant: &Tenant,
        run_id: &str,
        ids: &[String],
    ) -> Result<Vec<ResultView>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // By the payments (`record_id <> ''` lets the partial index serve); the category is
        // checked here, so that no index of open breaks by category is walked instead.
        let sql = format!(
            "SELECT category, doc FROM {RESULTS} WHERE account_id = $1 AND livemode = $2 AND record_id <> '' \
             AND record_id IN ({}) AND open AND run_id <> $3",
            placeholders(4, ids.len())
        );
        let binds = tenant_binds(tenant, Some(run_id), ids);
        let rows = self.select(&sql, &binds).await?;
        rows.iter()
            .filter(|r| r[0] == Category::MissingInFile.as_str())
            .map(|r| decode(&r[1]))
            .collect()
    }

    async fn outcome(&mut self, tenant: &Tenant, id: &str) -> Result<Option<ResultView>, StoreError> {
        read::outcome(self, tenant, id).await
    }

    async fn put_outcome_view(&mut self, tenant: &Tenant, view: &ResultView) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE {RESULTS} SET open = $4, resolved = $5, doc = $6 WHERE account_id = $1 AND livemode = $2 AND id = $3"
        );
        let doc = super::doc::encode(view);
        let [a, m] = scoped(tenant);
        let binds = [
            a,
            m,
            Bind::Text(&view.id),
            Bind::Bool(view.is_open()),
            Bind::Bool(view.resolution.is_some()),
            Bind::Text(&doc),
        ];
        self.execute(&sql, &binds).await?;
        Ok(())
    }

    async fn record_docs(&mut self, tenant: &Tenant, ids: &[String]) -> Result<Vec<String>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT doc FROM payment_records WHERE account_id = $1 AND livemode = $2 AND id IN ({}) ORDER BY id",
            placeholders(3, ids.len())
        );
        let binds = tenant_binds(tenant, None, ids);
        Ok(self
            .select(&sql, &binds)
            .await?
            .into_iter()
            .map(|mut r| r.swap_remove(0))
            .collect())
    }

    async fn run_counts(&mut self, tenant: &Tenant, run_id: &str) -> Result<(Vec<(Category, u64)>, u64), StoreError> {
        let [a, m] = scoped(tenant);
        let binds = [a, m, Bind::Text(run_id)];
        let sql = format!(
            "SELECT category, COUNT(*) FROM {RESULTS} WHERE account_id = $1 AND livemode = $2 AND run_id = $3 GROUP BY category"
        );
        let counts = self
            .select(&sql, &binds)
            .await?
            .iter()
            .map(|r| Ok((category(&r[0])?, int(&r[1])? as u64)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let sql =
            format!("SELECT COUNT(*) FROM {RESULTS} WHERE account_id = $1 AND livemode = $2 AND run_id = $3 AND open");
        let open = self.select(&sql, &binds).await?;
        Ok((counts, open.first().map_or(Ok(0), |r| int(&r[0]))? as u64))
    }
}

/// The list of outcomes a filter asks for; `filters` holds its conditions.
pub(crate) fn results_list<'a>(tenant: &'a Tenant, filters: &'a [Filter<'a>]) -> ListOf<'a> {
    ListOf {
        filters,
        ..ListOf::table(RESULTS, tenant)
    }
}
