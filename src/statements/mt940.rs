//! SWIFT MT940 (customer statement): fields `:TAG:` each starting a line, continued on the lines
//! that follow; statements separated by `-`, optionally inside `{1:…}{2:…}{4:` blocks. Each
//! `:61:` (statement line) is an entry, with the `:86:` after it as its text; its currency is
//! the one of the statement's opening balance (`:60F:` or `:60M:`).
//!
//! `:61:` is `YYMMDD` value date, optional `MMDD` entry (booking) date, the mark (`C`, `D`, and
//! the reversals `RC`, `RD`), an optional funds code letter, the amount with a decimal comma,
//! the transaction type (`NTRF`, `NMSC`, …), the customer reference (up to 16 characters, up to
//! `//`), the bank's reference after `//`, and supplementary details on a second line.

use std::io::BufRead;

use super::lines::TextLines;
use super::{Direction, Reference, StatementError, StatementLine, bounded, currency, minor_units, yymmdd};

/// One field: its tag, the line it starts on, and its text (continuation lines joined by `\n`).
struct Field {
    tag: String,
    line: usize,
    text: String,
}

/// Reads every statement of the file as it goes, handing each entry to `each` once its `:86:`
/// is read; answers how many there were.
pub fn read_each<R: BufRead>(
    input: R,
    each: &mut dyn FnMut(StatementLine) -> Result<(), StatementError>,
) -> Result<u64, StatementError> {
    let mut fields = Fields {
        lines: TextLines::new(input),
        current: None,
    };
    let mut statement_currency: Option<String> = None;
    let mut pending: Option<StatementLine> = None;
    let (mut count, mut has_20) = (0u64, false);
    while let Some(field) = fields.next_field()? {
        let at = format!("line {}", field.line);
        // An :86: right after a :61: is that entry's text; anywhere else, the statement's.
        if let Some(mut entry) = pending.take() {
            if field.tag == "86" {
                entry.text = bounded(&information(&field.text));
                each(entry)?;
                continue;
            }
            each(entry)?;
        }
        match field.tag.as_str() {
            "20" => (statement_currency, has_20) = (None, true),
            "60F" | "60M" => statement_currency = Some(balance_currency(&field.text, &at)?),
            "61" => {
                let Some(code) = &statement_currency else {
                    return Err(StatementError::new(
                        at,
                        ":61: before an opening balance (:60F:): the entry's currency is unknown",
                    ));
                };
                pending = Some(statement_line(&field.text, code, &at)?);
                count += 1;
                super::check_count(count as usize, &at)?;
            }
            _ => {}
        }
    }
    if let Some(entry) = pending {
        each(entry)?;
    }
    if !has_20 {
        return Err(StatementError::new("line 1", "not an MT940 statement: no :20: field"));
    }
    Ok(count)
}

/// The file's fields, in order, as its lines are read. Block wrappers (`{1:…}{4:`, `-}`), the
/// `-` separators and the lines some banks put before a statement's first field
/// (`ABNANL2A/940`, `0000 01INGB…`) are not fields.
struct Fields<R> {
    lines: TextLines<R>,
    /// The field being read: it ends where the next begins.
    current: Option<Field>,
}

impl<R: BufRead> Fields<R> {
    fn next_field(&mut self) -> Result<Option<Field>, StatementError> {
        while let Some((number, raw)) = self.lines.next_line()? {
            let trimmed = raw.trim();
            if trimmed.is_empty()
                || trimmed == "-"
                || trimmed == "-}"
                || trimmed.starts_with('{') && !trimmed.contains(":20:")
            {
                continue;
            }
            let line = match trimmed.find("{4:") {
                Some(at) => &trimmed[at + 3..],
                None => raw.as_str(),
            };
            if let Some((tag, rest)) = tag_of(line) {
                let next = Field {
                    tag: tag.to_owned(),
                    line: number,
                    text: rest.to_owned(),
                };
                if let Some(done) = self.current.replace(next) {
                    return Ok(Some(done));
                }
            } else if let Some(last) = self
                .current
                .as_mut()
                .filter(|f| f.tag != "62F" && f.tag != "62M" && f.tag != "64")
            {
                last.text.push('\n');
                last.text.push_str(line);
            }
        }
        Ok(self.current.take())
    }
}

