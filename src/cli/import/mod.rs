//! `payrec import FILE`: another system's history through the API's validation and lifecycle
//! (`crate::import`), written by the store's one write path. Lines are read and validated on
//! this task while up to `IMPORT_BATCHES_IN_FLIGHT` batches of `IMPORT_BATCH_LINES` payments are
//! written, each batch one write (SQLite's writer commits several together: group commit). A
//! payment is written whole or not at all, and one imported before (its record id exists) is
//! skipped, so an import stopped by Ctrl-C, a crash or a full disk is finished by running it
//! again. Exit 0: every line imported or imported before; 1: some lines were refused; 2: a
//! usage or file error (nothing is written).

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::args::{ImportArgs, Mode, ServeArgs};
use super::progress::Progress;
use super::run::{Counting, DataCommand, Interrupt, run};
use super::{Failure, bootstrap, open_store_for, tenant_of};
use crate::clock::unix_now;
use crate::events::render::EventRequest;
use crate::import::{LineError, ReadyLine, Sequencer, prepare};
use crate::records::command::ImportedPayment;
use crate::store::{ImportOutcome, ImportWrite, Store, StoreError, Tenant, TypedWrites, Write, WriteOutcome};
use crate::wire::request::new_request_id;

/// Payments per write, at least (a batch ends where a second does).
pub const IMPORT_BATCH_LINES: usize = 256;
/// Payments per write, at most.
pub const IMPORT_BATCH_LINES_MAX: usize = 4096;
/// Times a batch is tried again when the database was busy (a lock wait that timed out, a
/// deadlock PostgreSQL broke): the batch wrote nothing, and trying it again is safe.
pub const IMPORT_BUSY_RETRIES: usize = 3;
/// Writes in flight at once.
pub const IMPORT_BATCHES_IN_FLIGHT: usize = 8;

mod source;

use source::Source;

/// What the import did, for the summary.
#[derive(Debug, Default)]
struct Counts {
    imported: u64,
    refunds: u64,
    existed: u64,
    refused: u64,
}

/// Why an import stopped before the end of its file.
#[derive(Debug)]
enum Stop {
    /// `--stop-on-error` and a refused line.
    Refused(String),
    Interrupted,
    /// A write failed (the disk is full, the database is gone): its batch wrote nothing.
    Failed(String),
}

/// One batch's lines (number, refunds) and what the store made of them.
type Written = (Vec<(u64, usize)>, Result<WriteOutcome<Vec<ImportOutcome>>, StoreError>);

/// The writes: batches of ready lines, several in flight, in the order the lines are applied.
struct Writes {
    store: Option<Arc<dyn Store>>,
    tenant: Tenant,
    batch: Vec<ReadyLine>,
    /// `created` of the last line sent: a batch that starts in the same second waits for the
    /// batches before it, so the second's records are written in order.
    last_sent: Option<i64>,
    in_flight: JoinSet<Written>,
    counts: Counts,
    stop_on_error: bool,
    /// Why nothing more is sent.
    stopped: Option<Stop>,
}

impl Writes {
    async fn push(&mut self, line: ReadyLine) {
        // A batch ends at a change of second once it has IMPORT_BATCH_LINES, so that a second's
        // lines are one write; a second longer than IMPORT_BATCH_LINES_MAX takes several, each
        // waiting for the one before it.
        if let Some(last) = self.batch.last() {
            let full = self.batch.len() >= IMPORT_BATCH_LINES && last.created != line.created;
            if full || self.batch.len() >= IMPORT_BATCH_LINES_MAX {
                self.send().await;
            }
        }
        if self.batch.is_empty() && self.last_sent == Some(line.created) {
            self.drain(0).await;
        }
        self.batch.push(line);
    }

    async fn send(&mut self) {
        if self.batch.is_empty() || self.stopped.is_some() {
            self.batch.clear();
            return;
        }
        self.drain(IMPORT_BATCHES_IN_FLIGHT - 1).await;
        let batch = std::mem::take(&mut self.batch);
        self.last_sent = batch.last().map(|l| l.created);
        let Some(store) = self.store.clone() else {
            // A dry run: every line validated is one that would be imported.
            for line in &batch {
                self.counts.imported += 1;
                self.counts.refunds += line.payment.refunds.len() as u64;
            }
            return;
        };
        let lines = batch.iter().map(|l| (l.line, l.payment.refunds.len())).collect();
        let payments = batch.into_iter().map(|l| l.payment).collect();
        let tenant = self.tenant.clone();
        self.in_flight
            .spawn(async move { (lines, write_retrying(store.as_ref(), tenant, payments).await) });
    }

