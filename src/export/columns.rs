//! The CSV columns of exported objects: stable, named, documented in docs/data-tools.md.
//! Amounts as integer minor units and as decimals in the currency's exponent; times as Unix
//! seconds and RFC 3339 UTC; metadata as a JSON object.

use std::borrow::Cow;

use crate::clock::rfc3339;
use crate::records::currency::decimal;
use crate::records::model::{PaymentAttemptRecord, PaymentRecord, Refund, portions};

/// First characters that make a spreadsheet read a cell as a formula (`=`, `+`, `-`, `@`, and
/// tab or carriage return before one), and the apostrophe that marks a cell as text.
const FORMULA_STARTS: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\''];

/// A cell as every CSV payrec writes it: a text that a spreadsheet would run as a formula is
/// written after an apostrophe (the spreadsheet's text marker, not shown); so is one that
/// begins with an apostrophe, so that `from_spreadsheet` gives back exactly the value. A plain
/// number (`-12.5`) is left as it is.
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    let number = cell.strip_prefix('-').unwrap_or(cell).split_once('.').map_or_else(
        || is_digits(cell.strip_prefix('-').unwrap_or(cell)),
        |(i, f)| is_digits(i) && is_digits(f),
    );
    if cell.starts_with(FORMULA_STARTS) && !number {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A row's cells, each `spreadsheet_safe`, as the CSV writer takes them.
pub fn safe_cells(cells: &[String]) -> impl Iterator<Item = Cow<'_, [u8]>> {
    cells.iter().map(|c| match spreadsheet_safe(c) {
        Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
        Cow::Owned(text) => Cow::Owned(text.into_bytes()),
    })
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The value of a cell written by `spreadsheet_safe` (or by a spreadsheet, which marks text
/// the same way): one leading apostrophe removed.
pub fn from_spreadsheet(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// The header of a payment records CSV, in order. Columns are only ever added at the end.
pub const RECORD_COLUMNS: [&str; 22] = [
    "id",
    "livemode",
    "created",
    "created_utc",
    "currency",
    "amount_requested",
    "amount_requested_decimal",
    "amount_guaranteed",
    "amount_guaranteed_decimal",
    "amount_failed",
    "amount_canceled",
    "amount_refunded",
    "amount_refunded_decimal",
    "latest_attempt",
    "latest_attempt_state",
    "latest_attempt_outcome_at",
    "latest_attempt_outcome_utc",
    "payment_reference",
    "customer_email",
    "customer_name",
    "description",
    "metadata",
];

/// One record's row, in `RECORD_COLUMNS` order.
pub fn record_row(r: &PaymentRecord) -> [String; RECORD_COLUMNS.len()] {
    let currency = r.amount_requested.currency.as_str();
    let requested = r.amount_requested.value;
    let (guaranteed, failed, canceled) = portions(r.latest_attempt_state, requested);
    let outcome_at = r.latest_attempt_state.outcome_at();
    let customer = r.details.customer_details.as_ref();
    let text = |v: Option<&String>| v.cloned().unwrap_or_default();
    [
        r.id.as_str().to_owned(),
        r.livemode.to_string(),
        r.created.to_string(),
        rfc3339(r.created),
        currency.to_owned(),
        requested.to_string(),
        decimal(requested, currency),
        guaranteed.to_string(),
        decimal(guaranteed, currency),
        failed.to_string(),
        canceled.to_string(),
        r.amount_refunded.to_string(),
        decimal(r.amount_refunded, currency),
        r.latest_attempt.as_str().to_owned(),
        r.latest_attempt_state.as_str().to_owned(),
        outcome_at.map(|t| t.to_string()).unwrap_or_default(),
        outcome_at.map(rfc3339).unwrap_or_default(),
        text(r.details.processor_details.payment_reference.as_ref()),
        text(customer.and_then(|c| c.email.as_ref())),
        text(customer.and_then(|c| c.name.as_ref())),
        text(r.details.description.as_ref()),
        serde_json::to_string(&r.details.metadata).expect("metadata serializes"),
    ]
}

/// The header of a payment attempt records CSV, in order.
pub const ATTEMPT_COLUMNS: [&str; 18] = [
    "id",
    "payment_record",
    "livemode",
    "created",
    "created_utc",
    "initiated_at",
    "initiated_utc",
    "currency",
    "amount_requested",
    "amount_requested_decimal",
    "state",
    "outcome_at",
    "outcome_utc",
    "amount_refunded",
    "amount_refunded_decimal",
    "payment_reference",
    "description",
    "metadata",
];

pub fn attempt_row(a: &PaymentAttemptRecord) -> [String; ATTEMPT_COLUMNS.len()] {
    let currency = a.amount_requested.currency.as_str();
    let outcome_at = a.state.outcome_at();
    [
        a.id.as_str().to_owned(),
        a.payment_record.as_str().to_owned(),
        a.livemode.to_string(),
        a.created.to_string(),
        rfc3339(a.created),
        a.initiated_at.to_string(),
        rfc3339(a.initiated_at),
        currency.to_owned(),
        a.amount_requested.value.to_string(),
        decimal(a.amount_requested.value, currency),
        a.state.as_str().to_owned(),
        outcome_at.map(|t| t.to_string()).unwrap_or_default(),
        outcome_at.map(rfc3339).unwrap_or_default(),
        a.amount_refunded.to_string(),
        decimal(a.amount_refunded, currency),
        a.details
            .processor_details
            .payment_reference
            .clone()
            .unwrap_or_default(),
        a.details.description.clone().unwrap_or_default(),
        serde_json::to_string(&a.details.metadata).expect("metadata serializes"),
    ]
}

/// The header of a refunds CSV, in order.
pub const REFUND_COLUMNS: [&str; 11] = [
    "refund_reference",
    "payment_record",
    "payment_attempt_record",
    "currency",
    "amount",
    "amount_decimal",
    "refunded_at",
    "refunded_utc",
    "initiated_at",
    "created",
    "created_utc",
];

pub fn refund_row(r: &Refund) -> [String; REFUND_COLUMNS.len()] {
    let currency = r.amount.currency.as_str();
    let time = |t: Option<i64>| t.map(|t| t.to_string()).unwrap_or_default();
    [
        r.refund_reference.clone(),
        r.payment_record.as_str().to_owned(),
        r.payment_attempt_record.as_str().to_owned(),
        currency.to_owned(),
        r.amount.value.to_string(),
        decimal(r.amount.value, currency),
        time(r.refunded_at),
        r.refunded_at.map(rfc3339).unwrap_or_default(),
        time(r.initiated_at),
        r.created.to_string(),
        rfc3339(r.created),
    ]
}

/// A refund as a JSON line: payrec's own object (the API has no refund object; a refund is
/// reported on its record).
pub fn refund_json(r: &Refund) -> serde_json::Value {
    serde_json::json!({
        "object": "payment_record_refund",
        "refund_reference": r.refund_reference,
        "payment_record": r.payment_record.as_str(),
        "payment_attempt_record": r.payment_attempt_record.as_str(),
        "amount": { "currency": r.amount.currency.as_str(), "value": r.amount.value },
        "refunded_at": r.refunded_at,
        "initiated_at": r.initiated_at,
        "created": r.created,
    })
}

/// The header of an events CSV, in order.
pub const EVENT_COLUMNS: [&str; 8] = [
    "id",
    "type",
    "livemode",
    "created",
    "created_utc",
    "object_id",
    "pending_webhooks",
    "data",
];

pub fn event_row(e: &serde_json::Value) -> [String; EVENT_COLUMNS.len()] {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let created = e["created"].as_i64().unwrap_or_default();
    [
        text(&e["id"]),
        text(&e["type"]),
        e["livemode"].as_bool().unwrap_or_default().to_string(),
        created.to_string(),
        rfc3339(created),
        text(&e["data"]["object"]["id"]),
        e["pending_webhooks"].as_i64().unwrap_or_default().to_string(),
        e["data"].to_string(),
    ]
}

#[cfg(test)]
mod spreadsheet_tests {
    use super::*;

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_neutralised_and_read_back_exactly() {
        for formula in [
            "=1+1",
            "+1",
            "-1+2",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "'quoted",
            "=HYPERLINK(\"x\")",
        ] {
            let safe = spreadsheet_safe(formula);
            assert!(safe.starts_with('\''), "{formula:?} -> {safe:?}");
            assert_eq!(from_spreadsheet(&safe), formula);
        }
        for plain in ["-12", "-12.50", "12", "pr_123", "", "a=b", "{\"k\":\"=1\"}"] {
            assert_eq!(spreadsheet_safe(plain), plain);
            assert_eq!(from_spreadsheet(&spreadsheet_safe(plain)), plain);
        }
    }
}
