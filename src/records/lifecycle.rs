//! The Payment Records lifecycle, as pure functions: current state + command → new state or a
//! `LifecycleError`. No I/O, no clock, no randomness (ids and `now` are inputs), so every rule
//! is unit- and property-testable.

use std::fmt;

use crate::records::model::{
    Amount, AttemptState, CustomerDetails, METADATA_KEYS_MAX, Metadata, MetadataPatch, Outcome, PaymentAttemptRecord,
    PaymentAttemptRecordId, PaymentDetails, PaymentMethodDetails, PaymentRecord, PaymentRecordId, Refund,
    ShippingDetails, portions,
};

/// A record with its latest attempt: everything a report call needs. Older attempts are all
/// failed or canceled and never change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentState {
    pub record: PaymentRecord,
    pub latest: PaymentAttemptRecord,
}

/// What a report call changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: PaymentState,
    /// `state.latest` is a new attempt (insert it) rather than the updated old latest.
    pub new_attempt: bool,
    /// The refund row to insert, for report_refund.
    pub refund: Option<Refund>,
}

/// report_payment.
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

/// report_payment_attempt.
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

/// A broken lifecycle rule. Each renders as a 400 with a sentence naming the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleError {
    /// A new attempt while the latest is pending or guaranteed.
    NewAttemptNotAllowed,
    /// An outcome reported on a latest attempt that is no longer pending.
    LatestAttemptNotPending(AttemptState),
    /// An outcome timestamp before the attempt's `initiated_at`.
    OutcomeBeforeInitiated {
        param: &'static str,
        at: i64,
        initiated_at: i64,
    },
    /// A refund on a record whose latest attempt is not guaranteed.
    RefundWithoutGuarantee,
    FullyRefunded,
    RefundCurrencyMismatch {
        refund: String,
        record: String,
    },
    RefundExceedsRemaining {
        amount: i64,
        remaining: i64,
    },
    RefundBeforeGuarantee {
        refunded_at: i64,
        guaranteed_at: i64,
    },
    TooManyMetadataKeys,
}

impl LifecycleError {
    pub fn message(&self) -> String {
        match self {
            LifecycleError::NewAttemptNotAllowed => {
                "A new payment attempt can only be reported if all other payment attempts are canceled or failed.".into()
            }
            LifecycleError::LatestAttemptNotPending(AttemptState::Guaranteed { .. }) => {
                "The latest payment attempt on this Payment Record is already guaranteed.".into()
            }
            LifecycleError::LatestAttemptNotPending(AttemptState::Failed { .. }) => {
                "The latest payment attempt on this Payment Record has already failed; report a new payment attempt to retry."
                    .into()
            }
            LifecycleError::LatestAttemptNotPending(_) => {
                "The latest payment attempt on this Payment Record has already been canceled; report a new payment attempt to retry."
                    .into()
            }
            LifecycleError::OutcomeBeforeInitiated { param, at, initiated_at } => format!(
                "{param} ({at}) must not be earlier than the payment attempt's initiated_at ({initiated_at})."
            ),
            LifecycleError::RefundWithoutGuarantee => {
                "A refund can only be reported for a Payment Record whose latest payment attempt is guaranteed.".into()
            }
            LifecycleError::FullyRefunded => "This Payment Record has already been fully refunded.".into(),
            LifecycleError::RefundCurrencyMismatch { refund, record } => {
                format!("The refund currency ({refund}) must match the Payment Record's currency ({record}).")
            }
            LifecycleError::RefundExceedsRemaining { amount, remaining } => format!(
                "The refund amount ({amount}) exceeds the amount remaining to be refunded ({remaining}) on this Payment Record."
            ),
            LifecycleError::RefundBeforeGuarantee { refunded_at, guaranteed_at } => format!(
                "refunded[refunded_at] ({refunded_at}) must not be earlier than the payment's guarantee ({guaranteed_at})."
            ),
            LifecycleError::TooManyMetadataKeys => {
                format!("Invalid metadata: an object can have at most {METADATA_KEYS_MAX} metadata keys.")
            }
        }
    }