/// `:TAG:rest` with a tag of two digits and an optional letter.
fn tag_of(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix(':')?;
    let end = rest.find(':')?;
    let tag = &rest[..end];
    let well_formed = (2..=3).contains(&tag.len())
        && tag.as_bytes()[..2].iter().all(u8::is_ascii_digit)
        && tag.bytes().skip(2).all(|b| b.is_ascii_uppercase());
    well_formed.then(|| (tag, &rest[end + 1..]))
}

/// The currency of a balance field: `C230101EUR1000,00`.
fn balance_currency(text: &str, at: &str) -> Result<String, StatementError> {
    let code = text.get(7..10).unwrap_or("");
    currency(code, at).map_err(|e| StatementError::new(at, format!("the opening balance {text:?}: {}", e.message)))
}

/// One `:61:` field as an entry.
fn statement_line(text: &str, code: &str, at: &str) -> Result<StatementLine, StatementError> {
    let (first, details) = text.split_once('\n').unwrap_or((text, ""));
    let bad = |what: &str| StatementError::new(at, format!(":61: {first:?}: {what}"));
    let value_date = yymmdd(first.get(..6).ok_or_else(|| bad("no value date (YYMMDD)"))?, at)?;
    let mut rest = &first[6..];
    let mut booking_date = None;
    if rest.len() >= 4 && rest.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        booking_date = Some(entry_date(&rest[..4], value_date, at)?);
        rest = &rest[4..];
    }
    let (direction, after_mark) = match rest {
        r if r.starts_with("RC") => (Direction::Debit, &r[2..]),
        r if r.starts_with("RD") => (Direction::Credit, &r[2..]),
        r if r.starts_with('C') => (Direction::Credit, &r[1..]),
        r if r.starts_with('D') => (Direction::Debit, &r[1..]),
        _ => return Err(bad("no debit/credit mark (C, D, RC or RD)")),
    };
    let rest = after_mark
        .strip_prefix(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(after_mark);
    let amount_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ','))
        .unwrap_or(rest.len());
    if amount_len == 0 {
        return Err(bad("no amount"));
    }
    let amount = minor_units(&rest[..amount_len], code, at)?;
    let rest = &rest[amount_len..];
    let references_text = rest.get(4..).ok_or_else(|| bad("no transaction type (such as NTRF)"))?;
    let (customer, bank) = references_text.split_once("//").unwrap_or((references_text, ""));
    let mut references = Vec::new();
    let mut push = |kind: &'static str, value: &str| {
        let value = value.trim();
        if !value.is_empty() && value != "NONREF" {
            references.push(Reference {
                kind,
                value: bounded(value),
            });
        }
    };
    push("customer_reference", customer);
    push("bank_reference", bank);
    push("supplementary_details", details);
    Ok(StatementLine {
        at: at.to_owned(),
        amount,
        currency: code.to_owned(),
        direction,
        booking_date: booking_date.or(Some(value_date)),
        value_date: Some(value_date),
        references,
        text: String::new(),
    })
}

/// The `MMDD` entry date of a line valued on `value_date`: in the value date's year, or the
/// one before or after when that puts it nearer (an entry booked on 12-31 and valued on 01-02).
fn entry_date(mmdd: &str, value_date: i64, at: &str) -> Result<i64, StatementError> {
    let (year, _, _) = crate::clock::civil(value_date);
    let month: u32 = mmdd[..2].parse().unwrap_or(0);
    let day: u32 = mmdd[2..].parse().unwrap_or(0);
    let nearest = [year - 1, year, year + 1]
        .into_iter()
        .filter_map(|y| crate::clock::days_from_civil(y, month, day))
        .min_by_key(|d| (d - value_date).abs());
    nearest.ok_or_else(|| StatementError::new(at, format!("{mmdd:?} is not an entry date (MMDD)")))
}

/// `:86:` as one text: its lines joined, with a space, or with nothing when it is structured
/// in `?NN` subfields (whose values may be broken anywhere: `?20Gehalt Oktob⏎er`).
fn information(text: &str) -> String {
    let structured = text.contains("?20") || text.contains("?00");
    let separator = if structured { "" } else { " " };
    let lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
    lines.join(separator)
}
