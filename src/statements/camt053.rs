//! ISO 20022 camt.053 (BankToCustomerStatement), any version (`camt.053.001.02` … `.08`): read
//! as a stream of XML events (`quick-xml`), so a statement of a million entries is never held
//! whole. Each `Ntry` is an entry: `Amt` (with `Ccy`), `CdtDbtInd` (`CRDT`/`DBIT`, turned over
//! by `RvslInd`), `BookgDt` and `ValDt` (`Dt` or `DtTm`), the references (the transaction's
//! `EndToEndId`, `AcctSvcrRef`, `InstrId`, `PmtInfId`, `MsgId`, `TxId`, `UETR`, the creditor's
//! structured `CdtrRefInf/Ref`, the entry's own `AcctSvcrRef` and `NtryRef`) and the
//! remittance information (`RmtInf/Ustrd`, `AddtlTxInf`, `AddtlNtryInf`) as its text.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::{
    Direction, Reference, StatementError, StatementLine, bounded, check_count, currency, iso_day, minor_units,
};

/// Deepest element nesting read (a camt.053 entry is about 12 deep).
pub const XML_DEPTH_MAX: usize = 64;

/// The references of a transaction's `Refs` that reconciliation tries.
const TRANSACTION_REFERENCES: [&str; 7] = [
    "EndToEndId",
    "AcctSvcrRef",
    "InstrId",
    "PmtInfId",
    "MsgId",
    "TxId",
    "UETR",
];

/// An entry as its elements arrive.
#[derive(Default)]
struct Building {
    path: String,
    amount: Option<(String, String)>,
    credit_debit: Option<String>,
    reversal: bool,
    booking_date: Option<i64>,
    value_date: Option<i64>,
    references: Vec<Reference>,
    text: Vec<String>,
}

/// Where the reading is: the open elements, what was counted, the entry being built.
#[derive(Default)]
struct Reading {
    stack: Vec<String>,
    entries: usize,
    statements: usize,
    saw_statement_root: bool,
    entry: Option<Building>,
    /// `Ccy` of the last `Amt` opened (its text follows at once).
    amount_currency: String,
}

impl Reading {
    fn open(&mut self, start: &quick_xml::events::BytesStart<'_>) -> Result<(), StatementError> {
        let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        if self.stack.len() >= XML_DEPTH_MAX {
            return Err(StatementError::new(path_of(&self.stack), "elements nested too deep"));
        }
        match name.as_str() {
            "BkToCstmrStmt" => self.saw_statement_root = true,
            "Stmt" => self.statements += 1,
            "Ntry" => {
                self.entries += 1;
                let path = format!("{}/Ntry[{}]", path_of(&self.stack), self.entries);
                self.entry = Some(Building {
                    path,
                    ..Building::default()
                });
            }
            "Amt" => {
                self.amount_currency = start
                    .try_get_attribute("Ccy")
                    .ok()
                    .flatten()
                    .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                    .unwrap_or_default();
            }
            _ => {}
        }
        self.stack.push(name);
        Ok(())
    }

    /// The entry its closing `Ntry` completes, if this end closes one.
    fn close(&mut self) -> Option<Building> {
        let closed = self.stack.pop().unwrap_or_default();
        if closed == "Ntry" { self.entry.take() } else { None }
    }
}

