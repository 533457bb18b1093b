//! `payrec import`'s lines: another system's payments, each a report_payment call with its
//! outcome and then its refunds, read from a CSV row (`csv_line`, the export's columns) or a
//! JSON line (`json_line`, the calls' parameters). Both become the API's parameter trees and go
//! through the API's own declarations (`calls::payment_records::params`) and the pure lifecycle,
//! with the line's ids and times, so a line is accepted exactly when the same calls would be.
//! What only the database knows (the id is new, references are free) the store checks when it
//! writes (`store::import`).

use sha2::{Digest, Sha256};

use crate::base62::BASE62;
use crate::calls::payment_records::params::{ReportPaymentParams, ReportRefundParams};
use crate::calls::payment_records::{NewPaymentIds, new_payment, refund_report};
use crate::records::command::ImportedPayment;
use crate::records::ids::{OBJECT_ID_CHARS, OBJECT_ID_TIME_CHARS, time_prefix};
use crate::records::lifecycle::RefundReport;
use crate::records::model::{PaymentAttemptRecordId, PaymentRecordId};
use crate::wire::error::ApiError;
use crate::wire::form::{Param, ParamTree};
use crate::wire::params::TIMESTAMP_MAX;

pub mod csv_line;
pub mod json_line;
mod order;
#[cfg(test)]
mod tests;

pub use order::{RUN_LINES_MAX, Sequencer};

/// Longest id a line may give its record or attempt (after the prefix).
pub const IMPORTED_ID_CHARS_MAX: usize = 64;
/// Most refunds one line may carry.
pub const REFUNDS_PER_LINE_MAX: usize = 100;

/// A line as read, before validation: the report calls as the API's parameter trees.
#[derive(Debug, Clone, Default)]
pub struct LineInput {
    /// 1-based line number in the file.
    pub line: u64,
    /// The record's id (`pr_…`), when the line names it.
    pub record_id: Option<String>,
    /// The first attempt's id (`par_…`), when the line names it.
    pub attempt_id: Option<String>,
    /// When the payment was reported (the record's `created`); `initiated_at` when absent.
    pub created: Option<i64>,
    /// The mode the line says it belongs to.
    pub livemode: Option<bool>,
    /// report_payment's parameters, with its outcome.
    pub report: ParamTree,
    pub refunds: Vec<RefundInput>,
    /// What a derived id is made from when the line names none: its payment reference, or
    /// else its whole content.
    pub identity: String,
}

/// One report_refund of a line.
#[derive(Debug, Clone, Default)]
pub struct RefundInput {
    pub params: ParamTree,
    /// When the refund was recorded; its `refunded_at`, else its `initiated_at`, else the
    /// payment's `created` when absent.
    pub created: Option<i64>,
    /// The line gives no refund reference (a CSV row's `amount_refunded`): `{record id}_refund`.
    pub derive_reference: bool,
}

/// A line that cannot be imported: where, which parameter, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub param: Option<String>,
    pub message: String,
}

impl LineError {
    pub fn new(line: u64, param: Option<&str>, message: impl Into<String>) -> Self {
        LineError {
            line,
            param: param.map(str::to_owned),
            message: message.into(),
        }
    }