    pub fn param(&self) -> Option<&'static str> {
        match self {
            LifecycleError::OutcomeBeforeInitiated { param, .. } => Some(param),
            LifecycleError::RefundCurrencyMismatch { .. } => Some("amount[currency]"),
            LifecycleError::RefundExceedsRemaining { .. } => Some("amount[value]"),
            LifecycleError::RefundBeforeGuarantee { .. } => Some("refunded[refunded_at]"),
            LifecycleError::TooManyMetadataKeys => Some("metadata"),
            _ => None,
        }
    }
}

impl fmt::Display for LifecycleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for LifecycleError {}

/// Applies a metadata patch: clear first if asked, then set or remove in order.
pub fn apply_metadata(current: &Metadata, patch: &MetadataPatch) -> Result<Metadata, LifecycleError> {
    let mut merged = if patch.clear_all {
        Metadata::new()
    } else {
        current.clone()
    };
    for (key, value) in &patch.entries {
        match value {
            Some(v) => merged.insert(key.clone(), v.clone()),
            None => merged.remove(key),
        };
    }
    if merged.len() > METADATA_KEYS_MAX {
        return Err(LifecycleError::TooManyMetadataKeys);
    }
    Ok(merged)
}

/// The terminal state for an outcome, checked against the attempt's `initiated_at`.
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

/// `guaranteed[guaranteed_at]` and the like, as named on report_payment(_attempt).
fn sub_object_param(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Guaranteed => "guaranteed[guaranteed_at]",
        Outcome::Failed => "failed[failed_at]",
        Outcome::Canceled => "canceled[canceled_at]",
    }
}

/// `guaranteed_at` and the like, as named on the three outcome endpoints.
fn top_level_param(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Guaranteed => "guaranteed_at",
        Outcome::Failed => "failed_at",
        Outcome::Canceled => "canceled_at",
    }
}

/// The invariants that can be checked on a record and its latest attempt alone.
fn debug_check(state: &PaymentState) {
    for (requested, attempt_state, refunded) in [
        (
            state.record.amount_requested.value,
            state.record.latest_attempt_state,
            state.record.amount_refunded,
        ),
        (
            state.latest.amount_requested.value,
            state.latest.state,
            state.latest.amount_refunded,
        ),
    ] {
        let (guaranteed, failed, canceled) = portions(attempt_state, requested);
        debug_assert!(
            guaranteed + failed + canceled <= requested,
            "portions sum past the requested amount"
        );
        debug_assert!(refunded <= guaranteed, "refunded past the guaranteed amount");
    }
    debug_assert_eq!(state.record.latest_attempt, state.latest.id);
    debug_assert_eq!(state.record.latest_attempt_state, state.latest.state);
}

fn done(state: PaymentState, new_attempt: bool, refund: Option<Refund>) -> Result<Transition, LifecycleError> {
    debug_check(&state);
    Ok(Transition {
        state,
        new_attempt,
        refund,
    })
}

/// report_payment: the record and its first attempt, pending or already terminal.
pub fn report_payment(cmd: NewPayment) -> Result<PaymentState, LifecycleError> {
    let state = match cmd.outcome {
        Some((outcome, at)) => outcome_state(outcome, at, cmd.initiated_at, sub_object_param(outcome))?,
        None => AttemptState::Pending,
    };
    let mut details = cmd.details;
    details.metadata = apply_metadata(&details.metadata, &cmd.metadata)?;
    let latest = PaymentAttemptRecord {
        id: cmd.attempt_id.clone(),
        payment_record: cmd.record_id.clone(),
        livemode: cmd.livemode,
        created: cmd.now,
        initiated_at: cmd.initiated_at,
        amount_requested: cmd.amount_requested.clone(),
        details: details.clone(),
        state,
        amount_refunded: 0,
    };
    let record = PaymentRecord {
        id: cmd.record_id,
        livemode: cmd.livemode,
        created: cmd.now,
        amount_requested: cmd.amount_requested,
        details,
        latest_attempt: cmd.attempt_id,
        latest_attempt_state: state,
        amount_refunded: 0,
    };
    let state = PaymentState { record, latest };
    debug_check(&state);
    Ok(state)
}

