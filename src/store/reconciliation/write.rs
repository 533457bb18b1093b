//! The mutations of a run, each one transaction of the shared write path: `StartRun`, then
//! `KeepOutcomes` per slice of outcomes (which, in a new run's first pass, settles the slice's
//! payments too), `DropStale`, `SettleStatuses` per slice of payments in a later pass (a status
//! and its event in the same transaction), and `CompleteRun`.

use std::collections::HashMap;

use async_trait::async_trait;

use super::{KeptOutcome, KeptRun, OUTCOMES_PER_WRITE, PaymentStatus, STATUSES_PER_WRITE};
use crate::events::{EventDraft, EventType};
use crate::reconcile::Category;
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
    /// This slice's number in the pass, from 1.
    pub slice: u64,
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
        if self.pass == 1 {
            let judged = self.outcomes.iter().zip(&kept).map(|(o, k)| (o.judged.category, k));
            changed += settle_as_judged(rows, at, &self.run_id, judged, self.slice).await?;
        }
        Ok(changed)
    }
}

/// A new run's first pass settles its payments' statuses slice by slice, as it keeps their
/// outcomes, instead of reading them all back at the end: in a first pass a payment's outcomes
/// come in order, so its status (its first match, else its first break) is known as each
/// comes (a payment has one outcome in a pass but for `duplicate_in_file`, which says nothing
/// about it; should a later one be a match, the match stands).
async fn settle_as_judged<'k>(
    rows: &mut dyn WriteOps,
    at: &WriteContext<'_>,
    run_id: &str,
    judged: impl Iterator<Item = (Category, &'k KeptOutcome)>,
    slice: u64,
) -> Result<u64, StoreError> {
    let mut order: Vec<&str> = Vec::new();
    let mut of_record: HashMap<&str, Vec<(Category, &str)>> = HashMap::new();
    for (category, kept) in judged.filter(|(_, k)| !k.record_id.is_empty()) {
        let outcomes = of_record.entry(&kept.record_id).or_insert_with(|| {
            order.push(&kept.record_id);
            Vec::new()
        });
        outcomes.push((category, kept.view.id.as_str()));
    }
    assert!(
        order.len() <= STATUSES_PER_WRITE,
        "a slice of outcomes names a bounded slice of payments"
    );
    let ids: Vec<String> = order.iter().map(|id| (*id).to_owned()).collect();
    let before = statuses_by_record(rows, at, &ids).await?;
    let mut settled = SettledSlice::default();
    for id in order {
        let Some(now) = status_of(of_record[id].iter().copied()) else {
            continue;
        };
        let earlier = before.get(id);
        // Settled by an earlier slice of this pass: its first match stands, and its first
        // break stands unless this is a match.
        if earlier.is_some_and(|e| e.run_id == run_id && (e.status.is_match() || !now.0.is_match())) {
            continue;
        }
        settled.take(id, now, earlier, run_id);
    }
    settled.write(rows, at, run_id, slice).await
}

async fn statuses_by_record(
    rows: &mut dyn WriteOps,
    at: &WriteContext<'_>,
    ids: &[String],
) -> Result<HashMap<String, PaymentStatus>, StoreError> {
    let found = rows.statuses(at.tenant, ids).await?;
    Ok(found.into_iter().map(|s| (s.record_id.clone(), s)).collect())
}

/// A slice of payments' statuses as settled: those that changed, the payments matched, and the
/// events to emit.
#[derive(Default)]
struct SettledSlice {
    changed: Vec<PaymentStatus>,
    matched: Vec<String>,
    events: Vec<(String, EventType)>,
}

impl SettledSlice {
    /// Payment `record_id`'s status from run `run_id`, unless it is the one it has.
    fn take(
        &mut self,
        record_id: &str,
        (status, result_id): (Category, &str),
        earlier: Option<&PaymentStatus>,
        run_id: &str,
    ) {
        if earlier.is_some_and(|e| e.status == status && e.result_id == result_id) {
            return;
        }
        self.changed.push(PaymentStatus {
            record_id: record_id.to_owned(),
            status,
            run_id: run_id.to_owned(),
            result_id: result_id.to_owned(),
        });
        if status.is_match() {
            self.matched.push(record_id.to_owned());
        }
        if let Some(kind) = status_event(earlier.map(|e| e.status), status) {
            self.events.push((record_id.to_owned(), kind));
        }
    }

    /// Writes the changed statuses with their events, and closes the `missing_in_file` breaks
    /// other runs left open for the payments matched; how many statuses changed.
    async fn write(
        self,
        rows: &mut dyn WriteOps,
        at: &WriteContext<'_>,
        run_id: &str,
        slice: u64,
    ) -> Result<u64, StoreError> {
        rows.put_statuses(at.tenant, &self.changed, at.now).await?;
        // The next slices look their statuses up by payment, in a table this pass may be
        // growing from nothing: on statistics that say the tenant has few rows, PostgreSQL
        // reads them all for each lookup (O(n²): 196 s of a 10⁶-line run). Taken again as the
        // pass doubles, they follow its growth.
        if slice.is_power_of_two() {
            rows.refresh_statistics("payment_reconciliations").await?;
        }
        close_missing_elsewhere(rows, at, run_id, &self.matched).await?;
        emit(rows, at, self.events).await?;
        Ok(self.changed.len() as u64)
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
        let before = statuses_by_record(rows, at, &ids).await?;
        let mut settled = SettledSlice::default();
        for chunk in outcomes.chunk_by(|a, b| a.0 == b.0) {
            let record_id = &chunk[0].0;
            if let Some(now) = status_of(chunk.iter().map(|(_, c, id)| (*c, id.as_str()))) {
                settled.take(record_id, now, before.get(record_id), &self.run_id);
            }
        }
        let changed = settled.write(rows, at, &self.run_id, self.slice).await?;
        Ok(Settled {
            last: Some(last),
            changed,
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
    // In order of run: slices written at once lock the runs they change in the same order.
    let mut closed: std::collections::BTreeMap<String, u64> = Default::default();
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
    events: Vec<(String, EventType)>,
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
