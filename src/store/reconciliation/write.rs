//! The mutations of a run, each one transaction of the shared write path: `StartRun`, then
//! `KeepOutcomes` per slice of outcomes, `DropStale`, `SettleStatuses` per slice of payments
//! (a status and its event in the same transaction), and `CompleteRun`.

use std::collections::HashMap;

use async_trait::async_trait;

use super::{KeptOutcome, KeptRun, OUTCOMES_PER_WRITE, PaymentStatus, STATUSES_PER_WRITE};
use crate::events::EventDraft;
use crate::reconcile::kept::{
    Outcome, RESULT_ID_PREFIX, RUN_ID_PREFIX, RUN_OBJECT, Resolution, RunFile, RunView, RunWindow, status_event,
    status_of,
};
use crate::records::ids::new_object_id;
use crate::records::model::PaymentRecord;
use crate::records::render;
use crate::store::write::{Mutation, WriteContext, WriteOps};
use crate::store::{StoreError, Tenant};

/// Begins a pass over a file: the tenant's run of that file (by its digest), or a new one.
#[derive(Debug, Clone, PartialEq)]
pub struct StartRun {
    pub file: RunFile,
    pub rules: serde_json::Value,
    pub ran_by: String,
}

/// The run and the number of the pass begun.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPass {
    pub run_id: String,
    pub pass: i64,
}

#[async_trait]
impl Mutation for StartRun {
    type Done = RunPass;

    fn reads_its_own_rows(&self) -> bool {
        true
    }

    async fn apply(self, rows: &mut dyn WriteOps, at: &WriteContext<'_>) -> Result<RunPass, StoreError> {
        let tenant = at.tenant;
        // The run looks the ledger up by reference, in bulk: planned on what the tables hold
        // now, not on what they held before an import.
        for table in ["payment_records", "refunds"] {
            rows.refresh_statistics(table).await?;
        }
        let earlier = rows.run_of_file(tenant, &self.file.sha256).await?;
        let new = earlier.is_none();
        let mut run = earlier.unwrap_or_else(|| KeptRun {
            pass: 0,
            view: RunView {
                id: new_object_id(RUN_ID_PREFIX),
                object: RUN_OBJECT.to_owned(),
                created: at.now,
                livemode: tenant.livemode,
                status: String::new(),
                file: self.file.clone(),
                rules: serde_json::Value::Null,
                window: RunWindow { start: None, end: None },
                counts: RunView::no_counts(),
                open_breaks: 0,
                ran_by: String::new(),
                completed_at: None,
            },
        });
        run.pass += 1;
        run.view.status = "running".to_owned();
        if new {
            run.view.rules = self.rules;
            run.view.ran_by = self.ran_by;
        }
        rows.put_run(tenant, &run, new).await?;
        Ok(RunPass {
            run_id: run.view.id,
            pass: run.pass,
        })
    }
}

/// Keeps a slice of a pass's outcomes: a new one gets an id; one judged by an earlier pass
/// keeps its id and time, and, when a person resolved it, stays as resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct KeepOutcomes {
    pub run_id: String,
    pub pass: i64,
    pub outcomes: Vec<Outcome>,
}

#[async_trait]
impl Mutation for KeepOutcomes {
    /// How many outcomes are new or changed.
    type Done = u64;

    fn reads_its_own_rows(&self) -> bool {
        true
    }

    async fn apply(self, rows: &mut dyn WriteOps, at: &WriteContext<'_>) -> Result<u64, StoreError> {
        assert!(
            self.outcomes.len() <= OUTCOMES_PER_WRITE,
            "outcomes are kept in bounded slices"
        );
        let tenant = at.tenant;
        let items: Vec<&str> = self.outcomes.iter().map(|o| o.item.as_str()).collect();
        // A run's first pass has nothing to find (and its table's statistics lag its writes).
        let earlier = match self.pass {
            1 => Vec::new(),
            _ => rows.kept_outcomes(tenant, &self.run_id, &items).await?,
        };
        let mut earlier: HashMap<String, KeptOutcome> = earlier.into_iter().map(|k| (k.item.clone(), k)).collect();
        let mut changed = 0;
        let kept: Vec<KeptOutcome> = self
            .outcomes
            .iter()
            .map(|outcome| match earlier.remove(&outcome.item) {
                Some(resolved) if resolved.resolved => resolved,
                Some(before) => {
                    let now = keep(outcome, &before.view.id, &self.run_id, before.view.created, tenant);
                    changed += u64::from(now.view != before.view);
                    now
                }
                None => {
                    changed += 1;
                    keep(outcome, &new_object_id(RESULT_ID_PREFIX), &self.run_id, at.now, tenant)
                }
            })
            .collect();
        rows.put_outcomes(tenant, self.pass, &kept).await?;
        Ok(changed)
    }
}

