//! The Payment Records lifecycle, as pure functions: current state + command → new state or a
//! `LifecycleError`. No I/O, no clock, no randomness (ids and `now` are inputs), so every rule
//! is unit- and property-testable.
//!
//! Rules about what a client may send (shapes, ranges, lengths) are checked at the edge
//! (`calls::payment_records::params`); the rules here are about the record's state, and each one broken maps to
//! exactly one `LifecycleError` variant.

use crate::metadata::apply_metadata;
use crate::records::model::{
    AMOUNT_VALUE_MIN, Amount, AttemptState, CustomerDetails, MetadataPatch, Outcome, PaymentAttemptRecord,
    PaymentAttemptRecordId, PaymentDetails, PaymentMethodDetails, PaymentRecord, PaymentRecordId, Refund,
    ShippingDetails,
};

/// A record with its latest attempt: everything a report call needs. Older attempts are all
/// failed or canceled and never change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentState {
    pub record: PaymentRecord,
    pub latest: PaymentAttemptRecord,
}

/// What a report call changes: the new state and the rows that make it so, in the order they
/// are written, all in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The new record and latest attempt.
    pub state: PaymentState,
    pub writes: Vec<RowWrite>,
}

/// One row a transition writes. The record and attempt rows are `state`'s; other kinds carry
/// their row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowWrite {
    /// A refund. Its `refund_reference` must be unused in the tenant, which only the database
    /// can tell, so it is always a transition's first write: nothing is written before the
    /// reference is known to be free.
    InsertRefund(Refund),
    InsertRecord,
    UpdateRecord,
    /// `state.latest` is a new attempt.
    InsertLatestAttempt,
    /// `state.latest` is the record's latest attempt, changed.
    UpdateLatestAttempt,
}

impl Transition {
    /// report_payment: a new record and its first attempt.
    pub fn created(state: PaymentState) -> Self {
        Transition {
            state,
            writes: vec![RowWrite::InsertRecord, RowWrite::InsertLatestAttempt],
        }
    }

    /// Whether `state.latest` is a new attempt (inserted) rather than the old latest (updated).
    pub fn new_attempt(&self) -> bool {
        self.writes.contains(&RowWrite::InsertLatestAttempt)
    }

    /// The refund the transition records, for report_refund.
    pub fn refund(&self) -> Option<&Refund> {
        self.writes.iter().find_map(|w| match w {
            RowWrite::InsertRefund(refund) => Some(refund),
            _ => None,
        })
    }
}

/// report_payment. `details.metadata` is the starting point of `metadata` (the HTTP layer
/// passes it empty, so the record starts with exactly the patch's keys).
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub record_id: PaymentRecordId,
    pub attempt_id: PaymentAttemptRecordId,
    pub livemode: bool,
    pub now: i64,
    pub amount_requested: Amount,
    pub initiated_at: i64,
    pub details: PaymentDetails,
    pub metadata: MetadataPatch,
    pub outcome: Option<(Outcome, i64)>,
}

/// report_payment_attempt. Fields that are `Some` replace the record's; the rest are inherited.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    pub attempt_id: PaymentAttemptRecordId,
    pub now: i64,
    pub initiated_at: i64,
    pub description: Option<String>,
    pub metadata: MetadataPatch,
    pub outcome: Option<(Outcome, i64)>,
    pub payment_method_details: Option<PaymentMethodDetails>,
    pub shipping_details: Option<ShippingDetails>,
}

/// report_payment_attempt_informational.
#[derive(Debug, Clone, Default)]
pub struct Informational {
    /// Fields that are set replace the existing ones (merge at field level).
    pub customer_details: Option<CustomerDetails>,
    /// `Some(None)`: unset (`description=`).
    pub description: Option<Option<String>>,
    pub metadata: MetadataPatch,
    /// `Some(None)`: unset; `Some(Some(s))` replaces whole.
    pub shipping_details: Option<Option<ShippingDetails>>,
}

/// report_refund.
#[derive(Debug, Clone)]
pub struct RefundReport {
    pub refund_reference: String,
    /// None: refund the remainder.
    pub amount: Option<Amount>,
    pub refunded_at: Option<i64>,
    pub initiated_at: Option<i64>,
    pub metadata: MetadataPatch,
    pub now: i64,
}

/// The state a new attempt starts in: pending, or the reported outcome checked against its
/// `initiated_at`. The outcome is then named by its sub-object (`guaranteed[guaranteed_at]`).
fn initial_state(outcome: Option<(Outcome, i64)>, initiated_at: i64) -> Result<AttemptState, LifecycleError> {
    let Some((outcome, at)) = outcome else {
        return Ok(AttemptState::Pending);
    };
    let param = match outcome {
        Outcome::Guaranteed => "guaranteed[guaranteed_at]",
        Outcome::Failed => "failed[failed_at]",
        Outcome::Canceled => "canceled[canceled_at]",
    };
    outcome_state(outcome, at, initiated_at, param)
}

