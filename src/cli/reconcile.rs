//! `payrec reconcile FILE`: a bank statement (camt.053, MT940, BAI2: `crate::statements`, read
//! and checked whole first) or a settlement file (CSV with a header) matched to the ledger by
//! processor reference (`crate::reconcile` judges). The lines are judged in batches of
//! `REFERENCES_PER_LOOKUP_MAX` lines, each batch's references looked up a rank at a time
//! (`lookup`); only the set of references seen is kept, for duplicates and for
//! the guaranteed payments no line names. Exit 0: everything matched; 1: something did not;
//! 2: a usage or file error (nothing is judged then).

use std::collections::HashSet;
use std::fs::File;
use std::sync::Arc;
use std::time::Duration;

use super::args::{ReconcileArgs, ServeArgs};
use super::progress::Progress;
use super::run::{Counting, DataCommand, Interrupt, run};
use super::{Failure, open_store_for, tenant_of};
use crate::statements::Format;

mod batch;
mod csv_lines;
mod keep;
mod lookup;
mod settlement;
mod source;
mod statement;

use lookup::found_for;
use settlement::Settlement;

use crate::export::safe_cells;
use crate::reconcile::kept::{Outcome, RunFile, RunView, RunWindow};
use crate::reconcile::payout::{PayoutLedger, SettlementRow, judge_payout};
use crate::reconcile::{CATEGORIES, Category, FileLine, Found, Judged, Rules, Summary, judge_with};
use crate::records::totals::SECONDS_PER_DAY;
use crate::store::ledger::REFERENCES_PER_LOOKUP_MAX;
use crate::store::{ExportQuery, Store, Tenant};
use source::{Source, csv_source, format_of, statement_source};

/// The per-line report's columns.
pub const REPORT_COLUMNS: [&str; 10] = [
    "line",
    "reference",
    "category",
    "file_amount",
    "file_currency",
    "file_date",
    "payrec_object",
    "payrec_amount",
    "payrec_currency",
    "payrec_state",
];

/// The ledger a batch is judged against, and how.
struct Judging<'a> {
    store: &'a dyn Store,
    tenant: &'a Tenant,
    rules: &'a Rules,
    settlement: &'a Settlement,
}

