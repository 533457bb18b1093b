//! A report call as data: what the store applies to a record under its lock, through the pure
//! lifecycle. The HTTP layer builds these from typed parameters; the store never sees a request.

use super::lifecycle::{self, Informational, LifecycleError, NewAttempt, PaymentState, RefundReport, Transition};
use super::model::{MetadataPatch, Outcome, Refund};

/// One mutation of the Payment Records resource.
#[derive(Debug, Clone)]
pub enum RecordCommand {
    /// report_payment: a new record and its first attempt. The lifecycle ran already (it needs no
    /// stored state, and a broken rule there is a parameter error, never saved).
    Create(PaymentState),
    /// Any other report call, on the record the client named (a plain string: an id that names
    /// nothing in the tenant is a `Missing` result).
    Change { record_id: String, change: RecordChange },
}

/// One imported payment: report_payment, then its refunds, run through the lifecycle in memory
/// (`replay`), so the store only checks what the database alone knows (the ids and references
/// are free) and writes the final rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedPayment {
    /// The state after each call, in order: report_payment's first.
    pub states: Vec<PaymentState>,
    /// The refunds, one per state after the first.
    pub refunds: Vec<Refund>,
}

impl ImportedPayment {
    /// report_payment's `created` state, then each refund report on the state before it.
    pub fn replay(created: PaymentState, refunds: Vec<RefundReport>) -> Result<Self, LifecycleError> {
        let mut payment = ImportedPayment {
            states: vec![created],
            refunds: Vec::with_capacity(refunds.len()),
        };
        for report in refunds {
            let before = payment.states.last().expect("a payment has its created state");
            let transition = lifecycle::report_refund(before, report)?;
            let refund = transition.refund().expect("report_refund writes a refund").clone();
            payment.states.push(transition.state);
            payment.refunds.push(refund);
        }
        debug_assert_eq!(payment.states.len(), payment.refunds.len() + 1);
        Ok(payment)
    }

    /// The payment as it ends.
    pub fn last(&self) -> &PaymentState {
        self.states.last().expect("a payment has its created state")
    }
}

/// A report call on an existing record.
#[derive(Debug, Clone)]
pub enum RecordChange {
    /// report_payment_attempt
    NewAttempt(NewAttempt),
    /// report_payment_attempt_guaranteed / _failed / _canceled
    Outcome {
        outcome: Outcome,
        at: i64,
        metadata: MetadataPatch,
    },
    /// report_payment_attempt_informational
    Informational(Informational),
    /// report_refund
    Refund(RefundReport),
}

impl RecordChange {
    /// The pure lifecycle step for this call on `state`.
    pub fn apply(self, state: &PaymentState) -> Result<Transition, LifecycleError> {
        match self {
            RecordChange::NewAttempt(cmd) => lifecycle::report_payment_attempt(state, cmd),
            RecordChange::Outcome { outcome, at, metadata } => lifecycle::report_outcome(state, outcome, at, &metadata),
            RecordChange::Informational(cmd) => lifecycle::report_informational(state, cmd),
            RecordChange::Refund(cmd) => lifecycle::report_refund(state, cmd),
        }
    }
}
