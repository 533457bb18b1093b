//! A CSV row with the payment records export's columns (`export::RECORD_COLUMNS`) as
//! report_payment with its outcome, then one refund of `amount_refunded`. Read: `id`,
//! `livemode`, `created` (or `created_utc`), `initiated_at`, `currency`, `amount_requested` (or
//! `amount_requested_decimal`), `latest_attempt`, `latest_attempt_state`,
//! `latest_attempt_outcome_at` (or `_utc`), `payment_reference`, `customer_email`,
//! `customer_name`, `description`, `metadata`, `amount_refunded` (or `_decimal`), and, beyond
//! the export, `refund_reference` and `refunded_at`. The other export columns are derived from
//! these and ignored. Times are Unix seconds or RFC 3339.

use csv::StringRecord;

use super::{LineError, LineInput, RefundInput};
use crate::clock::parse_time;
use crate::export::from_spreadsheet;
use crate::records::currency::parse_decimal;
use crate::wire::form::{Param, ParamMap, ParamTree};

/// Where each read column is in the file's header.
#[derive(Debug, Clone, Default)]
pub struct CsvColumns {
    id: Option<usize>,
    livemode: Option<usize>,
    created: Option<usize>,
    created_utc: Option<usize>,
    initiated_at: Option<usize>,
    currency: usize,
    amount_requested: Option<usize>,
    amount_requested_decimal: Option<usize>,
    latest_attempt: Option<usize>,
    latest_attempt_state: Option<usize>,
    latest_attempt_outcome_at: Option<usize>,
    latest_attempt_outcome_utc: Option<usize>,
    payment_reference: Option<usize>,
    customer_email: Option<usize>,
    customer_name: Option<usize>,
    description: Option<usize>,
    metadata: Option<usize>,
    amount_refunded: Option<usize>,
    amount_refunded_decimal: Option<usize>,
    refund_reference: Option<usize>,
    refunded_at: Option<usize>,
}

impl CsvColumns {
    /// The columns of `header`; an error names what is missing and what the header holds.
    pub fn from_header(header: &StringRecord) -> Result<CsvColumns, String> {
        let names: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let h = h.trim();
                if i == 0 { h.trim_start_matches('\u{feff}') } else { h }.to_owned()
            })
            .collect();
        let find = |name: &str| names.iter().position(|h| h == name);
        let missing = |what: &str| format!("no column {what} in the file's header: {}", names.join(", "));
        let columns = CsvColumns {
            id: find("id"),
            livemode: find("livemode"),
            created: find("created"),
            created_utc: find("created_utc"),
            initiated_at: find("initiated_at"),
            currency: find("currency").ok_or_else(|| missing("\"currency\""))?,
            amount_requested: find("amount_requested"),
            amount_requested_decimal: find("amount_requested_decimal"),
            latest_attempt: find("latest_attempt"),
            latest_attempt_state: find("latest_attempt_state"),
            latest_attempt_outcome_at: find("latest_attempt_outcome_at"),
            latest_attempt_outcome_utc: find("latest_attempt_outcome_utc"),
            payment_reference: find("payment_reference"),
            customer_email: find("customer_email"),
            customer_name: find("customer_name"),
            description: find("description"),
            metadata: find("metadata"),
            amount_refunded: find("amount_refunded"),
            amount_refunded_decimal: find("amount_refunded_decimal"),
            refund_reference: find("refund_reference"),
            refunded_at: find("refunded_at"),
        };
        if columns.amount_requested.is_none() && columns.amount_requested_decimal.is_none() {
            return Err(missing("\"amount_requested\" (or \"amount_requested_decimal\")"));
        }
        if columns.created.is_none() && columns.created_utc.is_none() && columns.initiated_at.is_none() {
            return Err(missing("\"created\" (or \"created_utc\" or \"initiated_at\")"));
        }
        Ok(columns)
    }

    /// The row's report calls.
    pub fn line(&self, row: &StringRecord, line: u64) -> Result<LineInput, LineError> {
        let row = Row {
            columns: self,
            row,
            line,
        };
        let created = row.time(&[("created", self.created), ("created_utc", self.created_utc)])?;
        let initiated_at = row.time(&[("initiated_at", self.initiated_at)])?;
        let currency = row.cell(Some(self.currency)).unwrap_or_default().to_ascii_lowercase();
        let mut report = row.payment(&currency)?;
        let outcome_at = row.outcome(&mut report)?;
        // The export has no initiated_at: the earliest time the line knows, so that its outcome
        // is never before it.
        if let Some(at) = initiated_at.or(match (created, outcome_at) {
            (Some(c), Some(o)) => Some(c.min(o)),
            (c, o) => c.or(o),
        }) {
            set(&mut report, &["initiated_at"], &at.to_string());
        }
        let refunds = row.refund(&currency, outcome_at)?.into_iter().collect();
        let livemode = match row.cell(self.livemode) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => return Err(row.error("livemode", format!("{other:?} is neither true nor false"))),
        };
        Ok(LineInput {
            line,
            record_id: row.cell(self.id).map(str::to_owned),
            attempt_id: row.cell(self.latest_attempt).map(str::to_owned),
            created,
            livemode,
            report: ParamTree(report),
            refunds,
            identity: match row.cell(self.payment_reference) {
                Some(reference) => format!("reference\u{0}{reference}"),
                None => row.row.iter().collect::<Vec<_>>().join("\u{1f}"),
            },
        })
    }
}