/// `--rules FILE`, else the defaults.
fn rules_of(args: &ReconcileArgs) -> Result<Rules, Failure> {
    let Some(path) = &args.rules else {
        return Ok(Rules::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
    Rules::parse(&text).map_err(|e| Failure(format!("{}: {e}", path.display())))
}

/// Judges one batch of lines, in order, and reports each.
async fn judge_batch(
    judging: &Judging<'_>,
    batch: &[FileLine],
    seen: &mut HashSet<String>,
    out: &mut Output,
) -> Result<(), Failure> {
    let found = found_for(judging, batch, seen).await?;
    for line in batch {
        let references = std::iter::once(&line.reference).chain(&line.other_references);
        if let Some(payout) = judging.settlement.payout_of(references) {
            judge_payout_line(judging, line, payout, seen, out).await?;
            continue;
        }
        // A statement entry is judged by the first of its references that names something.
        let reference = std::iter::once(&line.reference)
            .chain(&line.other_references)
            .find(|r| found.contains_key(*r) || seen.contains(*r))
            .unwrap_or(&line.reference);
        let mut named = found.get(reference).unwrap_or(&Found::Nothing);
        // A payment settled outside the rules' date window is not this line's: the line names
        // nothing, and the payment may still be missing from the file.
        let in_window = judging.in_window(named, line);
        let mut reference = reference;
        if !in_window {
            (named, reference) = (&Found::Nothing, &line.reference);
        }
        let names_one = in_window && !reference.is_empty();
        let duplicate = names_one && seen.contains(reference);
        let judged = judge_with(line, named, duplicate, &judging.rules.tolerance);
        if judged.category == Category::AmountMismatch && batch::judged_as_batch(judging, line, seen, out).await? {
            continue;
        }
        if names_one {
            seen.insert(reference.clone());
        }
        let item = out.next_item();
        out.line(Some(line), item, reference, &judged)?;
    }
    Ok(())
}

/// A line naming a payout of the settlement file: its payments (and refunds, the rows of
/// negative gross) looked up and judged together; when they match, each is reported after the
/// line.
async fn judge_payout_line(
    judging: &Judging<'_>,
    line: &FileLine,
    payout: &str,
    seen: &mut HashSet<String>,
    out: &mut Output,
) -> Result<(), Failure> {
    let rows = &judging.settlement.payouts[payout].rows_in(&line.currency);
    let (refund_rows, payment_rows): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.gross < 0);
    let references = |rows: &[&SettlementRow]| rows.iter().map(|r| r.payment_reference.clone()).collect::<Vec<_>>();
    let records = judging.records_by_reference(&references(&payment_rows)).await?;
    let refunds = judging.refunds_by_reference(&references(&refund_rows)).await?;
    let found = |row: &SettlementRow| {
        let reference = &row.payment_reference;
        match row.gross < 0 {
            true => refunds.get(reference).cloned().map_or(Found::Nothing, Found::Refund),
            false => records.get(reference).cloned().map_or(Found::Nothing, Found::Record),
        }
    };
    let ledger = PayoutLedger {
        found: &found,
        named_before: &|reference| seen.contains(reference),
    };
    let mut judged = judge_payout(line, payout, rows, &ledger, &judging.rules.tolerance);
    if !seen.insert(payout.to_owned()) {
        judged.line.category = Category::DuplicateInFile;
        judged.payments.clear();
    }
    let item = out.next_item();
    out.line(Some(line), item.clone(), payout, &judged.line)?;
    for (reference, payment) in &judged.payments {
        seen.insert(reference.clone());
        let item = format!("{item}/{}", payment.payrec_object);
        out.line(None, item, reference, payment)?;
    }
    Ok(())
}

/// The summary, the per-line report and the kept run.
struct Output {
    summary: Summary,
    report: Option<csv::Writer<File>>,
    /// None with `--dry-run`.
    keeper: Option<keep::Keeper>,
    /// The run, once complete.
    run: Option<RunView>,
    /// Lines judged so far: a line's item is its ordinal (a statement's entry may hold several
    /// transactions, so its number does not name one line).
    lines: u64,
}

impl Output {
    /// The next line's item: `L<ordinal>`, the same on every pass of the same file.
    fn next_item(&mut self) -> String {
        self.lines += 1;
        format!("L{}", self.lines)
    }

    /// One outcome; `item` names it within the run (`reconcile::kept::Outcome`).
    fn line(&mut self, line: Option<&FileLine>, item: String, reference: &str, judged: &Judged) -> Result<(), Failure> {
        self.summary.add(judged.category);
        if let Some(keeper) = &mut self.keeper {
            keeper.push(Outcome {
                item,
                line: line.map(|l| l.line),
                reference: reference.to_owned(),
                file: line.map(|l| (l.amount, l.currency.clone(), l.date)),
                judged: judged.clone(),
            });
        }
        let Some(report) = &mut self.report else { return Ok(()) };
        let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        report
            .write_record(safe_cells(&[
                line.map(|l| l.line.to_string()).unwrap_or_default(),
                reference.to_owned(),
                judged.category.as_str().to_owned(),
                opt(line.map(|l| l.amount)),
                line.map(|l| l.currency.clone()).unwrap_or_default(),
                opt(line.and_then(|l| l.date)),
                judged.payrec_object.clone(),
                opt(judged.payrec_amount),
                judged.payrec_currency.clone(),
                judged.payrec_state.clone(),
            ]))
            .map_err(|e| Failure(format!("cannot write the report: {e}")))
    }
}

/// The guaranteed payments of the window that no line named and no other kept run matched:
/// `missing_in_file`. Walked by id, reading columns only.
async fn missing_in_file(
    store: &Arc<dyn Store>,
    tenant: &Tenant,
    window: (Option<i64>, Option<i64>),
    seen: &HashSet<String>,
    out: &mut Output,
) -> Result<(), Failure> {
    let run_id = out.keeper.as_ref().map(|k| k.pass.run_id.clone());
    let mut query = ExportQuery {
        after: None,
        created_from: window.0,
        created_until: window.1,
        limit: REFERENCES_PER_LOOKUP_MAX,
    };
    loop {
        let page = store
            .guaranteed_payments(tenant, &query)
            .await
            .map_err(|e| Failure(format!("cannot list the guaranteed payments: {e}")))?;
        let matched_elsewhere: HashSet<String> = match &run_id {
            Some(run_id) => {
                let ids: Vec<String> = page.iter().map(|p| p.id.clone()).collect();
                store
                    .reconciled_elsewhere(tenant, run_id, &ids)
                    .await
                    .map_err(|e| Failure(format!("cannot read the payments' reconciliation: {e}")))?
                    .into_iter()
                    .collect()
            }
            None => HashSet::new(),
        };
        for payment in &page {
            let reference = payment.payment_reference.as_deref();
            if reference.is_some_and(|r| seen.contains(r)) || matched_elsewhere.contains(&payment.id) {
                continue;
            }
            let judged = Judged {
                category: Category::MissingInFile,
                payrec_object: payment.id.clone(),
                payrec_amount: Some(payment.amount),
                payrec_currency: payment.currency.clone(),
                payrec_state: "guaranteed".to_owned(),
            };
            out.line(
                None,
                format!("M/{}", payment.id),
                reference.unwrap_or_default(),
                &judged,
            )?;
        }
        if let Some(keeper) = &mut out.keeper {
            keeper.flush(store, tenant).await?;
        }
        if page.len() < REFERENCES_PER_LOOKUP_MAX {
            return Ok(());
        }
        query.after = page.last().map(|p| p.id.clone());
    }
}

/// Reconciles; Ok(true) when everything matched.
pub async fn reconcile_command(database_url: &str, args: &ReconcileArgs) -> Result<bool, Failure> {
    run(&ReconcileCommand { args }, database_url).await
}

struct ReconcileCommand<'a> {
    args: &'a ReconcileArgs,
}

