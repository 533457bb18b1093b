//! A bank statement's entries as reconciliation lines: each entry's references in the order its
//! format gives them (the line is judged by the first that names a payment or a refund), its
//! amount signed by its direction (a debit is money out: a refund), its booking date.

use crate::reconcile::FileLine;
use crate::records::totals::SECONDS_PER_DAY;
use crate::statements::{Direction, StatementLine};

/// Largest statement file read (it is read and checked whole before anything is judged).
pub const STATEMENT_FILE_BYTES_MAX: u64 = 4 << 30;

/// One entry, the `number`th of its file, as a line to judge.
pub fn file_line(entry: StatementLine, number: u64) -> FileLine {
    let mut references = entry.references.into_iter().map(|r| r.value);
    let reference = references.next().unwrap_or_default();
    FileLine {
        line: number,
        reference,
        other_references: references.collect(),
        amount: match entry.direction {
            Direction::Credit => entry.amount,
            Direction::Debit => -entry.amount,
        },
        currency: entry.currency,
        date: entry.booking_date.or(entry.value_date).map(|day| day * SECONDS_PER_DAY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statements::Reference;

    #[test]
    fn a_debit_is_negative_and_every_reference_is_kept_in_order() {
        let entry = StatementLine {
            at: "Ntry 1".into(),
            amount: 1_250,
            currency: "eur".into(),
            direction: Direction::Debit,
            booking_date: Some(20_000),
            value_date: Some(20_001),
            references: vec![
                Reference {
                    kind: "EndToEndId",
                    value: "e2e".into(),
                },
                Reference {
                    kind: "AcctSvcrRef",
                    value: "bank".into(),
                },
            ],
            text: String::new(),
        };
        let line = file_line(entry, 7);
        assert_eq!((line.line, line.amount, line.reference.as_str()), (7, -1_250, "e2e"));
        assert_eq!(line.other_references, ["bank"]);
        assert_eq!(line.date, Some(20_000 * SECONDS_PER_DAY));
    }
}