/// `outcome` as a state, unless dated before the attempt's `initiated_at`; `param` names the
/// timestamp as the endpoint spells it.
fn outcome_state(
    outcome: Outcome,
    at: i64,
    initiated_at: i64,
    param: &'static str,
) -> Result<AttemptState, LifecycleError> {
    if at < initiated_at {
        return Err(LifecycleError::OutcomeBeforeInitiated {
            param,
            at,
            initiated_at,
        });
    }
    Ok(outcome.state_at(at))
}

/// Asserts what can be checked on a record and its latest attempt alone, with the same checks
/// `invariant_violations` runs over the full history (so write and read agree on the rules).
fn debug_check(state: &PaymentState) {
    if cfg!(debug_assertions) {
        let mut violations = Vec::new();
        amount_violations(record_amounts(&state.record), &mut violations);
        amount_violations(attempt_amounts(&state.latest), &mut violations);
        debug_assert!(violations.is_empty(), "lifecycle broke its invariants: {violations:?}");
        debug_assert_eq!(state.record.latest_attempt, state.latest.id);
        debug_assert_eq!(state.record.latest_attempt_state, state.latest.state);
    }
}

fn done(state: PaymentState, new_attempt: bool, refund: Option<Refund>) -> Result<Transition, LifecycleError> {
    debug_check(&state);
    let latest = if new_attempt {
        RowWrite::InsertLatestAttempt
    } else {
        RowWrite::UpdateLatestAttempt
    };
    let mut writes = Vec::with_capacity(3);
    writes.extend(refund.map(RowWrite::InsertRefund));
    writes.extend([RowWrite::UpdateRecord, latest]);
    Ok(Transition { state, writes })
}

/// The new attempt `record.latest_attempt` names, in `record.latest_attempt_state`, built from the
/// record (same mode, amount and details) so that the two start out describing the same payment.
fn attempt_of(record: &PaymentRecord, now: i64, initiated_at: i64) -> PaymentAttemptRecord {
    PaymentAttemptRecord {
        id: record.latest_attempt.clone(),
        payment_record: record.id.clone(),
        livemode: record.livemode,
        created: now,
        initiated_at,
        amount_requested: record.amount_requested.clone(),
        details: record.details.clone(),
        state: record.latest_attempt_state,
        amount_refunded: 0,
    }
}

/// report_payment: the record and its first attempt, pending or already terminal.
pub fn report_payment(cmd: NewPayment) -> Result<PaymentState, LifecycleError> {
    let latest_attempt_state = initial_state(cmd.outcome, cmd.initiated_at)?;
    let mut details = cmd.details;
    details.metadata = apply_metadata(&details.metadata, &cmd.metadata)?;
    let record = PaymentRecord {
        id: cmd.record_id,
        livemode: cmd.livemode,
        created: cmd.now,
        amount_requested: cmd.amount_requested,
        details,
        latest_attempt: cmd.attempt_id,
        latest_attempt_state,
        amount_refunded: 0,
    };
    let latest = attempt_of(&record, cmd.now, cmd.initiated_at);
    let state = PaymentState { record, latest };
    debug_check(&state);
    Ok(state)
}

/// report_payment_attempt: allowed only when every attempt is failed or canceled. Only the
/// latest attempt can ever be pending or guaranteed (a new one needs a failed or canceled
/// latest), so checking the latest suffices.
pub fn report_payment_attempt(state: &PaymentState, cmd: NewAttempt) -> Result<Transition, LifecycleError> {
    if !state.latest.state.is_failed_or_canceled() {
        return Err(LifecycleError::NewAttemptNotAllowed);
    }
    let latest_attempt_state = initial_state(cmd.outcome, cmd.initiated_at)?;
    let mut record = state.record.clone();
    record.details.metadata = apply_metadata(&record.details.metadata, &cmd.metadata)?;
    // Replacing on the record too keeps the record describing its latest attempt.
    if let Some(pmd) = cmd.payment_method_details {
        record.details.payment_method_details = Some(pmd);
    }
    if let Some(description) = cmd.description {
        record.details.description = Some(description);
    }
    if let Some(shipping) = cmd.shipping_details {
        record.details.shipping_details = Some(shipping);
    }
    (record.latest_attempt, record.latest_attempt_state) = (cmd.attempt_id, latest_attempt_state);
    // Never older than the attempt it follows: a request that arrived a second earlier can get
    // the record's lock later, and attempts are listed by `created` (then by insertion).
    let created = cmd.now.max(state.latest.created);
    let latest = attempt_of(&record, created, cmd.initiated_at);
    done(PaymentState { record, latest }, true, None)
}

