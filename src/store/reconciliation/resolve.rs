//! Resolving a break by hand (the dashboard's Reconciliation page): matching it to a payment,
//! or marking it with a reason. One transaction: the outcome resolved with who and when, its
//! run's count of open breaks, and for a match the payment's status with its event.

use async_trait::async_trait;

use super::PaymentStatus;
use super::write::{emit, fewer_open_breaks};
use crate::reconcile::Category;
use crate::reconcile::kept::{RESOLUTION_REASON_CHARS_MAX, Resolution, ResultView, status_event};
use crate::store::StoreError;
use crate::store::write::{Mutation, WriteContext, WriteOps};

/// What a person decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByHand {
    /// The break is this payment (a record id of the tenant).
    Match { record_id: String },
    /// The break is explained (bank charges, a duplicate booking, …).
    Mark { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveBreak {
    pub result_id: String,
    pub by_hand: ByHand,
    /// Who resolved it (the session's key).
    pub by: String,
}

/// Why a resolution was refused: nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveRefused {
    NoSuchBreak,
    NotOpen,
    NoSuchPayment,
    /// An empty reason, or one longer than `RESOLUTION_REASON_CHARS_MAX`.
    BadReason,
}

#[async_trait]
impl Mutation for ResolveBreak {
    type Done = Result<ResultView, ResolveRefused>;

    fn reads_its_own_rows(&self) -> bool {
        true
    }

    async fn apply(self, rows: &mut dyn WriteOps, at: &WriteContext<'_>) -> Result<Self::Done, StoreError> {
        let tenant = at.tenant;
        let Some(view) = rows.outcome(tenant, &self.result_id).await? else {
            return Ok(Err(ResolveRefused::NoSuchBreak));
        };
        if !view.is_open() {
            return Ok(Err(ResolveRefused::NotOpen));
        }
        let mut resolution = Resolution {
            kind: String::new(),
            payment_record: None,
            reason: None,
            run: None,
            resolved_by: self.by,
            resolved_at: at.now,
        };
        match &self.by_hand {
            ByHand::Match { record_id } => {
                if rows
                    .record_docs(tenant, std::slice::from_ref(record_id))
                    .await?
                    .is_empty()
                {
                    return Ok(Err(ResolveRefused::NoSuchPayment));
                }
                resolution.kind = "matched".to_owned();
                resolution.payment_record = Some(record_id.clone());
            }
            ByHand::Mark { reason } => {
                let chars = reason.trim().chars().count();
                if chars == 0 || chars > RESOLUTION_REASON_CHARS_MAX {
                    return Ok(Err(ResolveRefused::BadReason));
                }
                resolution.kind = "marked".to_owned();
                resolution.reason = Some(reason.trim().to_owned());
            }
        }
        let resolved = view.resolved(resolution);
        rows.put_outcome_view(tenant, &resolved).await?;
        fewer_open_breaks(rows, tenant, &resolved.run, 1).await?;
        if let ByHand::Match { record_id } = self.by_hand {
            matched_by_hand(rows, at, &resolved, record_id).await?;
        }
        Ok(Ok(resolved))
    }
}

/// A break matched by hand: the payment's status is `matched`, by this outcome, and the
/// payment is no longer missing from any file (in this run or another).
async fn matched_by_hand(
    rows: &mut dyn WriteOps,
    at: &WriteContext<'_>,
    resolved: &ResultView,
    record_id: String,
) -> Result<(), StoreError> {
    let ids = [record_id.clone()];
    let before = rows.statuses(at.tenant, &ids).await?.pop().map(|s| s.status);
    let status = PaymentStatus {
        record_id: record_id.clone(),
        status: Category::Matched,
        run_id: resolved.run.clone(),
        result_id: resolved.id.clone(),
    };
    rows.put_statuses(at.tenant, std::slice::from_ref(&status), at.now)
        .await?;
    let resolution = resolved.resolution.clone().expect("a resolved outcome");
    // No run is named "": every run's open `missing_in_file` of the payment.
    for missing in rows.open_missing_elsewhere(at.tenant, "", &ids).await? {
        let run = missing.run.clone();
        rows.put_outcome_view(at.tenant, &missing.resolved(resolution.clone()))
            .await?;
        fewer_open_breaks(rows, at.tenant, &run, 1).await?;
    }
    let events = status_event(before, Category::Matched).map(|kind| (record_id, kind));
    emit(rows, at, events.into_iter().collect()).await
}
