//! `--settlement FILE`: a processor's settlement report, the payments of each payout. A CSV
//! with the columns `payout_id`, `payment_reference`, `currency`, `gross`, `fee` and `net`
//! (decimals in the currency's units, other columns ignored; a refund's row has a negative
//! gross and its `refund_reference` as `payment_reference`), read and checked whole before
//! anything is judged: every row's net must be its gross less its fee, and a payout is in one
//! currency.

use std::collections::HashMap;

use crate::cli::Failure;
use crate::reconcile::payout::SettlementRow;
use crate::records::currency::parse_decimal;

/// Most rows a settlement file may hold.
pub const SETTLEMENT_ROWS_MAX: usize = 5_000_000;

/// The columns a settlement file must have.
const COLUMNS: [&str; 6] = ["payout_id", "payment_reference", "currency", "gross", "fee", "net"];

/// Each payout's payments, by payout id.
#[derive(Debug, Default)]
pub struct Settlement {
    pub payouts: HashMap<String, Vec<SettlementRow>>,
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
        let mut at = [0usize; COLUMNS.len()];
        for (i, name) in COLUMNS.iter().enumerate() {
            at[i] = header
                .iter()
                .position(|h| h.trim() == *name)
                .ok_or_else(|| named(format!("no column {name:?} (it needs {})", COLUMNS.join(", "))))?;
        }
        let mut settlement = Settlement::default();
        let mut currencies: HashMap<String, String> = HashMap::new();
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record = record.map_err(|e| named(format!("line {line}: {e}")))?;
            let field = |k: usize| record.get(at[k]).map(str::trim).unwrap_or("");
            let currency = field(2).to_ascii_lowercase();
            let amount = |k: usize| {
                parse_decimal(field(k), &currency).ok_or_else(|| {
                    named(format!(
                        "line {line}: {:?} is not a {} amount in {currency:?}",
                        field(k),
                        COLUMNS[k]
                    ))
                })
            };
            let row = SettlementRow {
                payment_reference: field(1).to_owned(),
                gross: amount(3)?,
                fee: amount(4)?,
                net: amount(5)?,
            };
            if row.net != row.gross - row.fee {
                return Err(named(format!("line {line}: net is not gross less fee")));
            }
            let payout = field(0).to_owned();
            if payout.is_empty() || row.payment_reference.is_empty() {
                return Err(named(format!("line {line}: no payout_id or payment_reference")));
            }
            if currencies.entry(payout.clone()).or_insert_with(|| currency.clone()) != &currency {
                return Err(named(format!(
                    "line {line}: payout {payout} has rows in two currencies"
                )));
            }
            settlement.payouts.entry(payout).or_default().push(row);
            if i + 1 > SETTLEMENT_ROWS_MAX {
                return Err(named(format!("more than {SETTLEMENT_ROWS_MAX} rows")));
            }
        }
        Ok(settlement)
    }
}