/// report_payment_attempt_guaranteed / _failed / _canceled: the pending latest attempt takes
/// that state. Terminal states are terminal [payrec]; a retry is a new attempt.
pub fn report_outcome(
    state: &PaymentState,
    outcome: Outcome,
    at: i64,
    metadata: &MetadataPatch,
) -> Result<Transition, LifecycleError> {
    match state.latest.state {
        AttemptState::Pending => {}
        AttemptState::Guaranteed { .. } => return Err(LifecycleError::AttemptAlreadyGuaranteed),
        AttemptState::Failed { .. } => return Err(LifecycleError::AttemptAlreadyFailed),
        AttemptState::Canceled { .. } => return Err(LifecycleError::AttemptAlreadyCanceled),
    }
    // These endpoints take the timestamp as a top-level param, so the error names it so.
    let param = match outcome {
        Outcome::Guaranteed => "guaranteed_at",
        Outcome::Failed => "failed_at",
        Outcome::Canceled => "canceled_at",
    };
    let attempt_state = outcome_state(outcome, at, state.latest.initiated_at, param)?;
    let mut next = state.clone();
    merge_metadata(&mut next, metadata)?;
    next.latest.state = attempt_state;
    next.record.latest_attempt_state = attempt_state;
    done(next, false, None)
}

/// Merges a patch into the record and the latest attempt, each from its own current metadata.
fn merge_metadata(state: &mut PaymentState, patch: &MetadataPatch) -> Result<(), LifecycleError> {
    state.record.details.metadata = apply_metadata(&state.record.details.metadata, patch)?;
    state.latest.details.metadata = apply_metadata(&state.latest.details.metadata, patch)?;
    Ok(())
}

fn merge_customer(current: Option<&CustomerDetails>, update: &CustomerDetails) -> CustomerDetails {
    let mut merged = current.cloned().unwrap_or_default();
    let fields = [
        (&mut merged.customer, &update.customer),
        (&mut merged.email, &update.email),
        (&mut merged.name, &update.name),
        (&mut merged.phone, &update.phone),
    ];
    for (slot, value) in fields {
        if value.is_some() {
            slot.clone_from(value);
        }
    }
    merged
}

fn apply_informational(details: &mut PaymentDetails, cmd: &Informational) {
    if let Some(update) = &cmd.customer_details {
        details.customer_details = Some(merge_customer(details.customer_details.as_ref(), update));
    }
    if let Some(description) = &cmd.description {
        details.description.clone_from(description);
    }
    if let Some(shipping) = &cmd.shipping_details {
        details.shipping_details.clone_from(shipping);
    }
}

/// report_payment_attempt_informational: always allowed; updates the record and its latest
/// attempt.
pub fn report_informational(state: &PaymentState, cmd: Informational) -> Result<Transition, LifecycleError> {
    let mut next = state.clone();
    merge_metadata(&mut next, &cmd.metadata)?;
    apply_informational(&mut next.record.details, &cmd);
    apply_informational(&mut next.latest.details, &cmd);
    done(next, false, None)
}

/// The refund's value in minor units, checked against what is left of the guarantee.
fn refund_value(record: &PaymentRecord, amount: Option<&Amount>) -> Result<i64, LifecycleError> {
    let requested = &record.amount_requested;
    // A guaranteed attempt carries the whole requested amount (see `portions`).
    let remaining = requested.value - record.amount_refunded;
    if remaining == 0 {
        return Err(LifecycleError::FullyRefunded);
    }
    let Some(amount) = amount else {
        return Ok(remaining);
    };
    debug_assert!(
        amount.value >= AMOUNT_VALUE_MIN,
        "the edge lets only positive refund amounts through"
    );
    if amount.currency != requested.currency {
        return Err(LifecycleError::RefundCurrencyMismatch {
            refund: amount.currency.clone(),
            record: requested.currency.clone(),
        });
    }
    if amount.value > remaining {
        return Err(LifecycleError::RefundExceedsRemaining {
            amount: amount.value,
            remaining,
        });
    }
    Ok(amount.value)
}

/// report_refund: refunds part or the rest of the guaranteed (latest) attempt.
pub fn report_refund(state: &PaymentState, cmd: RefundReport) -> Result<Transition, LifecycleError> {
    let AttemptState::Guaranteed { at: guaranteed_at } = state.latest.state else {
        return Err(LifecycleError::RefundWithoutGuarantee);
    };
    let value = refund_value(&state.record, cmd.amount.as_ref())?;
    if let Some(refunded_at) = cmd.refunded_at
        && refunded_at < guaranteed_at
    {
        return Err(LifecycleError::RefundBeforeGuarantee {
            refunded_at,
            guaranteed_at,
        });
    }
    let mut next = state.clone();
    merge_metadata(&mut next, &cmd.metadata)?;
    next.record.amount_refunded += value;
    next.latest.amount_refunded += value;
    let refund = Refund {
        payment_record: next.record.id.clone(),
        payment_attempt_record: next.latest.id.clone(),
        refund_reference: cmd.refund_reference,
        amount: Amount {
            currency: next.record.amount_requested.currency.clone(),
            value,
        },
        refunded_at: cmd.refunded_at,
        initiated_at: cmd.initiated_at,
        created: cmd.now,
    };
    done(next, false, Some(refund))
}

mod errors;
pub use errors::LifecycleError;

pub use super::invariants::invariant_violations;
use super::invariants::{amount_violations, attempt_amounts, record_amounts};

#[cfg(test)]
mod tests;