    /// Waits until at most `left` writes are in flight, counting what they did.
    async fn drain(&mut self, left: usize) {
        while self.in_flight.len() > left {
            let Some(done) = self.in_flight.join_next().await else {
                break;
            };
            let (lines, written) = done.expect("an import write does not panic");
            let outcomes = match written {
                Ok(WriteOutcome::Executed { result: outcomes, .. }) => outcomes,
                Ok(WriteOutcome::AlreadySaved(_)) => unreachable!("an import carries no idempotency key"),
                Err(e) => {
                    self.stopped
                        .get_or_insert(Stop::Failed(format!("cannot write to the database: {e}")));
                    continue;
                }
            };
            for ((line, refunds), outcome) in lines.into_iter().zip(outcomes) {
                let refused = match outcome {
                    ImportOutcome::Created => {
                        self.counts.imported += 1;
                        self.counts.refunds += refunds as u64;
                        continue;
                    }
                    ImportOutcome::Exists => {
                        self.counts.existed += 1;
                        continue;
                    }
                    ImportOutcome::AttemptIdTaken(id) => LineError::new(
                        line,
                        Some("latest_attempt"),
                        format!("payment attempt record {id} belongs to another payment record"),
                    ),
                    ImportOutcome::RefundReferenceTaken(reference) => LineError::new(
                        line,
                        Some("refund_reference"),
                        format!("refund reference {reference:?} is used by another refund"),
                    ),
                };
                self.refuse(&refused);
            }
        }
    }

    /// A line read: its payment sequenced for writing, or its refusal counted. Under
    /// `--stop-on-error` a refusal first writes what came before it, and nothing after.
    async fn take(&mut self, line: Result<ReadyLine, LineError>, sequencer: &mut Sequencer) {
        match line {
            Ok(ready) => {
                for ready in sequencer.push(ready) {
                    self.push(ready).await;
                }
            }
            Err(refused) => {
                if self.stop_on_error {
                    for ready in std::mem::take(sequencer).finish() {
                        self.push(ready).await;
                    }
                    self.send().await;
                }
                self.refuse(&refused);
            }
        }
    }

    fn refuse(&mut self, error: &LineError) {
        eprintln!("payrec: {error}");
        self.counts.refused += 1;
        if self.stop_on_error {
            self.stopped.get_or_insert(Stop::Refused(format!("stopped at {error}")));
        }
    }
}

/// One batch's write, tried again while the database says it is busy. The store takes its
/// write whole, so each try but the last writes a copy of the payments.
async fn write_retrying(
    store: &dyn Store,
    tenant: Tenant,
    payments: Vec<ImportedPayment>,
) -> Result<WriteOutcome<Vec<ImportOutcome>>, StoreError> {
    let request = EventRequest {
        request_id: Some(new_request_id()),
        idempotency_key: None,
    };
    let write = |payments: Vec<ImportedPayment>| Write {
        tenant: tenant.clone(),
        mutation: ImportWrite::from(payments),
        idempotency: None,
        request: request.clone(),
        now: unix_now(),
    };
    for _ in 0..IMPORT_BUSY_RETRIES {
        match store.write(write(payments.clone())).await {
            Err(StoreError::Busy(_)) => {}
            written => return written,
        }
    }
    store.write(write(payments)).await
}

/// The tenant lines are written to: `--account` (created when missing), else the database's
/// one account (created, with its keys, when there is none).
async fn import_tenant(store: &dyn Store, account: Option<&str>, mode: Mode) -> Result<Tenant, Failure> {
    match account {
        Some(id) => {
            if !id.starts_with("acct_") || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(Failure(format!("{id:?} is not an account id (acct_…)")));
            }
            if !store.account_exists(id).await? {
                store.create_account(id, unix_now()).await?;
                eprintln!("payrec: created account {id} (give it keys with `payrec keys create --account {id}`)");
            }
        }
        None if store.count_accounts().await? == 0 => bootstrap(store).await?,
        None => {}
    }
    tenant_of(store, account, mode).await
}

/// Imports; Ok(true) when no line was refused.
pub async fn import_command(database_url: &str, args: &ImportArgs) -> Result<bool, Failure> {
    run(&ImportCommand { args }, database_url).await
}

