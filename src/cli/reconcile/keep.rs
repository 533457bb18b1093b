//! Keeping a `payrec reconcile` run (issue 32, item 3): the run begun for the file's digest,
//! its outcomes written as the lines are judged (in slices of `OUTCOMES_PER_WRITE`, each a
//! transaction, a few at once), the payments' statuses settled with their events (by each slice
//! in a new run's first pass, else after the outcomes), then the run complete.
//! The same file judged again is another pass of the same run: nothing is duplicated.

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::cli::Failure;
use crate::reconcile::Rules;
use crate::reconcile::kept::{Outcome, RunFile, RunView, RunWindow};
use crate::store::reconciliation::OUTCOMES_PER_WRITE;
use crate::store::reconciliation::write::{CompleteRun, DropStale, KeepOutcomes, RunPass, SettleStatuses, StartRun};
use crate::store::write::{Mutation, TypedWrites, WriteOutcome};
use crate::store::{Store, Tenant, Write};

/// The hex SHA-256 of a file's bytes, read as it goes.
pub fn file_digest(path: &Path) -> Result<String, Failure> {
    let unreadable = |e: std::io::Error| Failure(format!("cannot read {}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(unreadable)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Who runs the command: the login of the process's user.
pub fn ran_by() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME"));
    format!("cli:{}", user.unwrap_or_else(|_| "unknown".to_owned()))
}

/// Slices of outcomes written at once, each in its own transaction, while the next lines are
/// judged: on PostgreSQL a slice's statements run on one backend, and with one in flight the
/// 10⁶-line run left a third of two cores idle (102 s; two: 75 s; three: 72 s). The slices of a
/// pass touch distinct outcomes and payments; the runs they change are locked in order.
const SLICES_IN_FLIGHT: usize = 3;

/// One pass of a kept run, and the outcomes judged but not yet written.
pub struct Keeper {
    pub pass: RunPass,
    pending: Vec<Outcome>,
    rules: serde_json::Value,
    /// Outcomes and statuses this pass changed.
    changed: u64,
    /// Slices of outcomes handed to the store so far.
    slices: u64,
    /// The slices of outcomes being written while the next lines are judged, oldest first: at
    /// most `SLICES_IN_FLIGHT`.
    in_flight: std::collections::VecDeque<tokio::task::JoinHandle<Result<u64, Failure>>>,
}

async fn write<M: Mutation>(store: &dyn Store, tenant: &Tenant, mutation: M) -> Result<M::Done, Failure> {
    let write = Write::without_request(tenant.clone(), mutation);
    match store.write(write).await {
        Ok(WriteOutcome::Executed { result, .. }) => Ok(result),
        Ok(WriteOutcome::AlreadySaved(_)) => unreachable!("a run's writes carry no idempotency key"),
        Err(e) => Err(Failure(format!("cannot keep the reconciliation run: {e}"))),
    }
}

impl Keeper {
    /// Begins a pass: the run of this file (its digest), or a new one.
    pub async fn start(store: &dyn Store, tenant: &Tenant, file: RunFile, rules: &Rules) -> Result<Keeper, Failure> {
        let rules = serde_json::to_value(rules).expect("rules serialize");
        let start = StartRun {
            file,
            rules: rules.clone(),
            ran_by: ran_by(),
        };
        let pass = write(store, tenant, start).await?;
        Ok(Keeper {
            pass,
            pending: Vec::new(),
            rules,
            changed: 0,
            slices: 0,
            in_flight: std::collections::VecDeque::new(),
        })
    }

    pub fn push(&mut self, outcome: Outcome) {
        self.pending.push(outcome);
    }

    /// Writes the outcomes judged so far, a slice at a time, each begun once fewer than
    /// `SLICES_IN_FLIGHT` are being written; the last ones are left writing while the next lines
    /// are judged.
    pub async fn flush(&mut self, store: &Arc<dyn Store>, tenant: &Tenant) -> Result<(), Failure> {
        while !self.pending.is_empty() {
            let rest = self.pending.split_off(self.pending.len().min(OUTCOMES_PER_WRITE));
            let outcomes = std::mem::replace(&mut self.pending, rest);
            self.slices += 1;
            let keep = KeepOutcomes {
                run_id: self.pass.run_id.clone(),
                pass: self.pass.pass,
                slice: self.slices,
                outcomes,
            };
            self.written_down_to(SLICES_IN_FLIGHT - 1).await?;
            let (store, tenant) = (store.clone(), tenant.clone());
            self.in_flight
                .push_back(tokio::spawn(async move { write(store.as_ref(), &tenant, keep).await }));
        }
        Ok(())
    }

    /// Waits for the oldest slices being written until at most `left` are.
    async fn written_down_to(&mut self, left: usize) -> Result<(), Failure> {
        while self.in_flight.len() > left {
            let writing = self.in_flight.pop_front().expect("a slice in flight");
            let done = writing
                .await
                .map_err(|e| Failure(format!("cannot keep the reconciliation run: {e}")))?;
            self.changed += done?;
        }
        Ok(())
    }

    /// Ends the pass: what earlier passes judged and this one did not is dropped, the payments'
    /// statuses are settled (with their events; a first pass settled them as it went), and the
    /// run is complete.
    pub async fn finish(
        mut self,
        store: &Arc<dyn Store>,
        tenant: &Tenant,
        window: RunWindow,
    ) -> Result<RunView, Failure> {
        self.flush(store, tenant).await?;
        self.written_down_to(0).await?;
        let store = store.as_ref();
        let run_id = self.pass.run_id.clone();
        let stale = DropStale {
            run_id: run_id.clone(),
            pass: self.pass.pass,
        };
        self.changed += write(store, tenant, stale).await?;
        // A new run's first pass settled each slice's payments as it kept them.
        if self.pass.pass > 1 {
            self.changed += settle_statuses(store, tenant, &run_id).await?;
        }
        let complete = CompleteRun {
            run_id,
            window,
            changed: self.changed > 0,
            rules: self.rules,
            ran_by: ran_by(),
        };
        write(store, tenant, complete).await
    }
}

/// Settles the statuses of every payment the run names, a slice at a time in id order, from
/// the outcomes kept: how many changed.
async fn settle_statuses(store: &dyn Store, tenant: &Tenant, run_id: &str) -> Result<u64, Failure> {
    let (mut after, mut changed) = (String::new(), 0);
    for slice in 1.. {
        let settle = SettleStatuses {
            run_id: run_id.to_owned(),
            after: after.clone(),
            slice,
        };
        let settled = write(store, tenant, settle).await?;
        changed += settled.changed;
        match settled.last {
            Some(last) => after = last,
            None => break,
        }
    }
    Ok(changed)
}