fn keep(outcome: &Outcome, id: &str, run_id: &str, created: i64, tenant: &Tenant) -> KeptOutcome {
    KeptOutcome {
        item: outcome.item.clone(),
        category: outcome.judged.category.as_str().to_owned(),
        record_id: outcome.record_id().unwrap_or_default().to_owned(),
        resolved: false,
        view: outcome.view(id, run_id, created, tenant.livemode),
    }
}

/// Erases what earlier passes judged and this one did not (a payment matched since by another
/// run is no longer missing), before the statuses are settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropStale {
    pub run_id: String,
    pub pass: i64,
}

#[async_trait]
impl Mutation for DropStale {
    type Done = u64;

    fn reads_its_own_rows(&self) -> bool {
        true
    }

    async fn apply(self, rows: &mut dyn WriteOps, at: &WriteContext<'_>) -> Result<u64, StoreError> {
        rows.drop_stale_outcomes(at.tenant, &self.run_id, self.pass).await
    }
}

/// Settles the statuses of the next `STATUSES_PER_WRITE` payments the run names, after
/// `after` (in id order): each changed status is written with its event, and a payment the run
/// matched closes the `missing_in_file` breaks other runs left open for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleStatuses {
    pub run_id: String,
    pub after: String,
    /// This slice's number in the pass, from 1.
    pub slice: u64,
}

/// The last payment settled (None: there were none left), and how many statuses changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub last: Option<String>,
    pub changed: u64,
}

#[async_trait]
impl Mutation for SettleStatuses {
    type Done = Settled;

    fn reads_its_own_rows(&self) -> bool {
        true
    }

    async fn apply(self, rows: &mut dyn WriteOps, at: &WriteContext<'_>) -> Result<Settled, StoreError> {
        let tenant = at.tenant;
        let ids = rows
            .run_records(tenant, &self.run_id, &self.after, STATUSES_PER_WRITE)
            .await?;
        let Some(last) = ids.last().cloned() else {
            return Ok(Settled { last: None, changed: 0 });
        };
        let outcomes = rows.outcomes_of_records(tenant, &self.run_id, &ids).await?;
        let before: HashMap<String, PaymentStatus> = rows
            .statuses(tenant, &ids)
            .await?
            .into_iter()
            .map(|s| (s.record_id.clone(), s))
            .collect();
        let mut events = Vec::new();
        let mut matched = Vec::new();
        let mut changed = Vec::new();
        for chunk in outcomes.chunk_by(|a, b| a.0 == b.0) {
            let record_id = &chunk[0].0;
            let Some((status, result_id)) = status_of(chunk.iter().map(|(_, c, id)| (*c, id.as_str()))) else {
                continue;
            };
            let earlier = before.get(record_id);
            if earlier.is_some_and(|e| e.status == status && e.result_id == result_id) {
                continue;
            }
            let now = PaymentStatus {
                record_id: record_id.clone(),
                status,
                run_id: self.run_id.clone(),
                result_id: result_id.to_owned(),
            };
            changed.push(now);
            if status.is_match() {
                matched.push(record_id.clone());
            }
            if let Some(kind) = status_event(earlier.map(|e| e.status), status) {
                events.push((record_id.clone(), kind));
            }
        }
        rows.put_statuses(tenant, &changed, at.now).await?;
        // The next slices look their statuses up by payment, in a table this pass may be
        // growing from nothing: on statistics that say the tenant has few rows, PostgreSQL
        // reads them all for each lookup (O(n²): 196 s of a 10⁶-line run). Taken again as the
        // pass doubles, they follow its growth.
        if self.slice.is_power_of_two() {
            rows.refresh_statistics("payment_reconciliations").await?;
        }
        close_missing_elsewhere(rows, at, &self.run_id, &matched).await?;
        emit(rows, at, events).await?;
        Ok(Settled {
            last: Some(last),
            changed: changed.len() as u64,
        })
    }
}

