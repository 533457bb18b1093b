//! The one write path every backend shares: claim the idempotency key, lock and load the
//! record, run the caller's plan (the lifecycle), write the rows, save the response. Backends
//! supply the SQL (`WriteOps`) and the transaction around it.

use std::panic::AssertUnwindSafe;

use async_trait::async_trait;

use super::{
    IdempotencySave, SavedIdempotent, SavedResponse, StoreError, Tenant, WriteCommand, WriteOutcome, WriteTarget,
};
use crate::records::errors::refund_reference_taken;
use crate::records::lifecycle::PaymentState;
use crate::records::model::{PaymentAttemptRecord, PaymentRecord, Refund};
use crate::wire::error::ApiError;

/// Row-level operations inside one open transaction.
#[async_trait]
pub trait WriteOps: Send {
    /// Claims `idem.key` for this transaction: None when claimed (new, or an expired result
    /// replaced), or the result another request saved under it. A backend may instead claim
    /// lazily in `finish_key` (PostgreSQL does): a key found taken there makes the caller roll
    /// the whole command back, so a second execution never commits.
    async fn claim_key(
        &mut self,
        tenant: &Tenant,
        idem: &IdempotencySave,
    ) -> Result<Option<SavedIdempotent>, StoreError>;
    /// Stores the response under the key. Some(saved) when the key turned out to be taken
    /// already (lazy claims only): the caller then rolls the command back and replays `saved`.
    async fn finish_key(
        &mut self,
        tenant: &Tenant,
        idem: &IdempotencySave,
        response: &SavedResponse,
    ) -> Result<Option<SavedIdempotent>, StoreError>;
    /// Loads a record and its latest attempt, locking the record until commit.
    async fn lock_state(&mut self, tenant: &Tenant, record_id: &str) -> Result<Option<PaymentState>, StoreError>;
    async fn insert_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError>;
    async fn update_record(&mut self, tenant: &Tenant, record: &PaymentRecord) -> Result<(), StoreError>;
    async fn insert_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError>;
    async fn update_attempt(&mut self, tenant: &Tenant, attempt: &PaymentAttemptRecord) -> Result<(), StoreError>;
    /// Inserts a refund row; false when its `refund_reference` is already used in the tenant.
    async fn insert_refund(&mut self, tenant: &Tenant, refund: &Refund) -> Result<bool, StoreError>;
}

/// Runs a caller's closure, turning a panic into an error so a writer survives it.
fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, StoreError> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        tracing::error!(what, "panic inside a write command");
        StoreError::Corrupt(format!("panic in {what}"))
    })
}

/// Applies one command inside the caller's open transaction. An `AlreadySaved` outcome must be
/// rolled back by the caller (a lazy claim may have found the key taken after writing).
pub async fn apply(ops: &mut impl WriteOps, command: WriteCommand) -> Result<WriteOutcome, StoreError> {
    let WriteCommand {
        tenant,
        target,
        respond,
        idempotency,
    } = command;
    if let Some(idem) = &idempotency
        && let Some(saved) = ops.claim_key(&tenant, idem).await?
    {
        return Ok(WriteOutcome::AlreadySaved(saved));
    }
    let response = match target {
        WriteTarget::Create(state) => {
            ops.insert_record(&tenant, &state.record).await?;
            ops.insert_attempt(&tenant, &state.latest).await?;
            guarded("respond", || respond(Ok(&state)))?
        }
        WriteTarget::Existing { record_id, plan } => match ops.lock_state(&tenant, &record_id).await? {
            None => {
                let missing = ApiError::ResourceMissing {
                    object: "payment_record",
                    id: record_id,
                    param: "id",
                };
                guarded("respond", || respond(Err(&missing)))?
            }
            Some(state) => match guarded("plan", || plan(&state))? {
                Err(rule) => guarded("respond", || respond(Err(&rule)))?,
                Ok(transition) => {
                    if let Some(refund) = &transition.refund
                        && !ops.insert_refund(&tenant, refund).await?
                    {
                        let taken = refund_reference_taken(&refund.refund_reference);
                        guarded("respond", || respond(Err(&taken)))?
                    } else {
                        ops.update_record(&tenant, &transition.state.record).await?;
                        if transition.new_attempt {
                            ops.insert_attempt(&tenant, &transition.state.latest).await?;
                        } else {
                            ops.update_attempt(&tenant, &transition.state.latest).await?;
                        }
                        guarded("respond", || respond(Ok(&transition.state)))?
                    }
                }
            },
        },
    };
    if let Some(idem) = &idempotency
        && let Some(saved) = ops.finish_key(&tenant, idem, &response).await?
    {
        return Ok(WriteOutcome::AlreadySaved(saved));
    }
    Ok(WriteOutcome::Executed(response))
}