struct ImportCommand<'a> {
    args: &'a ImportArgs,
}

/// The file, and the writes its lines go to.
struct ImportJob {
    source: Source,
    writes: Writes,
    /// Held while importing: a server started on the same SQLite file refuses to start.
    _serving: Option<std::fs::File>,
}

/// How far the import came.
struct Imported {
    writes: Writes,
    lines: u64,
    /// The file could not be read on.
    failure: Option<Failure>,
}

impl DataCommand for ImportCommand<'_> {
    type Job = ImportJob;
    type Outcome = Imported;

    async fn open(&self, database_url: &str) -> Result<(ImportJob, Option<u64>), Failure> {
        let args = self.args;
        let (source, bytes) = Source::open(args)?;
        let (store, tenant, serving) = if args.dry_run {
            let tenant = Tenant {
                account_id: args.account.clone().unwrap_or_default(),
                livemode: args.mode == Mode::Live,
            };
            (None, tenant, None)
        } else {
            let serving = super::serve::lock_sqlite_for_serving(database_url)?;
            let store = open_store_for(database_url, &ServeArgs::default(), true).await?;
            let tenant = import_tenant(store.as_ref(), args.account.as_deref(), args.mode).await?;
            (Some(store), tenant, serving)
        };
        let writes = Writes {
            store,
            tenant,
            batch: Vec::with_capacity(IMPORT_BATCH_LINES),
            last_sent: None,
            in_flight: JoinSet::new(),
            counts: Counts::default(),
            stop_on_error: args.stop_on_error,
            stopped: None,
        };
        let job = ImportJob {
            source,
            writes,
            _serving: serving,
        };
        Ok((job, Some(bytes)))
    }

    fn counting(&self) -> Counting {
        Counting {
            verb: "importing",
            noun: "lines",
        }
    }

    async fn run(&self, job: ImportJob, progress: &mut Progress, interrupt: &Interrupt) -> Imported {
        let ImportJob {
            mut source,
            mut writes,
            _serving,
        } = job;
        let livemode = self.args.mode == Mode::Live;
        let mut sequencer = Sequencer::default();
        let (mut read, mut lines, mut failure) = (0u64, 0u64, None);
        while writes.stopped.is_none() {
            if interrupt.requested() {
                writes.stopped = Some(Stop::Interrupted);
                break;
            }
            let next = match source.next() {
                Ok(Some(next)) => next,
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            lines += 1;
            writes
                .take(next.and_then(|input| prepare(input, livemode)), &mut sequencer)
                .await;
            let position = source.position();
            progress.advance(1, position - read);
            read = position;
        }
        if writes.stopped.is_none() && failure.is_none() {
            for ready in sequencer.finish() {
                writes.push(ready).await;
            }
            writes.send().await;
        }
        writes.drain(0).await;
        if let Some(store) = &writes.store
            && let Err(e) = store.close().await
        {
            // Checkpoints the WAL back into the database and empties it, as a clean stop does.
            failure.get_or_insert(Failure(format!("cannot close the database: {e}")));
        }
        progress.advance(0, source.position().saturating_sub(read));
        Imported { writes, lines, failure }
    }

    fn summary(&self, outcome: Imported, elapsed: Duration) -> Result<bool, Failure> {
        let (args, seconds) = (self.args, elapsed.as_secs_f64());
        let Imported { writes, lines, failure } = outcome;
        let c = &writes.counts;
        let verb = if args.dry_run { "would import" } else { "imported" };
        eprintln!(
            "payrec: {verb} {} payments ({} refunds) from {} lines of {} in {seconds:.1} s ({:.0} lines/s); \
             {} imported before, {} refused",
            c.imported,
            c.refunds,
            lines,
            args.file.display(),
            lines as f64 / seconds.max(1e-9),
            c.existed,
            c.refused
        );
        if let Some(failure) = failure {
            return Err(failure);
        }
        let again = if args.dry_run {
            ""
        } else {
            "; what was written stays, and running the import again skips it"
        };
        match writes.stopped {
            None => Ok(c.refused == 0),
            Some(Stop::Refused(message)) => {
                eprintln!("payrec: {message}{again}");
                Ok(false)
            }
            Some(Stop::Interrupted) => Err(Failure(format!("interrupted{again}"))),
            Some(Stop::Failed(message)) => Err(Failure(format!("{message}{again}"))),
        }
    }
}
