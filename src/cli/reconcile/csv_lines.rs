//! A settlement CSV's lines as the judging wants them: the named columns found in the header,
//! each line's reference, amount (decimal or minor units), currency and date read, or the line
//! named in a file error.

use super::Failure;
use crate::cli::args::{AmountsArg, ReconcileArgs};
use crate::clock::parse_time;
use crate::reconcile::FileLine;
use crate::records::currency::{parse_currency, parse_decimal};

/// Where the named columns are in the file's header.
pub(super) struct Columns {
    reference: usize,
    amount: usize,
    currency: Option<usize>,
    date: Option<usize>,
}

impl Columns {
    pub(super) fn of(header: &csv::StringRecord, args: &ReconcileArgs) -> Result<Columns, Failure> {
        fn named<'a>(name: &'a Option<String>, flag: &str) -> Result<&'a str, Failure> {
            name.as_deref()
                .ok_or_else(|| Failure(format!("name the CSV file's {flag} column (--{flag}-column)")))
        }
        Ok(Columns {
            reference: column(header, named(&args.reference_column, "reference")?)?,
            amount: column(header, named(&args.amount_column, "amount")?)?,
            currency: args.currency_column.as_deref().map(|c| column(header, c)).transpose()?,
            date: args.date_column.as_deref().map(|c| column(header, c)).transpose()?,
        })
    }
}

fn column(header: &csv::StringRecord, name: &str) -> Result<usize, Failure> {
    header.iter().position(|h| h.trim() == name).ok_or_else(|| {
        let seen: Vec<&str> = header.iter().collect();
        Failure(format!("no column {name:?} in the file's header: {}", seen.join(", ")))
    })
}

/// A file line as the judging wants it; a line that cannot be read is a file error.
pub(super) fn parse_line(
    record: &csv::StringRecord,
    line: u64,
    columns: &Columns,
    args: &ReconcileArgs,
) -> Result<FileLine, Failure> {
    let field = |i: usize, name: &str| {
        record
            .get(i)
            .map(str::trim)
            .ok_or_else(|| Failure(format!("line {line}: no {name} field")))
    };
    let reference = field(columns.reference, "reference")?.to_owned();
    if reference.is_empty() {
        return Err(Failure(format!("line {line}: the reference is empty")));
    }
    let currency = match columns.currency {
        Some(i) => field(i, "currency")?.to_ascii_lowercase(),
        None => args.currency.clone().unwrap_or_default().to_ascii_lowercase(),
    };
    if parse_currency(&currency).is_none() {
        return Err(Failure(format!(
            "line {line}: {currency:?} is not an ISO 4217 currency code"
        )));
    }
    let amount_text = field(columns.amount, "amount")?;
    let amount = match args.amounts {
        AmountsArg::Minor => amount_text.parse::<i64>().ok(),
        AmountsArg::Decimal => parse_decimal(amount_text, &currency),
    }
    .ok_or_else(|| {
        Failure(format!(
            "line {line}: {amount_text:?} is not an amount in {} ({} units)",
            currency.to_ascii_uppercase(),
            if args.amounts == AmountsArg::Minor {
                "minor"
            } else {
                "decimal"
            }
        ))
    })?;
    let date = match columns.date {
        Some(i) => {
            let text = field(i, "date")?;
            Some(parse_time(text).ok_or_else(|| {
                Failure(format!(
                    "line {line}: {text:?} is neither Unix seconds nor an RFC 3339 date"
                ))
            })?)
        }
        None => None,
    };
    Ok(FileLine {
        line,
        reference,
        other_references: Vec::new(),
        amount,
        currency,
        date,
    })
}
