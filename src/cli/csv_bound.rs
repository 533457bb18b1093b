//! A bound on one CSV record's size, for the files the CLI reads (`import`, `reconcile`): the
//! csv reader holds a whole record in memory, so one endless field would take all of it.
//! Records end at a newline outside quotes; a quote toggles (an escaped `""` toggles twice).

use std::io::{Error, ErrorKind, Read};

/// Longest CSV record read (a report call's parameters fit in a 256 KiB request body).
pub const CSV_RECORD_BYTES_MAX: usize = 1 << 20;

/// `inner`, failing with `InvalidData` (naming the line) at a record over `limit` bytes.
pub struct BoundedRecords<R> {
    inner: R,
    limit: usize,
    in_record: usize,
    quoted: bool,
    line: u64,
}

impl<R: Read> BoundedRecords<R> {
    pub fn new(inner: R, limit: usize) -> Self {
        BoundedRecords {
            inner,
            limit,
            in_record: 0,
            quoted: false,
            line: 1,
        }
    }
}

impl<R: Read> Read for BoundedRecords<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            match b {
                b'"' => self.quoted = !self.quoted,
                b'\n' => {
                    self.line += 1;
                    if !self.quoted {
                        self.in_record = 0;
                        continue;
                    }
                }
                _ => {}
            }
            self.in_record += 1;
            if self.in_record > self.limit {
                return Err(Error::new(
                    ErrorKind::InvalidData,
                    format!(
                        "the record that reaches line {} is longer than {} bytes",
                        self.line, self.limit
                    ),
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_over_the_bound_fails_naming_its_line_and_quoted_newlines_do_not_end_a_record() {
        let ok = "a,b\n\"x\ny\",1\n".repeat(3);
        let mut read = String::new();
        BoundedRecords::new(ok.as_bytes(), 8).read_to_string(&mut read).unwrap();
        assert_eq!(read, ok);
        let long = format!("a,b\n\"{}\",1\n", "z".repeat(20));
        let e = BoundedRecords::new(long.as_bytes(), 16)
            .read_to_string(&mut String::new())
            .unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let multiline = format!("a\n\"{}\"\n", "q\n".repeat(20));
        assert!(
            BoundedRecords::new(multiline.as_bytes(), 16)
                .read_to_string(&mut String::new())
                .is_err()
        );
    }
}
