//! BAI2 (Cash Management Balance Reporting Specifications, version 2): records of
//! comma-separated fields ending in `/`, each continued by `88` records. `01` file header, `02`
//! group header (its as-of date, its currency), `03` account (its currency), `16` transaction
//! detail (an entry), `49`/`98`/`99` trailers. A `16` record is the type code (which says credit
//! or debit), the amount in minor units (no decimal point), the funds type and the fields that
//! type adds, the bank reference, the customer reference, and the text, which runs to the end of
//! the record (it may hold commas and slashes).

use std::io::BufRead;

use super::lines::TextLines;
use super::{Direction, Reference, StatementError, StatementLine, bounded, check_count, currency, yymmdd};

/// One logical record: its type, the line it starts on, and its fields (continuations joined).
struct Record {
    kind: String,
    line: usize,
    text: String,
}

/// What the headers above an entry say.
#[derive(Default)]
struct Context {
    group_currency: Option<String>,
    account_currency: Option<String>,
    as_of: Option<i64>,
}

/// Reads every `16` record of the file as an entry as it goes, handing each to `each`; answers
/// how many there were.
pub fn read_each<R: BufRead>(
    input: R,
    each: &mut dyn FnMut(StatementLine) -> Result<(), StatementError>,
) -> Result<u64, StatementError> {
    let mut records = Records {
        lines: TextLines::new(input),
        current: None,
    };
    let mut context = Context::default();
    let mut count = 0u64;
    let mut first = true;
    while let Some(record) = records.next_record()? {
        if std::mem::take(&mut first) && record.kind != "01" {
            return Err(StatementError::new(
                "line 1",
                "not a BAI2 file: it does not begin with a 01 record",
            ));
        }
        let at = format!("line {}", record.line);
        let fields: Vec<&str> = record.text.split(',').collect();
        match record.kind.as_str() {
            "02" => {
                context.as_of = Some(yymmdd(field(&fields, 3, &at, "as-of date")?, &at)?);
                context.group_currency = optional_currency(fields.get(5).copied(), &at)?;
            }
            "03" => context.account_currency = optional_currency(fields.get(1).copied(), &at)?,
            "16" => {
                count += 1;
                check_count(count as usize, &at)?;
                each(entry(&record, &context, &at)?)?;
            }
            "49" => context.account_currency = None,
            "01" | "98" | "99" => {}
            other => return Err(StatementError::new(at, format!("{other:?} is not a BAI2 record type"))),
        }
    }
    if first {
        return Err(StatementError::new(
            "line 1",
            "not a BAI2 file: it does not begin with a 01 record",
        ));
    }
    Ok(count)
}

/// The file's logical records as its lines are read: `88` continuations joined to the record
/// before them.
struct Records<R> {
    lines: TextLines<R>,
    /// The record being read: it ends where the next begins.
    current: Option<Record>,
}

impl<R: BufRead> Records<R> {
    fn next_record(&mut self) -> Result<Option<Record>, StatementError> {
        while let Some((number, raw)) = self.lines.next_line()? {
            let line = raw.trim_end();
            if line.is_empty() {
                continue;
            }
            let (kind, rest) = line.split_once(',').unwrap_or((line, ""));
            if kind == "88" {
                let Some(last) = self.current.as_mut() else {
                    return Err(StatementError::new(
                        format!("line {number}"),
                        "an 88 continuation with no record before it",
                    ));
                };
                // A record ended by `/` is continued by more fields; a 16 record's text without
                // one runs on, after a space.
                if last.text.ends_with('/') {
                    last.text.pop();
                    last.text.push(',');
                } else if last.kind == "16" {
                    last.text.push(' ');
                } else if !last.text.ends_with(',') {
                    last.text.push(',');
                }
                last.text.push_str(rest);
                continue;
            }
            let next = Record {
                kind: kind.to_owned(),
                line: number,
                text: rest.to_owned(),
            };
            if let Some(done) = self.current.replace(next) {
                return Ok(Some(done));
            }
        }
        Ok(self.current.take())
    }
}