/// Resolves the `missing_in_file` breaks other runs left open for payments this run matched
/// (each run's count of open breaks follows).
pub(super) async fn close_missing_elsewhere(
    rows: &mut dyn WriteOps,
    at: &WriteContext<'_>,
    run_id: &str,
    matched: &[String],
) -> Result<(), StoreError> {
    let mut closed: HashMap<String, u64> = HashMap::new();
    for view in rows.open_missing_elsewhere(at.tenant, run_id, matched).await? {
        *closed.entry(view.run.clone()).or_default() += 1;
        let resolution = Resolution {
            kind: "matched_by_run".to_owned(),
            payment_record: view.payment_record.clone(),
            reason: None,
            run: Some(run_id.to_owned()),
            resolved_by: format!("run {run_id}"),
            resolved_at: at.now,
        };
        rows.put_outcome_view(at.tenant, &view.resolved(resolution)).await?;
    }
    for (run, n) in closed {
        fewer_open_breaks(rows, at.tenant, &run, n).await?;
    }
    Ok(())
}

/// `n` fewer open breaks in run `run_id`'s document.
pub(super) async fn fewer_open_breaks(
    rows: &mut dyn WriteOps,
    tenant: &Tenant,
    run_id: &str,
    n: u64,
) -> Result<(), StoreError> {
    if let Some(mut run) = rows.run_by_id(tenant, run_id).await? {
        run.view.open_breaks = run.view.open_breaks.saturating_sub(n);
        rows.put_run(tenant, &run, false).await?;
    }
    Ok(())
}

/// The status events, `data.object` the payment record as it is now.
pub(super) async fn emit(
    rows: &mut dyn WriteOps,
    at: &WriteContext<'_>,
    events: Vec<(String, crate::events::EventType)>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = events.iter().map(|(id, _)| id.clone()).collect();
    let mut records: HashMap<String, PaymentRecord> = HashMap::with_capacity(ids.len());
    for doc in rows.record_docs(at.tenant, &ids).await? {
        let record: PaymentRecord = crate::store::doc::decode(&doc)?;
        records.insert(record.id.as_str().to_owned(), record);
    }
    let drafts: Vec<EventDraft> = events
        .into_iter()
        .filter_map(|(id, kind)| {
            let record = records.get(&id)?;
            Some(EventDraft {
                kind,
                object: serde_json::to_string(&render::record(record, None)).expect("views serialize"),
                previous_attributes: None,
                record_id: id,
            })
        })
        .collect();
    let packed = at.render_events(&drafts);
    rows.insert_events(at.tenant, &packed, at.now * 1000).await
}

/// Ends a pass: the run's counts and window, and `complete`. A pass that changed nothing
/// leaves the run as it was (the same file judged again against the same ledger).
#[derive(Debug, Clone, PartialEq)]
pub struct CompleteRun {
    pub run_id: String,
    pub window: RunWindow,
    /// Whether the pass changed an outcome or a status.
    pub changed: bool,
    pub rules: serde_json::Value,
    pub ran_by: String,
}

#[async_trait]
impl Mutation for CompleteRun {
    type Done = RunView;

    fn reads_its_own_rows(&self) -> bool {
        true
    }

    async fn apply(self, rows: &mut dyn WriteOps, at: &WriteContext<'_>) -> Result<RunView, StoreError> {
        let tenant = at.tenant;
        let mut run = rows
            .run_by_id(tenant, &self.run_id)
            .await?
            .ok_or_else(|| StoreError::Database(format!("run {} is gone", self.run_id)))?;
        let (counts, open) = rows.run_counts(tenant, &self.run_id).await?;
        run.view.counts = RunView::no_counts();
        for (category, n) in counts {
            run.view.counts.insert(category.as_str().to_owned(), n);
        }
        run.view.open_breaks = open;
        run.view.status = "complete".to_owned();
        let first = run.view.completed_at.is_none();
        if first || self.changed || run.view.rules != self.rules || run.view.window != self.window {
            run.view.window = self.window;
            run.view.rules = self.rules;
            run.view.ran_by = self.ran_by;
            run.view.completed_at = Some(at.now);
        }
        rows.put_run(tenant, &run, false).await?;
        Ok(run.view)
    }
}
