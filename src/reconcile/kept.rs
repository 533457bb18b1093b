//! Reconciliation runs as payrec keeps them (issue 32, items 3 and 5): the wire objects of a
//! run and of each outcome (`/payrec/v1/reconciliation_runs`, `…/reconciliation_results`),
//! and which outcome of a run sets a payment's reconciliation status. Pure: the store keeps
//! them (`store::reconciliation`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CATEGORIES, Category, Judged};
use crate::events::EventType;

pub const RUN_ID_PREFIX: &str = "recrun_";
pub const RESULT_ID_PREFIX: &str = "recres_";
pub const RUN_OBJECT: &str = "reconciliation_run";
pub const RESULT_OBJECT: &str = "reconciliation_result";

/// Longest reason a person may give for a break marked by hand.
pub const RESOLUTION_REASON_CHARS_MAX: usize = 500;

/// The file a run judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFile {
    /// The file's name, without its directories.
    pub name: String,
    /// Hex SHA-256 of its bytes: the same file is the same run.
    pub sha256: String,
    pub format: String,
}

/// The window of payments a run compared the file with (`missing_in_file`), Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunWindow {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// A run's wire object (and stored document).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub livemode: bool,
    /// `running` while a pass is judging the file, then `complete`.
    pub status: String,
    pub file: RunFile,
    pub rules: serde_json::Value,
    pub window: RunWindow,
    /// Outcomes per category, every category listed.
    pub counts: BTreeMap<String, u64>,
    /// Outcomes of the run that are no match and that nothing resolved.
    pub open_breaks: u64,
    /// Who ran the last pass that changed something.
    pub ran_by: String,
    /// When that pass completed.
    pub completed_at: Option<i64>,
}

impl RunView {
    /// Zero of every category.
    pub fn no_counts() -> BTreeMap<String, u64> {
        CATEGORIES.iter().map(|c| (c.as_str().to_owned(), 0)).collect()
    }
}

/// How a break was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// `matched` (to a payment, by hand), `marked` (with a reason, by hand) or
    /// `matched_by_run` (a later statement's run matched the payment).
    #[serde(rename = "type")]
    pub kind: String,
    pub payment_record: Option<String>,
    pub reason: Option<String>,
    /// The run that matched it (`matched_by_run`).
    pub run: Option<String>,
    pub resolved_by: String,
    pub resolved_at: i64,
}

/// One outcome's wire object (and stored document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultView {
    pub id: String,
    pub object: String,
    pub run: String,
    pub created: i64,
    pub livemode: bool,
    pub category: String,
    /// `matched` (a match of some kind), `open` (a break) or `resolved` (a break resolved).
    pub status: String,
    /// The file's line (a statement's entry number); None for a payment the file did not name
    /// or one of a payout's payments.
    pub line: Option<u64>,
    pub reference: String,
    pub file_amount: Option<i64>,
    pub file_currency: Option<String>,
    pub file_date: Option<i64>,
    /// The payment it concerns, if any.
    pub payment_record: Option<String>,
    pub payrec_object: Option<String>,
    pub payrec_amount: Option<i64>,
    pub payrec_currency: Option<String>,
    pub payrec_state: Option<String>,
    pub resolution: Option<Resolution>,
}

impl ResultView {
    /// Whether the outcome waits for a person.
    pub fn is_open(&self) -> bool {
        self.status == "open"
    }

    /// The outcome resolved by `resolution`.
    pub fn resolved(mut self, resolution: Resolution) -> Self {
        self.status = "resolved".to_owned();
        self.resolution = Some(resolution);
        self
    }
}

/// One outcome of a pass, before it is kept: where in the file, and the judging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Names the outcome within its run, the same on every pass: `L<n>` for the file's `n`th
    /// line, `L<n>/<pr_…>` for a payout line's payment, `M/<pr_…>` for a payment no line named.
    pub item: String,
    pub line: Option<u64>,
    pub reference: String,
    /// The line's amount, currency and date.
    pub file: Option<(i64, String, Option<i64>)>,
    pub judged: Judged,
}

impl Outcome {
    /// The payment it concerns: a record id, never a refund's reference.
    pub fn record_id(&self) -> Option<&str> {
        let object = self.judged.payrec_object.as_str();
        object.starts_with("pr_").then_some(object)
    }

    /// Its wire object, as outcome `id` of run `run` created at `created`.
    pub fn view(&self, id: &str, run: &str, created: i64, livemode: bool) -> ResultView {
        let judged = &self.judged;
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        ResultView {
            id: id.to_owned(),
            object: RESULT_OBJECT.to_owned(),
            run: run.to_owned(),
            created,
            livemode,
            category: judged.category.as_str().to_owned(),
            status: if judged.category.is_match() { "matched" } else { "open" }.to_owned(),
            line: self.line,
            reference: self.reference.clone(),
            file_amount: self.file.as_ref().map(|f| f.0),
            file_currency: self.file.as_ref().map(|f| f.1.clone()),
            file_date: self.file.as_ref().and_then(|f| f.2),
            payment_record: self.record_id().map(str::to_owned),
            payrec_object: some(&judged.payrec_object),
            payrec_amount: judged.payrec_amount,
            payrec_currency: some(&judged.payrec_currency),
            payrec_state: some(&judged.payrec_state),
            resolution: None,
        }
    }
}

/// What a run says of one payment, from its outcomes naming it (`(category, outcome id)`, in
/// the run's order): its first match, else its first break. A duplicate line says nothing of
/// the payment (the line is the break).
pub fn status_of<'a>(outcomes: impl IntoIterator<Item = (Category, &'a str)>) -> Option<(Category, &'a str)> {
    let mut first_break = None;
    for (category, id) in outcomes {
        if category.is_match() {
            return Some((category, id));
        }
        if category != Category::DuplicateInFile && first_break.is_none() {
            first_break = Some((category, id));
        }
    }
    first_break
}

/// The event a change of a payment's status emits: none when the status stays.
pub fn status_event(before: Option<Category>, after: Category) -> Option<EventType> {
    match (before == Some(after), after.is_match()) {
        (true, _) => None,
        (false, true) => Some(EventType::RecordReconciled),
        (false, false) => Some(EventType::RecordReconciliationFailed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payments_status_is_its_first_match_else_its_first_break_never_a_duplicate() {
        use Category::*;
        assert_eq!(status_of([(AmountMismatch, "a"), (Matched, "b")]), Some((Matched, "b")));
        assert_eq!(
            status_of([(DuplicateInFile, "a"), (NotGuaranteed, "b"), (AmountMismatch, "c")]),
            Some((NotGuaranteed, "b"))
        );
        assert_eq!(status_of([(DuplicateInFile, "a")]), None);
        assert_eq!(status_of([]), None);
    }

    #[test]
    fn only_a_change_of_status_emits_an_event() {
        use Category::*;
        assert_eq!(status_event(Some(Matched), Matched), None);
        assert_eq!(status_event(None, MatchedInPayout), Some(EventType::RecordReconciled));
        assert_eq!(
            status_event(Some(Matched), AmountMismatch),
            Some(EventType::RecordReconciliationFailed)
        );
        assert_eq!(
            status_event(Some(MissingInFile), Matched),
            Some(EventType::RecordReconciled)
        );
    }
}