/// A field that must be there, without its record's closing `/`.
fn field<'a>(fields: &[&'a str], i: usize, at: &str, what: &str) -> Result<&'a str, StatementError> {
    match fields.get(i).map(|f| f.trim_end_matches('/').trim()) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(StatementError::new(at, format!("no {what} (field {})", i + 2))),
    }
}

fn optional_currency(code: Option<&str>, at: &str) -> Result<Option<String>, StatementError> {
    match code.map(|c| c.trim_end_matches('/').trim()) {
        None | Some("") => Ok(None),
        Some(code) => currency(code, at).map(Some),
    }
}

/// Whether a type code is a credit or a debit: 100–399 credits, 400–699 debits, and the
/// customized 920–959 credits, 960–999 debits. Status codes (001–099, 900–919) and the loan
/// codes (700–899) are not entries of a 16 record.
fn direction(code: u32) -> Option<Direction> {
    match code {
        100..=399 | 920..=959 => Some(Direction::Credit),
        400..=699 | 960..=999 => Some(Direction::Debit),
        _ => None,
    }
}

/// The fields a funds type adds after it: `S` three amounts, `V` a value date and time, `D` a
/// count and that many pairs; the others none.
fn funds_fields<'a>(fields: &[&'a str], at: &str) -> Result<(usize, Option<&'a str>), StatementError> {
    let funds = fields.get(2).map_or("", |f| f.trim());
    Ok(match funds {
        "S" => (3, None),
        "V" => (2, fields.get(3).copied()),
        "D" => {
            let n: usize = field(fields, 3, at, "distribution count")?
                .parse()
                .map_err(|_| StatementError::new(at, "the distribution count is not a number"))?;
            (1 + 2 * n, None)
        }
        "" | "0" | "1" | "2" | "Z" => (0, None),
        other => return Err(StatementError::new(at, format!("{other:?} is not a BAI2 funds type"))),
    })
}

/// One `16` record as an entry.
fn entry(record: &Record, context: &Context, at: &str) -> Result<StatementLine, StatementError> {
    let fields: Vec<&str> = record.text.splitn(64, ',').collect();
    let code_text = field(&fields, 0, at, "type code")?;
    let direction = code_text.parse::<u32>().ok().and_then(direction).ok_or_else(|| {
        StatementError::new(
            at,
            format!("{code_text:?} is not a credit or debit type code (100–699, 920–999)"),
        )
    })?;
    let amount_text = field(&fields, 1, at, "amount")?;
    let amount: i64 = amount_text
        .strip_prefix('+')
        .unwrap_or(amount_text)
        .parse()
        .ok()
        .filter(|a: &i64| *a >= 0)
        .ok_or_else(|| StatementError::new(at, format!("{amount_text:?} is not an amount in minor units")))?;
    let (extra, value_date) = funds_fields(&fields, at)?;
    let references_at = 3 + extra;
    // The text is everything after the customer reference, commas included.
    let tail: Vec<&str> = record.text.splitn(references_at + 3, ',').collect();
    let text = tail.get(references_at + 2).copied().unwrap_or("");
    let mut references = Vec::new();
    for (kind, i) in [
        ("customer_reference", references_at + 1),
        ("bank_reference", references_at),
    ] {
        let value = tail.get(i).map_or("", |v| v.trim_end_matches('/').trim());
        if !value.is_empty() {
            references.push(Reference {
                kind,
                value: bounded(value),
            });
        }
    }
    let code = context
        .account_currency
        .clone()
        .or_else(|| context.group_currency.clone())
        .unwrap_or_else(|| "usd".to_owned());
    let value_date = match value_date.map(|d| d.trim()).filter(|d| !d.is_empty()) {
        Some(date) => Some(yymmdd(date, at)?),
        None => context.as_of,
    };
    Ok(StatementLine {
        at: at.to_owned(),
        amount,
        currency: code,
        direction,
        booking_date: context.as_of,
        value_date,
        references,
        text: bounded(text.trim_end_matches('/')),
    })
}