/// report_payment_attempt: allowed only when every attempt is failed or canceled. Since only
/// the latest attempt can be pending or guaranteed, checking the latest suffices.
pub fn report_payment_attempt(state: &PaymentState, cmd: NewAttempt) -> Result<Transition, LifecycleError> {
    if !matches!(
        state.latest.state,
        AttemptState::Failed { .. } | AttemptState::Canceled { .. }
    ) {
        return Err(LifecycleError::NewAttemptNotAllowed);
    }
    let attempt_state = match cmd.outcome {
        Some((outcome, at)) => outcome_state(outcome, at, cmd.initiated_at, sub_object_param(outcome))?,
        None => AttemptState::Pending,
    };
    let mut record = state.record.clone();
    if let Some(pmd) = cmd.payment_method_details {
        record.details.payment_method_details = Some(pmd);
    }
    if let Some(description) = cmd.description {
        record.details.description = Some(description);
    }
    if let Some(shipping) = cmd.shipping_details {
        record.details.shipping_details = Some(shipping);
    }
    record.details.metadata = apply_metadata(&record.details.metadata, &cmd.metadata)?;
    record.latest_attempt = cmd.attempt_id.clone();
    record.latest_attempt_state = attempt_state;
    let latest = PaymentAttemptRecord {
        id: cmd.attempt_id,
        payment_record: record.id.clone(),
        livemode: record.livemode,
        created: cmd.now,
        initiated_at: cmd.initiated_at,
        amount_requested: record.amount_requested.clone(),
        details: record.details.clone(),
        state: attempt_state,
        amount_refunded: 0,
    };
    done(PaymentState { record, latest }, true, None)
}

