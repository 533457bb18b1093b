//! `--settlement FILE`: a processor's settlement report, the payments of each payout. A CSV
//! with the columns `payout_id`, `payment_reference`, `gross`, `fee` and `net`, and optionally
//! `currency` (decimals in the currency's units, other columns ignored; a refund's row has a
//! negative gross and its `refund_reference` as `payment_reference`), read and checked whole
//! before anything is judged: every row's net must be its gross less its fee, and a payout is
//! in one currency. Without a currency column a payout's amounts are read in the currency of
//! the statement line that names it.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::cli::Failure;
use crate::reconcile::payout::SettlementRow;
use crate::records::currency::{exponent, parse_decimal};

/// Most rows a settlement file may hold.
pub const SETTLEMENT_ROWS_MAX: usize = 5_000_000;

/// The columns a settlement file must have, each with the other names its header may give it
/// (compared without case, spaces and hyphens read as underscores).
const COLUMNS: [(&str, &[&str]); 5] = [
    ("payout_id", &["payout", "payout_reference", "payout_ref"]),
    ("payment_reference", &["reference", "payment_ref"]),
    ("gross", &["gross_amount", "amount"]),
    ("fee", &["fees", "fee_amount"]),
    ("net", &["net_amount"]),
];

/// A currency whose amounts a settlement file without a currency column is read in: the
/// largest ISO 4217 exponent (3), so that any line's currency can take them down to its own.
const UNNAMED_CURRENCY: &str = "kwd";

/// One payout of the settlement file.
#[derive(Debug)]
pub struct SettlementPayout {
    /// None when the file has no currency column: the rows are then in thousandths of a unit.
    currency: Option<String>,
    rows: Vec<SettlementRow>,
}

impl SettlementPayout {
    /// The rows in the minor units of `currency`, the line's: as read when the file names the
    /// payout's currency; else brought from thousandths, and none when an amount has more
    /// decimals than the currency (the payout cannot be this line's).
    pub fn rows_in(&self, currency: &str) -> Cow<'_, [SettlementRow]> {
        if self.currency.is_some() {
            return Cow::Borrowed(&self.rows);
        }
        let scale = 10_i64.pow(exponent(UNNAMED_CURRENCY) - exponent(currency));
        let down = |v: i64| (v % scale == 0).then_some(v / scale);
        let rows: Option<Vec<SettlementRow>> = self
            .rows
            .iter()
            .map(|r| {
                Some(SettlementRow {
                    payment_reference: r.payment_reference.clone(),
                    gross: down(r.gross)?,
                    fee: down(r.fee)?,
                    net: down(r.net)?,
                })
            })
            .collect();
        Cow::Owned(rows.unwrap_or_default())
    }
}

/// Each payout's payments, by payout id.
#[derive(Debug, Default)]
pub struct Settlement {
    pub payouts: HashMap<String, SettlementPayout>,
}

/// A header's name as the columns are compared: trimmed, lower case, `-` and spaces as `_`.
fn header_name(h: &str) -> String {
    h.trim().to_ascii_lowercase().replace([' ', '-'], "_")
}

/// Where each of `COLUMNS` is, and the currency column if there is one.
fn columns_of(header: &csv::StringRecord) -> Result<([usize; COLUMNS.len()], Option<usize>), String> {
    let names: Vec<String> = header.iter().map(header_name).collect();
    let find = |name: &str, others: &[&str]| {
        (names.iter().position(|h| h == name)).or_else(|| names.iter().position(|h| others.contains(&h.as_str())))
    };
    let mut at = [0usize; COLUMNS.len()];
    for (i, (name, others)) in COLUMNS.iter().enumerate() {
        at[i] = find(name, others).ok_or_else(|| {
            let needed: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).collect();
            format!(
                "no column {name:?} (it needs {}; currency is optional)",
                needed.join(", ")
            )
        })?;
    }
    Ok((at, find("currency", &["ccy", "currency_code"])))
}

