//! Bank statements as reconciliation reads them: ISO 20022 camt.053 (`camt053`), SWIFT MT940
//! (`mt940`) and BAI2 (`bai2`). Each statement entry becomes one `StatementLine`: its amount in
//! minor units, currency, direction, booking and value dates, every reference the format
//! carries and its free text. Pure code: a parser reads bytes and answers lines, or an error
//! naming the line (or the XML element) it could not read; nothing is written on an error.

pub mod bai2;
pub mod camt053;
pub mod lines;
pub mod mt940;
#[cfg(test)]
mod tests;

/// Most entries one statement file may hold (a 10⁶-line statement is the target of issue 32).
pub const STATEMENT_LINES_MAX: usize = 10_000_000;
/// Longest reference or free text kept from an entry (longer ones are cut).
pub const STATEMENT_TEXT_CHARS_MAX: usize = 1_000;

/// A statement file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Camt053,
    Mt940,
    Bai2,
    Csv,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Camt053 => "camt053",
            Format::Mt940 => "mt940",
            Format::Bai2 => "bai2",
            Format::Csv => "csv",
        }
    }

    /// The format of a file from its first bytes: XML naming camt.053, a `:20:` or `{1:` block
    /// (MT940), a `01,` record (BAI2), else CSV.
    pub fn sniff(head: &[u8]) -> Format {
        let text = String::from_utf8_lossy(head);
        let text = text.trim_start_matches('\u{feff}').trim_start();
        if text.starts_with('<') {
            return Format::Camt053;
        }
        if text.starts_with("01,") {
            return Format::Bai2;
        }
        if text.starts_with(":20:") || text.starts_with("{1:") || text.starts_with(":940:") {
            return Format::Mt940;
        }
        Format::Csv
    }
}

/// Money in, or money out of the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Credit,
    Debit,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Credit => "credit",
            Direction::Debit => "debit",
        }
    }
}

/// One reference of an entry, with what the format calls it (`EndToEndId`, `AcctSvcrRef`,
/// `customer_reference`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub kind: &'static str,
    pub value: String,
}

/// One entry of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    /// Where the entry is: `line 12` (MT940, BAI2) or `Ntry 3` (camt.053, counted from 1).
    pub at: String,
    /// Minor units of `currency`, positive.
    pub amount: i64,
    /// Lowercase ISO 4217.
    pub currency: String,
    pub direction: Direction,
    /// Days since the Unix epoch.
    pub booking_date: Option<i64>,
    pub value_date: Option<i64>,
    /// In the order the format gives them, the most specific first where it has one.
    pub references: Vec<Reference>,
    /// Remittance information, `:86:` text, a BAI2 record's text.
    pub text: String,
}

/// Why a statement could not be read: where, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct StatementError {
    /// `line 7`, or an element's path (`Document/BkToCstmrStmt/Stmt[1]/Ntry[3]/Amt`).
    pub at: String,
    pub message: String,
}

impl StatementError {
    pub fn new(at: impl Into<String>, message: impl Into<String>) -> StatementError {
        StatementError {
            at: at.into(),
            message: message.into(),
        }
    }
}

/// Reads a whole statement of `format` (not CSV, which `cli::reconcile` reads by its columns).
pub fn parse(format: Format, bytes: &[u8]) -> Result<Vec<StatementLine>, StatementError> {
    let mut lines = Vec::new();
    read_each(
        format,
        bytes,
        &|position| camt053::line_in(bytes, position),
        &mut |line| {
            lines.push(line);
            Ok(())
        },
    )?;
    Ok(lines)
}

/// Reads a statement of `format` as it goes (not CSV), handing each entry to `each`; answers
/// how many there were. `line_at` names the line of a byte position (camt.053's errors).
pub fn read_each<R: std::io::BufRead>(
    format: Format,
    input: R,
    line_at: &dyn Fn(usize) -> usize,
    each: &mut dyn FnMut(StatementLine) -> Result<(), StatementError>,
) -> Result<u64, StatementError> {
    match format {
        Format::Camt053 => camt053::read_each(input, line_at, each),
        Format::Mt940 => mt940::read_each(input, each),
        Format::Bai2 => bai2::read_each(input, each),
        Format::Csv => Err(StatementError::new(
            "file",
            "CSV is read by its columns, not as a statement",
        )),
    }
}

/// Refuses a statement past `STATEMENT_LINES_MAX` entries.
pub(crate) fn check_count(entries: usize, at: &str) -> Result<(), StatementError> {
    match entries > STATEMENT_LINES_MAX {
        true => Err(StatementError::new(
            at,
            format!("more than {STATEMENT_LINES_MAX} entries: split the statement"),
        )),
        false => Ok(()),
    }
}

/// `text` cut to `STATEMENT_TEXT_CHARS_MAX` characters, trimmed.
pub(crate) fn bounded(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(STATEMENT_TEXT_CHARS_MAX) {
        Some((i, _)) => text[..i].to_owned(),
        None => text.to_owned(),
    }
}

/// A decimal amount as minor units of `currency` (`,` or `.` as the decimal mark).
pub(crate) fn minor_units(text: &str, currency: &str, at: &str) -> Result<i64, StatementError> {
    let normalised = text.trim().replace(',', ".");
    let normalised = normalised.strip_suffix('.').unwrap_or(&normalised);
    match crate::records::currency::parse_decimal(normalised, currency) {
        Some(value) if value >= 0 => Ok(value),
        _ => Err(StatementError::new(
            at,
            format!(
                "{text:?} is not an amount in {} with its decimals",
                currency.to_uppercase()
            ),
        )),
    }
}

/// A three-letter currency code, lowercase.
pub(crate) fn currency(code: &str, at: &str) -> Result<String, StatementError> {
    let code = code.trim();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Ok(code.to_ascii_lowercase());
    }
    Err(StatementError::new(at, format!("{code:?} is not a currency code")))
}

/// Days since the epoch of a calendar date, or the error naming it.
pub(crate) fn day(year: i64, month: u32, day: u32, at: &str, text: &str) -> Result<i64, StatementError> {
    crate::clock::days_from_civil(year, month, day)
        .ok_or_else(|| StatementError::new(at, format!("{text:?} is not a date")))
}

/// `YYYY-MM-DD` (and anything after it, as in an ISO date-time) as days since the epoch.
pub(crate) fn iso_day(text: &str, at: &str) -> Result<i64, StatementError> {
    let text = text.trim();
    text.get(..10)
        .and_then(crate::clock::parse_date)
        .ok_or_else(|| StatementError::new(at, format!("{text:?} is not a date (YYYY-MM-DD)")))
}

/// `YYMMDD` as days since the epoch (years 00–79 are 2000–2079, 80–99 are 1980–1999).
pub(crate) fn yymmdd(text: &str, at: &str) -> Result<i64, StatementError> {
    let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    let (yy, mm, dd) = (text.get(0..2), text.get(2..4), text.get(4..6));
    match (yy, mm, dd) {
        (Some(yy), Some(mm), Some(dd)) if text.len() == 6 && digits(yy) && digits(mm) && digits(dd) => {
            let yy: i64 = yy.parse().unwrap_or(0);
            let year = if yy < 80 { 2000 + yy } else { 1900 + yy };
            day(year, mm.parse().unwrap_or(0), dd.parse().unwrap_or(0), at, text)
        }
        _ => Err(StatementError::new(at, format!("{text:?} is not a date (YYMMDD)"))),
    }
}