/// One row being read, with its columns.
struct Row<'a> {
    columns: &'a CsvColumns,
    row: &'a StringRecord,
    line: u64,
}

impl<'a> Row<'a> {
    /// The cell of column `i`, trimmed and unquoted; None when empty.
    fn cell(&self, i: Option<usize>) -> Option<&'a str> {
        i.and_then(|i| self.row.get(i))
            .map(|v| from_spreadsheet(v.trim()))
            .filter(|v| !v.is_empty())
    }

    fn error(&self, column: &str, message: String) -> LineError {
        LineError::new(self.line, Some(column), message)
    }

    /// A time from the first of its columns (the Unix seconds one, then the `_utc` one) with
    /// a value; an error names the column it came from.
    fn time(&self, columns: &[(&str, Option<usize>)]) -> Result<Option<i64>, LineError> {
        let Some((name, text)) = columns
            .iter()
            .find_map(|(name, i)| self.cell(*i).map(|text| (*name, text)))
        else {
            return Ok(None);
        };
        parse_time(text)
            .map(Some)
            .ok_or_else(|| self.error(name, format!("{text:?} is neither Unix seconds nor an RFC 3339 time")))
    }

    /// report_payment's parameters but its outcome and `initiated_at`.
    fn payment(&self, currency: &str) -> Result<ParamMap, LineError> {
        let c = self.columns;
        let mut report = ParamMap::new();
        set(&mut report, &["amount_requested", "currency"], currency);
        let requested = amount(
            self.cell(c.amount_requested),
            self.cell(c.amount_requested_decimal),
            currency,
        )
        .map_err(|text| self.error("amount_requested_decimal", not_decimal(text, currency)))?;
        if let Some(value) = requested {
            set(&mut report, &["amount_requested", "value"], &value);
        }
        set(&mut report, &["payment_method_details", "type"], "custom");
        if let Some(reference) = self.cell(c.payment_reference) {
            set_custom_reference(&mut report, "payment_reference", reference);
        }
        if let Some(email) = self.cell(c.customer_email) {
            set(&mut report, &["customer_details", "email"], email);
        }
        if let Some(name) = self.cell(c.customer_name) {
            set(&mut report, &["customer_details", "name"], name);
        }
        if let Some(description) = self.cell(c.description) {
            set(&mut report, &["description"], description);
        }
        if let Some(metadata) = self.cell(c.metadata) {
            let entries = metadata_entries(metadata).map_err(|m| self.error("metadata", m))?;
            for (key, value) in entries {
                set(&mut report, &["metadata", &key], &value);
            }
        }
        Ok(report)
    }

    /// The latest attempt's outcome, set on `report`; the time of the outcome when the row has
    /// one.
    fn outcome(&self, report: &mut ParamMap) -> Result<Option<i64>, LineError> {
        let c = self.columns;
        let state = self.cell(c.latest_attempt_state).unwrap_or("pending");
        let outcome_at = self.time(&[
            ("latest_attempt_outcome_at", c.latest_attempt_outcome_at),
            ("latest_attempt_outcome_utc", c.latest_attempt_outcome_utc),
        ])?;
        match state {
            "pending" => {}
            "guaranteed" | "failed" | "canceled" => {
                let at = outcome_at.ok_or_else(|| {
                    self.error(
                        "latest_attempt_outcome_at",
                        format!("a {state} payment needs the time of its outcome"),
                    )
                })?;
                set(report, &["outcome"], state);
                set(report, &[state, &format!("{state}_at")], &at.to_string());
            }
            other => {
                return Err(self.error(
                    "latest_attempt_state",
                    format!("{other:?} is not one of pending, guaranteed, failed, canceled"),
                ));
            }
        }
        Ok(outcome_at)
    }

    /// The one refund of `amount_refunded`, when the row has one.
    fn refund(&self, currency: &str, outcome_at: Option<i64>) -> Result<Option<RefundInput>, LineError> {
        let c = self.columns;
        let refunded = amount(
            self.cell(c.amount_refunded),
            self.cell(c.amount_refunded_decimal),
            currency,
        )
        .map_err(|text| self.error("amount_refunded_decimal", not_decimal(text, currency)))?;
        let Some(value) = refunded.filter(|v| v != "0") else {
            return Ok(None);
        };
        let mut params = ParamMap::new();
        set(&mut params, &["outcome"], "refunded");
        set(&mut params, &["amount", "currency"], currency);
        set(&mut params, &["amount", "value"], &value);
        let refunded_at = self.time(&[("refunded_at", c.refunded_at)])?.or(outcome_at);
        if let Some(at) = refunded_at {
            set(&mut params, &["refunded", "refunded_at"], &at.to_string());
        }
        let reference = self.cell(c.refund_reference);
        if let Some(reference) = reference {
            set_custom_reference(&mut params, "refund_reference", reference);
        }
        Ok(Some(RefundInput {
            params: ParamTree(params),
            created: refunded_at,
            derive_reference: reference.is_none(),
        }))
    }
}