/// report_payment_attempt_guaranteed / _failed / _canceled: the pending latest attempt takes
/// that state.
pub fn report_outcome(
    state: &PaymentState,
    outcome: Outcome,
    at: i64,
    metadata: &MetadataPatch,
) -> Result<Transition, LifecycleError> {
    if !state.latest.state.is_pending() {
        return Err(LifecycleError::LatestAttemptNotPending(state.latest.state));
    }
    let attempt_state = outcome_state(outcome, at, state.latest.initiated_at, top_level_param(outcome))?;
    let mut next = state.clone();
    next.record.details.metadata = apply_metadata(&next.record.details.metadata, metadata)?;
    next.latest.details.metadata = apply_metadata(&next.latest.details.metadata, metadata)?;
    next.latest.state = attempt_state;
    next.record.latest_attempt_state = attempt_state;
    done(next, false, None)
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

fn apply_informational(details: &mut PaymentDetails, cmd: &Informational) -> Result<(), LifecycleError> {
    if let Some(update) = &cmd.customer_details {
        details.customer_details = Some(merge_customer(details.customer_details.as_ref(), update));
    }
    if let Some(description) = &cmd.description {
        details.description.clone_from(description);
    }
    if let Some(shipping) = &cmd.shipping_details {
        details.shipping_details.clone_from(shipping);
    }
    details.metadata = apply_metadata(&details.metadata, &cmd.metadata)?;
    Ok(())
}

/// report_payment_attempt_informational: always allowed; updates the record and its latest
/// attempt.
pub fn report_informational(state: &PaymentState, cmd: Informational) -> Result<Transition, LifecycleError> {
    let mut next = state.clone();
    apply_informational(&mut next.record.details, &cmd)?;
    apply_informational(&mut next.latest.details, &cmd)?;
    done(next, false, None)
}

/// report_refund: refunds part or the rest of the guaranteed (latest) attempt.
pub fn report_refund(state: &PaymentState, cmd: RefundReport) -> Result<Transition, LifecycleError> {
    let AttemptState::Guaranteed { at: guaranteed_at } = state.latest.state else {
        return Err(LifecycleError::RefundWithoutGuarantee);
    };
    let currency = &state.record.amount_requested.currency;
    let remaining = state.record.amount_requested.value - state.record.amount_refunded;
    if remaining == 0 {
        return Err(LifecycleError::FullyRefunded);
    }
    let value = match &cmd.amount {
        None => remaining,
        Some(amount) if amount.currency != *currency => {
            return Err(LifecycleError::RefundCurrencyMismatch {
                refund: amount.currency.to_string(),
                record: currency.to_string(),
            });
        }
        Some(amount) if amount.value > remaining => {
            return Err(LifecycleError::RefundExceedsRemaining {
                amount: amount.value,
                remaining,
            });
        }
        Some(amount) => amount.value,
    };
    if let Some(refunded_at) = cmd.refunded_at
        && refunded_at < guaranteed_at
    {
        return Err(LifecycleError::RefundBeforeGuarantee {
            refunded_at,
            guaranteed_at,
        });
    }
    let mut next = state.clone();
    next.record.details.metadata = apply_metadata(&next.record.details.metadata, &cmd.metadata)?;
    next.latest.details.metadata = apply_metadata(&next.latest.details.metadata, &cmd.metadata)?;
    next.record.amount_refunded += value;
    next.latest.amount_refunded += value;
    let refund = Refund {
        payment_record: next.record.id.clone(),
        payment_attempt_record: next.latest.id.clone(),
        refund_reference: cmd.refund_reference,
        amount: Amount {
            currency: currency.clone(),
            value,
        },
        refunded_at: cmd.refunded_at,
        initiated_at: cmd.initiated_at,
        created: cmd.now,
    };
    done(next, false, Some(refund))
}

/// Every invariant of a record and all its attempts (oldest first); one line per violation.
pub fn invariant_violations(record: &PaymentRecord, attempts: &[PaymentAttemptRecord]) -> Vec<String> {
    let mut violations = Vec::new();
    let requested = &record.amount_requested;
    if !(crate::records::model::AMOUNT_VALUE_MIN..=crate::records::model::AMOUNT_VALUE_MAX).contains(&requested.value) {
        violations.push(format!("requested amount {} out of range", requested.value));
    }
    let mut check = |what: &str, state: AttemptState, refunded: i64| {
        let (guaranteed, failed, canceled) = portions(state, requested.value);
        if guaranteed + failed + canceled > requested.value {
            violations.push(format!("{what}: canceled + failed + guaranteed > requested"));
        }
        if refunded > guaranteed {
            violations.push(format!("{what}: refunded {refunded} > guaranteed {guaranteed}"));
        }
    };
    check("record", record.latest_attempt_state, record.amount_refunded);
    for a in attempts {
        check(a.id.as_str(), a.state, a.amount_refunded);
    }
    let Some(last) = attempts.last() else {
        violations.push("a record without attempts".into());
        return violations;
    };
    if last.id != record.latest_attempt || attempts.iter().filter(|a| a.id == record.latest_attempt).count() != 1 {
        violations.push("the latest attempt is not exactly the last attempt".into());
    }
    if record.latest_attempt_state != last.state {
        violations.push("the record does not mirror its latest attempt's state".into());
    }
    let guaranteed = attempts
        .iter()
        .filter(|a| matches!(a.state, AttemptState::Guaranteed { .. }))
        .count();
    if guaranteed > 1 {
        violations.push(format!("{guaranteed} guaranteed attempts"));
    }
    if attempts[..attempts.len() - 1]
        .iter()
        .any(|a| !matches!(a.state, AttemptState::Failed { .. } | AttemptState::Canceled { .. }))
    {
        violations.push("an older attempt is neither failed nor canceled".into());
    }
    if attempts.iter().map(|a| a.amount_refunded).sum::<i64>() != record.amount_refunded {
        violations.push("the record's refunds differ from its attempts'".into());
    }
    for a in attempts {
        if a.payment_record != record.id || a.amount_requested != *requested || a.livemode != record.livemode {
            violations.push(format!("{} does not belong to the record", a.id));
        }
    }
    violations
}
