//! The one shape of the data commands (`export`, `import`, `reconcile`): the arguments checked
//! and the store and files opened, then the loop with progress, stopped between steps by
//! Ctrl-C, then the summary. Each command supplies the three steps (`DataCommand`); `run` holds
//! the order, the progress and the one way Ctrl-C is watched.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;

use super::Failure;
use super::progress::Progress;

/// Ctrl-C, watched from its creation until dropped: the loop asks between steps, so a step
/// (a batch written, a page exported) is never cut in half.
pub struct Interrupt {
    requested: Arc<AtomicBool>,
    watcher: JoinHandle<()>,
}

impl Interrupt {
    /// Watches for Ctrl-C; registered before this returns, so none is missed after it.
    pub fn watch() -> Result<Interrupt, Failure> {
        let mut sigint =
            signal(SignalKind::interrupt()).map_err(|e| Failure(format!("cannot watch for Ctrl-C: {e}")))?;
        let requested = Arc::new(AtomicBool::new(false));
        let flag = requested.clone();
        let watcher = tokio::spawn(async move {
            if sigint.recv().await.is_some() {
                flag.store(true, Ordering::SeqCst);
            }
        });
        Ok(Interrupt { requested, watcher })
    }

    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// What the progress shows: "`verb`: N `noun`s".
#[derive(Debug, Clone, Copy)]
pub struct Counting {
    pub verb: &'static str,
    pub noun: &'static str,
}

/// A data command's three steps.
pub trait DataCommand {
    /// What the loop works on: the store, the tenant, the input and output.
    type Job;
    /// What the loop came to, for the summary.
    type Outcome;

    /// The arguments checked, the store and files opened; the input's size in bytes when known.
    /// Nothing is written to the ledger before this returns unless the command says so.
    async fn open(&self, database_url: &str) -> Result<(Self::Job, Option<u64>), Failure>;

    /// What the progress counts.
    fn counting(&self) -> Counting;

    /// The loop: one step at a time, asking `interrupt` between steps.
    async fn run(&self, job: Self::Job, progress: &mut Progress, interrupt: &Interrupt) -> Self::Outcome;

    /// Prints the summary; Ok(true) when the input was all good (exit 0), Ok(false) when some
    /// of it was not (exit 1).
    fn summary(&self, outcome: Self::Outcome, elapsed: Duration) -> Result<bool, Failure>;
}

/// Runs a data command's steps in order.
pub async fn run<C: DataCommand>(command: &C, database_url: &str) -> Result<bool, Failure> {
    let (job, total_bytes) = command.open(database_url).await?;
    let interrupt = Interrupt::watch()?;
    let counting = command.counting();
    let mut progress = Progress::new(counting.verb, counting.noun, total_bytes);
    let outcome = command.run(job, &mut progress, &interrupt).await;
    drop(interrupt);
    let elapsed = progress.elapsed();
    progress.finish();
    command.summary(outcome, elapsed)
}