/// The file, the ledger it is judged against and the output.
struct ReconcileJob {
    source: Source,
    rules: Rules,
    settlement: Settlement,
    store: Arc<dyn Store>,
    tenant: Tenant,
    out: Output,
}

/// The earliest and latest date of the file's lines.
#[derive(Debug, Default, Clone, Copy)]
struct Dates {
    first: Option<i64>,
    last: Option<i64>,
}

impl Dates {
    fn add(&mut self, date: i64) {
        self.first = Some(self.first.map_or(date, |f| f.min(date)));
        self.last = Some(self.last.map_or(date, |l| l.max(date)));
    }

    /// The window of `missing_in_file`: the flags, else the whole UTC days of the file's
    /// dates, else all time.
    fn window(self, args: &ReconcileArgs) -> (Option<i64>, Option<i64>) {
        let day = |d: i64| d.div_euclid(SECONDS_PER_DAY) * SECONDS_PER_DAY;
        (
            args.since.or(self.first.map(day)),
            args.until.or(self.last.map(|d| day(d) + SECONDS_PER_DAY)),
        )
    }
}

impl DataCommand for ReconcileCommand<'_> {
    type Job = ReconcileJob;
    type Outcome = Result<Output, Failure>;

    async fn open(&self, database_url: &str) -> Result<(ReconcileJob, Option<u64>), Failure> {
        let args = self.args;
        let rules = rules_of(args)?;
        let settlement = match &args.settlement {
            Some(path) => Settlement::read(path)?,
            None => Settlement::default(),
        };
        let format = format_of(args)?;
        let (source, bytes, digest) = match format {
            Format::Csv => csv_source(args)?,
            format => statement_source(args, format, rules.references.in_text)?,
        };
        // A run writes its outcomes in bulk: PostgreSQL plans each statement for its values.
        let store = open_store_for(database_url, &ServeArgs::default(), true).await?;
        let tenant = tenant_of(store.as_ref(), args.account.as_deref(), args.mode).await?;
        let keeper = match args.dry_run {
            true => None,
            false => {
                let file = RunFile {
                    name: args
                        .file
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    sha256: digest,
                    format: format.as_str().to_owned(),
                };
                Some(keep::Keeper::start(store.as_ref(), &tenant, file, &rules).await?)
            }
        };
        let report = match &args.report {
            Some(path) => {
                let mut w = csv::Writer::from_writer(super::output::create_output_file(path, database_url)?);
                w.write_record(REPORT_COLUMNS).map_err(|e| Failure(e.to_string()))?;
                Some(w)
            }
            None => None,
        };
        let out = Output {
            summary: Summary::default(),
            report,
            keeper,
            run: None,
            lines: 0,
        };
        let job = ReconcileJob {
            source,
            rules,
            settlement,
            store,
            tenant,
            out,
        };
        Ok((job, Some(bytes)))
    }

    fn counting(&self) -> Counting {
        Counting {
            verb: "reconciling",
            noun: "lines",
        }
    }

    async fn run(&self, job: ReconcileJob, progress: &mut Progress, interrupt: &Interrupt) -> Result<Output, Failure> {
        let ReconcileJob {
            mut source,
            rules,
            settlement,
            store,
            tenant,
            mut out,
        } = job;
        let args = self.args;
        let mut seen: HashSet<String> = HashSet::new();
        let mut dates = Dates::default();
        let mut batch: Vec<FileLine> = Vec::with_capacity(REFERENCES_PER_LOOKUP_MAX);
        loop {
            let (more, bytes) = source.fill(&mut batch, args).await?;
            for date in batch.iter().filter_map(|l| l.date) {
                dates.add(date);
            }
            if !batch.is_empty() {
                let judging = Judging {
                    store: store.as_ref(),
                    tenant: &tenant,
                    rules: &rules,
                    settlement: &settlement,
                };
                judge_batch(&judging, &batch, &mut seen, &mut out).await?;
                if let Some(keeper) = &mut out.keeper {
                    keeper.flush(&store, &tenant).await?;
                }
                progress.advance(batch.len() as u64, bytes);
                batch.clear();
            }
            if interrupt.requested() {
                return Err(Failure(
                    "interrupted: the run stays running; reconciling the same file again finishes it".into(),
                ));
            }
            if !more {
                break;
            }
        }
        let window = dates.window(args);
        missing_in_file(&store, &tenant, window, &seen, &mut out).await?;
        if let Some(keeper) = out.keeper.take() {
            let window = RunWindow {
                start: window.0,
                end: window.1,
            };
            out.run = Some(keeper.finish(&store, &tenant, window).await?);
        }
        if let Some(report) = &mut out.report {
            report
                .flush()
                .map_err(|e| Failure(format!("cannot write the report: {e}")))?;
        }
        Ok(out)
    }

    fn summary(&self, outcome: Result<Output, Failure>, elapsed: Duration) -> Result<bool, Failure> {
        let out = outcome?;
        println!("| category | count |");
        println!("|---|---|");
        for category in CATEGORIES {
            println!("| {} | {} |", category.as_str(), out.summary.count(category));
        }
        eprintln!(
            "payrec: reconciled {} in {:.1} s",
            self.args.file.display(),
            elapsed.as_secs_f64()
        );
        match &out.run {
            Some(run) => eprintln!("payrec: kept as run {} ({} open breaks)", run.id, run.open_breaks),
            None => eprintln!("payrec: --dry-run: nothing kept"),
        }
        Ok(out.summary.all_matched())
    }
}