/// Reads the statement from a buffered reader as it goes (memory does not grow with the
/// file), handing each entry to `each` in the file's order; answers how many. `line_at` names
/// the line of a byte position, for an error.
pub fn read_each<R: std::io::BufRead>(
    input: R,
    line_at: &dyn Fn(usize) -> usize,
    each: &mut dyn FnMut(StatementLine) -> Result<(), StatementError>,
) -> Result<u64, StatementError> {
    let mut reader = Reader::from_reader(input);
    reader.config_mut().trim_text(true);
    let mut reading = Reading::default();
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml_error(line_at(reader.error_position() as usize), &e))?;
        match event {
            Event::Start(start) => reading.open(&start)?,
            Event::End(_) => {
                if let Some(building) = reading.close() {
                    let number = reading.entries;
                    each(finish(building, number)?)?;
                    check_count(number, &format!("Ntry {number}"))?;
                }
            }
            Event::Text(text) => {
                let value = text
                    .unescape()
                    .map_err(|e| xml_error(line_at(reader.buffer_position() as usize), &e))?;
                if let Some(building) = reading.entry.as_mut() {
                    take(building, &reading.stack, &value, &reading.amount_currency)?;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !reading.saw_statement_root || reading.statements == 0 {
        return Err(StatementError::new(
            "Document",
            "not a camt.053 statement: no BkToCstmrStmt/Stmt element",
        ));
    }
    Ok(reading.entries as u64)
}

/// `Document/BkToCstmrStmt/Stmt/…` of the open elements.
fn path_of(stack: &[String]) -> String {
    stack.join("/")
}

/// The line of byte `position` in `bytes` (1 is the first).
pub fn line_in(bytes: &[u8], position: usize) -> usize {
    bytes[..position.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// A malformed document's error, at `line`.
fn xml_error(line: usize, error: &dyn std::fmt::Display) -> StatementError {
    StatementError::new(format!("line {line}"), format!("not well-formed XML: {error}"))
}

/// Where a text goes, by the elements around it (the last few names of the path).
fn take(entry: &mut Building, stack: &[String], value: &str, amount_currency: &str) -> Result<(), StatementError> {
    let n = stack.len();
    let last = |k: usize| -> Vec<&str> { stack[n.saturating_sub(k)..].iter().map(String::as_str).collect() };
    let at = || format!("{}/{}", entry.path, stack[n.saturating_sub(2)..].join("/"));
    match last(2).as_slice() {
        ["Ntry", "Amt"] => entry.amount = Some((value.to_owned(), amount_currency.to_owned())),
        ["Ntry", "CdtDbtInd"] => entry.credit_debit = Some(value.to_owned()),
        ["Ntry", "RvslInd"] => entry.reversal = value == "true",
        ["BookgDt", "Dt" | "DtTm"] if last(3)[0] == "Ntry" => entry.booking_date = Some(iso_day(value, &at())?),
        ["ValDt", "Dt" | "DtTm"] if last(3)[0] == "Ntry" => entry.value_date = Some(iso_day(value, &at())?),
        ["Ntry", "AcctSvcrRef"] => push(entry, "entry_AcctSvcrRef", value),
        ["Ntry", "NtryRef"] => push(entry, "NtryRef", value),
        ["Refs", kind] => {
            if let Some(kind) = TRANSACTION_REFERENCES.iter().find(|k| *k == kind) {
                push(entry, kind, value);
            }
        }
        ["CdtrRefInf", "Ref"] => push(entry, "CdtrRef", value),
        ["RmtInf", "Ustrd"] | ["TxDtls", "AddtlTxInf"] | ["Ntry", "AddtlNtryInf"] => entry.text.push(value.to_owned()),
        _ => {}
    }
    Ok(())
}

/// A reference, unless it is empty or the placeholder `NOTPROVIDED`.
fn push(entry: &mut Building, kind: &'static str, value: &str) {
    let value = value.trim();
    if !value.is_empty() && value != "NOTPROVIDED" && !entry.references.iter().any(|r| r.value == value) {
        entry.references.push(Reference {
            kind,
            value: bounded(value),
        });
    }
}

/// The entry, once its `Ntry` closed, or the error naming what it lacks.
fn finish(mut entry: Building, number: usize) -> Result<StatementLine, StatementError> {
    let path = entry.path.clone();
    let (amount_text, code) = entry
        .amount
        .take()
        .ok_or_else(|| StatementError::new(format!("{path}/Amt"), "the entry has no amount"))?;
    let code = currency(&code, &format!("{path}/Amt/@Ccy"))?;
    let amount = minor_units(&amount_text, &code, &format!("{path}/Amt"))?;
    let direction = match (entry.credit_debit.as_deref(), entry.reversal) {
        (Some("CRDT"), false) | (Some("DBIT"), true) => Direction::Credit,
        (Some("DBIT"), false) | (Some("CRDT"), true) => Direction::Debit,
        (other, _) => {
            return Err(StatementError::new(
                format!("{path}/CdtDbtInd"),
                format!("{:?} is not CRDT or DBIT", other.unwrap_or("")),
            ));
        }
    };
    // The transaction's references first: they name the payment; the entry's name the booking.
    entry.references.sort_by_key(|r| match r.kind {
        "entry_AcctSvcrRef" => 1,
        "NtryRef" => 2,
        _ => 0,
    });
    for reference in &mut entry.references {
        if reference.kind == "entry_AcctSvcrRef" {
            reference.kind = "AcctSvcrRef";
        }
    }
    Ok(StatementLine {
        at: format!("Ntry {number}"),
        amount,
        currency: code,
        direction,
        booking_date: entry.booking_date,
        value_date: entry.value_date,
        references: entry.references,
        text: bounded(&entry.text.join(" ")),
    })
}
