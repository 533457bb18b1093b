//! A bank statement's entries as reconciliation lines: each entry's references in the order its
//! format gives them (the line is judged by the first that names a payment or a refund), its
//! amount signed by its direction (a debit is money out: a refund), its booking date.

use crate::reconcile::FileLine;
use crate::records::totals::SECONDS_PER_DAY;
use crate::statements::{Direction, StatementLine};

/// Largest statement file read (it is read and checked whole before anything is judged).
pub const STATEMENT_FILE_BYTES_MAX: u64 = 4 << 30;

/// Most words of an entry's free text tried as references.
pub const TEXT_REFERENCES_MAX: usize = 16;
/// Shortest word of a free text tried as a reference (shorter ones would name too much).
pub const TEXT_REFERENCE_CHARS_MIN: usize = 4;
/// Longest word tried.
pub const TEXT_REFERENCE_CHARS_MAX: usize = 64;

/// The words of a free text that may be references: runs of letters, digits, `-`, `_` and
/// `.` (so `EREF+pr-1001` gives `pr-1001`), in order, each once.
fn text_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let is_word = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    for word in text.split(|c: char| !is_word(c)).map(|w| w.trim_matches('.')) {
        let chars = word.chars().count();
        if (TEXT_REFERENCE_CHARS_MIN..=TEXT_REFERENCE_CHARS_MAX).contains(&chars) && !words.iter().any(|w| w == word) {
            words.push(word.to_owned());
            if words.len() == TEXT_REFERENCES_MAX {
                break;
            }
        }
    }
    words
}

/// One entry, the `number`th of its file, as a line to judge; with `in_text`, the words of its
/// free text follow its own references.
pub fn file_line(entry: StatementLine, number: u64, in_text: bool) -> FileLine {
    let mut references = entry.references.into_iter().map(|r| r.value);
    // The line's own reference is one its format names (none: empty, as the report shows it);
    // the words of its text are only tried.
    let reference = references.next().unwrap_or_default();
    let mut others: Vec<String> = references.collect();
    if in_text {
        for word in text_words(&entry.text) {
            if word != reference && !others.contains(&word) {
                others.push(word);
            }
        }
    }
    FileLine {
        line: number,
        reference,
        other_references: others,
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
        let line = file_line(entry.clone(), 7, false);
        assert_eq!((line.line, line.amount, line.reference.as_str()), (7, -1_250, "e2e"));
        assert_eq!(line.other_references, ["bank"]);
        let with_text = StatementLine {
            text: "?20EREF+pr-ref-1001?21SVWZ+Invoice 1001 e2e".into(),
            ..entry
        };
        let line = file_line(with_text, 7, true);
        assert_eq!(
            line.other_references,
            ["bank", "20EREF", "pr-ref-1001", "21SVWZ", "Invoice", "1001"]
        );
        assert_eq!(line.date, Some(20_000 * SECONDS_PER_DAY));
    }
}
