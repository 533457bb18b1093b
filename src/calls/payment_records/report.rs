//! The report calls' parameters as the lifecycle's commands: report_payment's as a new record
//! and its first attempt, report_refund's as a refund report. Shared by the HTTP handlers and
//! `payrec import`.

use super::params::{ReportPaymentParams, ReportRefundParams, outcome_of};
use crate::records::lifecycle::{self, NewPayment, PaymentState, RefundReport};
use crate::records::model::{Outcome, PaymentAttemptRecordId, PaymentDetails, PaymentRecordId, ProcessorDetails};
use crate::wire::error::ApiError;

/// The ids, mode and time a new payment is reported with: fresh ones over HTTP, the line's
/// for `payrec import`.
#[derive(Debug, Clone)]
pub struct NewPaymentIds {
    pub record_id: PaymentRecordId,
    pub attempt_id: PaymentAttemptRecordId,
    pub livemode: bool,
    pub now: i64,
}

/// report_payment's parameters through the lifecycle: the new record and its first attempt,
/// and the outcome reported with it. Shared by the handler and `payrec import`.
pub fn new_payment(
    p: ReportPaymentParams,
    ids: NewPaymentIds,
) -> Result<(PaymentState, Option<(Outcome, i64)>), ApiError> {
    let outcome = outcome_of(p.outcome, &p.guaranteed, &p.failed, &p.canceled)?;
    let details = PaymentDetails {
        customer_details: p.customer_details.map(Into::into),
        customer_presence: p.customer_presence,
        description: p.description.map(|d| d.0),
        metadata: Default::default(),
        payment_method_details: Some(p.payment_method_details.into_details()?),
        processor_details: ProcessorDetails {
            payment_reference: p
                .processor_details
                .and_then(|d| d.custom)
                .map(|c| c.payment_reference.0),
        },
        shipping_details: p.shipping_details.map(Into::into),
    };
    let state = lifecycle::report_payment(NewPayment {
        record_id: ids.record_id,
        attempt_id: ids.attempt_id,
        livemode: ids.livemode,
        now: ids.now,
        amount_requested: p.amount_requested.into(),
        initiated_at: p.initiated_at.0,
        details,
        metadata: p.metadata,
        outcome,
    })?;
    Ok((state, outcome))
}

/// report_refund's parameters as the lifecycle's command. Shared with `payrec import`.
pub fn refund_report(p: ReportRefundParams, now: i64) -> RefundReport {
    RefundReport {
        refund_reference: p.processor_details.custom.refund_reference.0,
        amount: p.amount.map(Into::into),
        refunded_at: p.refunded.map(|r| r.refunded_at.0),
        initiated_at: p.initiated_at.map(|t| t.0),
        metadata: p.metadata,
        now,
    }
}