fn not_decimal(text: &str, currency: &str) -> String {
    format!(
        "{text:?} is not an amount in {} with its decimals",
        currency.to_ascii_uppercase()
    )
}

/// An amount in minor units as text: the minor-units cell as it is (the API's rules judge it),
/// else the decimal cell converted; Err(text) when the decimal does not parse.
fn amount<'a>(minor: Option<&'a str>, decimal: Option<&'a str>, currency: &str) -> Result<Option<String>, &'a str> {
    match (minor, decimal) {
        (Some(minor), _) => Ok(Some(minor.to_owned())),
        (None, Some(decimal)) => parse_decimal(decimal, currency)
            .map(|v| Some(v.to_string()))
            .ok_or(decimal),
        (None, None) => Ok(None),
    }
}

/// The metadata cell: a JSON object; string values as they are, others as their JSON text.
fn metadata_entries(text: &str) -> Result<Vec<(String, String)>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("{text:?} is not a JSON object: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err(format!("{text:?} is not a JSON object"));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

/// Sets `path` in a parameter tree (creating the hashes on the way).
/// `processor_details` of type `custom` with `field` (a payment's or a refund's reference).
fn set_custom_reference(params: &mut ParamMap, field: &str, reference: &str) {
    set(params, &["processor_details", "type"], "custom");
    set(params, &["processor_details", "custom", field], reference);
}

pub(super) fn set(map: &mut ParamMap, path: &[&str], value: &str) {
    let (last, parents) = path.split_last().expect("a path has a name");
    let mut map = map;
    for key in parents {
        let entry = map
            .entry((*key).to_owned())
            .or_insert_with(|| Param::Map(ParamMap::new()));
        if !matches!(entry, Param::Map(_)) {
            *entry = Param::Map(ParamMap::new());
        }
        let Param::Map(inner) = entry else {
            unreachable!("made a hash above")
        };
        map = inner;
    }
    map.insert((*last).to_owned(), Param::Str(value.to_owned()));
}