    fn api(line: u64, prefix: &str, e: ApiError) -> Self {
        let param = e.param().map(|p| format!("{prefix}{p}"));
        LineError {
            line,
            param,
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.param {
            Some(param) => write!(f, "line {}: {param}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// A validated line, ready for the store.
#[derive(Debug, Clone)]
pub struct ReadyLine {
    pub line: u64,
    /// The record's `created`: lines are applied in its order (`Sequencer`).
    pub created: i64,
    pub payment: ImportedPayment,
}

impl ReadyLine {
    pub fn record_id(&self) -> &str {
        self.payment.last().record.id.as_str()
    }
}

/// Validates a line for the tenant's mode: the API's parameter rules, then the lifecycle.
pub fn prepare(input: LineInput, livemode: bool) -> Result<ReadyLine, LineError> {
    let line = input.line;
    check_mode(line, input.livemode, livemode)?;
    let report: ReportPaymentParams =
        crate::wire::params::read(&input.report).map_err(|e| LineError::api(line, "", e))?;
    let created = input.created.unwrap_or(report.initiated_at.0);
    check_time(line, "created", created)?;
    let ids = NewPaymentIds {
        record_id: record_id(&input, created)?,
        attempt_id: attempt_id(&input, created)?,
        livemode,
        now: created,
    };
    let record_id = ids.record_id.clone();
    let (state, _) = new_payment(report, ids).map_err(|e| LineError::api(line, "", e))?;
    let reports = refund_reports(line, input.refunds, &record_id, created)?;
    let payment = ImportedPayment::replay(state, reports).map_err(|rule| {
        let e = ApiError::from(rule);
        LineError::new(line, Some("refunds"), e.to_string())
    })?;
    Ok(ReadyLine { line, created, payment })
}

/// A line that says its mode must be in the mode imported.
fn check_mode(line: u64, given: Option<bool>, livemode: bool) -> Result<(), LineError> {
    match given {
        Some(given) if given != livemode => {
            let (mode, flag) = if given {
                ("live", "--mode live")
            } else {
                ("test", "--mode test")
            };
            Err(LineError::new(
                line,
                Some("livemode"),
                format!("the line is a {mode} mode payment: import it with {flag}"),
            ))
        }
        _ => Ok(()),
    }
}

/// The record's id: the line's, else one derived from it.
fn record_id(input: &LineInput, created: i64) -> Result<PaymentRecordId, LineError> {
    Ok(PaymentRecordId::new_unchecked(match &input.record_id {
        Some(id) => checked_id(input.line, "id", PaymentRecordId::PREFIX, id.clone())?,
        None => derived_id(PaymentRecordId::PREFIX, created, &input.identity),
    }))
}

/// The first attempt's id: the line's, else one derived from it.
fn attempt_id(input: &LineInput, created: i64) -> Result<PaymentAttemptRecordId, LineError> {
    let prefix = PaymentAttemptRecordId::PREFIX;
    Ok(PaymentAttemptRecordId::new_unchecked(match &input.attempt_id {
        Some(id) => checked_id(input.line, "latest_attempt", prefix, id.clone())?,
        None => derived_id(prefix, created, &format!("{}\u{0}attempt", input.identity)),
    }))
}

/// The line's refunds through report_refund's parameters, in order; each reference once.
fn refund_reports(
    line: u64,
    refunds: Vec<RefundInput>,
    record_id: &PaymentRecordId,
    created: i64,
) -> Result<Vec<RefundReport>, LineError> {
    if refunds.len() > REFUNDS_PER_LINE_MAX {
        return Err(LineError::new(
            line,
            Some("refunds"),
            format!("a line may carry at most {REFUNDS_PER_LINE_MAX} refunds"),
        ));
    }
    let mut reports = Vec::with_capacity(refunds.len());
    let mut references = std::collections::HashSet::new();
    for (i, mut refund) in refunds.into_iter().enumerate() {
        let prefix = format!("refunds[{i}]");
        if refund.derive_reference {
            set_refund_reference(&mut refund.params, format!("{record_id}_refund"));
        }
        let p: ReportRefundParams =
            crate::wire::params::read(&refund.params).map_err(|e| LineError::api(line, &prefix, e))?;
        let at = refund
            .created
            .or(p.refunded.as_ref().map(|r| r.refunded_at.0))
            .or(p.initiated_at.as_ref().map(|t| t.0))
            .unwrap_or(created);
        check_time(line, &format!("{prefix}[created]"), at)?;
        let report = refund_report(p, at);
        if !references.insert(report.refund_reference.clone()) {
            return Err(LineError::new(
                line,
                Some(&format!("{prefix}[processor_details][custom][refund_reference]")),
                format!("the line names refund reference {:?} twice", report.refund_reference),
            ));
        }
        reports.push(report);
    }
    Ok(reports)
}

/// A time the line sets itself (a record's or a refund's `created`) must be one the API's
/// timestamps allow, as the times it reads through the API's parameters are.
fn check_time(line: u64, field: &str, at: i64) -> Result<(), LineError> {
    if (0..=TIMESTAMP_MAX).contains(&at) {
        return Ok(());
    }
    Err(LineError::new(
        line,
        Some(field),
        format!(
            "{at} is outside the times the API takes: Unix seconds from 0 to {TIMESTAMP_MAX} (9999-12-31T23:59:59Z)"
        ),
    ))
}

fn set_refund_reference(tree: &mut ParamTree, reference: String) {
    let Param::Map(details) = tree
        .0
        .entry("processor_details".into())
        .or_insert_with(|| Param::Map(Default::default()))
    else {
        return;
    };
    details.insert("type".into(), Param::Str("custom".into()));
    let custom = details
        .entry("custom".into())
        .or_insert_with(|| Param::Map(Default::default()));
    if let Param::Map(custom) = custom {
        custom.insert("refund_reference".into(), Param::Str(reference));
    }
}

/// An id the line gives: the object's prefix, then letters, digits and `_`.
fn checked_id(line: u64, column: &str, prefix: &str, id: String) -> Result<String, LineError> {
    let rest = id.strip_prefix(prefix).unwrap_or_default();
    let valid = !rest.is_empty()
        && rest.len() <= IMPORTED_ID_CHARS_MAX
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(LineError::new(
            line,
            Some(column),
            format!(
                "{id:?} is not an id: it must be {prefix} followed by 1 to {IMPORTED_ID_CHARS_MAX} letters, digits or _"
            ),
        ));
    }
    Ok(id)
}

/// An id made from the line (the same line always gives the same id, so a second run finds
/// it imported): the usual time prefix from `created`, then base62 of a SHA-256 of `identity`.
pub fn derived_id(prefix: &str, created: i64, identity: &str) -> String {
    let digest = Sha256::digest(identity.as_bytes());
    let mut id = String::with_capacity(prefix.len() + OBJECT_ID_CHARS);
    id.push_str(prefix);
    id.push_str(&time_prefix(created.max(0) as u64 * 1000));
    id.extend(
        digest
            .iter()
            .take(OBJECT_ID_CHARS - OBJECT_ID_TIME_CHARS)
            .map(|b| BASE62[*b as usize % BASE62.len()] as char),
    );
    id
}