impl Settlement {
    /// The payout a line names among its references, if any.
    pub fn payout_of<'a>(&self, references: impl Iterator<Item = &'a String>) -> Option<&'a String> {
        references.into_iter().find(|r| self.payouts.contains_key(*r))
    }

    /// Reads and checks the file at `path`.
    pub fn read(path: &std::path::Path) -> Result<Settlement, Failure> {
        let named = |e: String| Failure(format!("settlement file {}: {e}", path.display()));
        let mut reader = csv::Reader::from_path(path).map_err(|e| named(e.to_string()))?;
        let header = reader.headers().map_err(|e| named(e.to_string()))?.clone();
        let (at, currency_at) = columns_of(&header).map_err(named)?;
        let mut settlement = Settlement::default();
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record = record.map_err(|e| named(format!("line {line}: {e}")))?;
            let currency = currency_at.map(|k| record.get(k).unwrap_or("").trim().to_ascii_lowercase());
            let (payout, row) =
                read_row(&record, &at, currency.as_deref()).map_err(|e| named(format!("line {line}: {e}")))?;
            let entry = settlement
                .payouts
                .entry(payout.clone())
                .or_insert_with(|| SettlementPayout {
                    currency: currency.clone(),
                    rows: Vec::new(),
                });
            if entry.currency != currency {
                return Err(named(format!(
                    "line {line}: payout {payout} has rows in two currencies"
                )));
            }
            entry.rows.push(row);
            if i + 1 > SETTLEMENT_ROWS_MAX {
                return Err(named(format!("more than {SETTLEMENT_ROWS_MAX} rows")));
            }
        }
        Ok(settlement)
    }
}

/// One row's payout id and payment, its amounts in minor units of `currency` (thousandths
/// without one), or what is wrong with it.
fn read_row(
    record: &csv::StringRecord,
    at: &[usize; COLUMNS.len()],
    currency: Option<&str>,
) -> Result<(String, SettlementRow), String> {
    let field = |k: usize| record.get(k).map(str::trim).unwrap_or("");
    let in_currency = currency.unwrap_or(UNNAMED_CURRENCY);
    let amount = |k: usize| {
        let text = field(at[k]);
        parse_decimal(text, in_currency).ok_or_else(|| match currency {
            Some(c) => format!("{text:?} is not a {} amount in {c:?}", COLUMNS[k].0),
            None => format!("{text:?} is not a decimal {} amount", COLUMNS[k].0),
        })
    };
    let row = SettlementRow {
        payment_reference: field(at[1]).to_owned(),
        gross: amount(2)?,
        fee: amount(3)?,
        net: amount(4)?,
    };
    if row.net != row.gross - row.fee {
        return Err("net is not gross less fee".to_owned());
    }
    let payout = field(at[0]).to_owned();
    if payout.is_empty() || row.payment_reference.is_empty() {
        return Err("no payout_id or payment_reference".to_owned());
    }
    Ok((payout, row))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payout(currency: Option<&str>, gross: i64, fee: i64) -> SettlementPayout {
        let row = SettlementRow {
            payment_reference: "pay-1".into(),
            gross,
            fee,
            net: gross - fee,
        };
        SettlementPayout {
            currency: currency.map(str::to_owned),
            rows: vec![row],
        }
    }

    #[test]
    fn a_payout_without_a_currency_is_read_in_the_line_s_currency() {
        let thousandths = payout(None, 12_340, 1_230);
        assert_eq!(thousandths.rows_in("eur")[0].net, 1_111);
        assert_eq!(thousandths.rows_in("kwd")[0].net, 11_110);
        assert!(thousandths.rows_in("jpy").is_empty(), "12.34 is no amount in yen");
        assert_eq!(payout(None, 5_000, 0).rows_in("jpy")[0].gross, 5);
        assert_eq!(payout(Some("eur"), 1_234, 0).rows_in("usd")[0].gross, 1_234);
    }

    #[test]
    fn settlement_headers_are_found_by_their_other_names() {
        let header = csv::StringRecord::from(vec!["Payout ID", "Reference", "Gross", "Fee", "Net", "CCY"]);
        let (at, currency) = columns_of(&header).unwrap();
        assert_eq!((at, currency), ([0, 1, 2, 3, 4], Some(5)));
        let missing = csv::StringRecord::from(vec!["payout_id", "payment_reference", "gross", "net"]);
        assert!(columns_of(&missing).unwrap_err().contains("\"fee\""));
    }
}
