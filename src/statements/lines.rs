//! The lines of a line-based statement (MT940, BAI2), read as they come: memory holds one line,
//! not the file. A line is UTF-8, else Latin-1 (what SWIFT and BAI2 files often are); its end
//! (`\n`, `\r\n`) and the file's byte order mark are not part of it.

use std::io::{BufRead, Read};

use super::StatementError;

/// Longest line a statement may hold (an MT940 line is at most 65 characters, a BAI2 record
/// rarely more than 80): a file of one endless line is refused, not held.
pub const STATEMENT_LINE_BYTES_MAX: usize = 64 << 10;

/// A statement's lines, numbered from 1.
pub(crate) struct TextLines<R> {
    reader: R,
    buf: Vec<u8>,
    number: usize,
}

impl<R: BufRead> TextLines<R> {
    pub(crate) fn new(reader: R) -> TextLines<R> {
        TextLines {
            reader,
            buf: Vec::with_capacity(256),
            number: 0,
        }
    }

    /// The next line and its number; None at the end of the file.
    pub(crate) fn next_line(&mut self) -> Result<Option<(usize, String)>, StatementError> {
        self.buf.clear();
        self.number += 1;
        let at = || format!("line {}", self.number);
        let limit = STATEMENT_LINE_BYTES_MAX as u64 + 1;
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| StatementError::new(at(), format!("cannot read the file: {e}")))?;
        if n == 0 {
            return Ok(None);
        }
        if self.buf.len() > STATEMENT_LINE_BYTES_MAX {
            return Err(StatementError::new(
                at(),
                format!("the line is longer than {STATEMENT_LINE_BYTES_MAX} bytes"),
            ));
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        let text = match std::str::from_utf8(&self.buf) {
            Ok(text) if self.number == 1 => text.trim_start_matches('\u{feff}').to_owned(),
            Ok(text) => text.to_owned(),
            Err(_) => self.buf.iter().map(|b| char::from(*b)).collect(),
        };
        Ok(Some((self.number, text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> Vec<(usize, String)> {
        let mut lines = TextLines::new(bytes);
        std::iter::from_fn(|| lines.next_line().expect("readable")).collect()
    }

    #[test]
    fn lines_lose_their_ends_and_the_byte_order_mark_and_latin_1_is_read() {
        let text = "\u{feff}:20:A\r\n:25:B\n\n:86:caf\u{e9}".as_bytes();
        assert_eq!(
            all(text),
            [
                (1, ":20:A".to_owned()),
                (2, ":25:B".to_owned()),
                (3, String::new()),
                (4, ":86:caf\u{e9}".to_owned())
            ]
        );
        assert_eq!(all(b":86:caf\xe9\n"), [(1, ":86:caf\u{e9}".to_owned())]);
    }

    #[test]
    fn a_line_past_the_bound_is_refused_with_its_number() {
        let mut text = b"01,header/\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', STATEMENT_LINE_BYTES_MAX + 1));
        let mut lines = TextLines::new(text.as_slice());
        assert!(lines.next_line().expect("the first").is_some());
        let error = lines.next_line().expect_err("too long");
        assert_eq!(error.at, "line 2");
    }
}
