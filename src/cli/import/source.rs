//! The file `payrec import` reads, one line at a time: CSV with a header (`CsvColumns`), or
//! JSON Lines read with a bound on a line's length. A line that cannot be read (not UTF-8, not
//! JSON, too long) is a refused line; a file that cannot be read at all is a failure.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek};

use super::super::Failure;
use super::super::args::{FormatArg, ImportArgs};
use super::super::csv_bound::{BoundedRecords, CSV_RECORD_BYTES_MAX};
use crate::import::csv_line::CsvColumns;
use crate::import::{LineError, LineInput, json_line};

/// Longest JSON line read; a longer one is refused (and skipped) without holding it whole.
pub const JSON_LINE_BYTES_MAX: usize = 1 << 20;

/// The file, one line at a time.
pub(super) enum Source {
    Csv {
        reader: csv::Reader<BoundedRecords<File>>,
        columns: CsvColumns,
        record: csv::ByteRecord,
    },
    Jsonl {
        reader: BufReader<File>,
        buffer: Vec<u8>,
        line: u64,
        read: u64,
    },
}

impl Source {
    pub(super) fn open(args: &ImportArgs) -> Result<(Source, u64), Failure> {
        let path = &args.file;
        let cannot = |e: std::io::Error| Failure(format!("cannot read {}: {e}", path.display()));
        let mut file = File::open(path).map_err(cannot)?;
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let format = match args.format {
            Some(format) => format,
            None => {
                let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
                if ["jsonl", "ndjson", "json"].contains(&extension.to_ascii_lowercase().as_str()) {
                    FormatArg::Jsonl
                } else {
                    let mut head = [0u8; 64];
                    let n = file.read(&mut head).map_err(cannot)?;
                    let first = head[..n].iter().find(|b| !b.is_ascii_whitespace());
                    file.rewind().map_err(cannot)?;
                    if first == Some(&b'{') {
                        FormatArg::Jsonl
                    } else {
                        FormatArg::Csv
                    }
                }
            }
        };
        if bytes == 0 {
            return Err(Failure(format!("{} is empty: nothing to import", path.display())));
        }
        let source = match format {
            FormatArg::Jsonl => Source::Jsonl {
                reader: BufReader::with_capacity(1 << 16, file),
                buffer: Vec::new(),
                line: 0,
                read: 0,
            },
            FormatArg::Csv => {
                let bounded = BoundedRecords::new(file, CSV_RECORD_BYTES_MAX);
                let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bounded);
                let header = reader
                    .headers()
                    .map_err(|e| Failure(format!("{}: cannot read the header: {e}", path.display())))?
                    .clone();
                if header.iter().all(|h| h.trim().is_empty()) {
                    return Err(Failure(format!("{} is empty: it has no header", path.display())));
                }
                let columns =
                    CsvColumns::from_header(&header).map_err(|e| Failure(format!("{}: {e}", path.display())))?;
                Source::Csv {
                    reader,
                    columns,
                    record: csv::ByteRecord::new(),
                }
            }
        };
        Ok((source, bytes))
    }

    /// The next line (None at the end); Err(Failure) when the file cannot be read at all.
    pub(super) fn next(&mut self) -> Result<Option<Result<LineInput, LineError>>, Failure> {
        match self {
            Source::Csv {
                reader,
                columns,
                record,
            } => loop {
                let more = match reader.read_byte_record(record) {
                    Ok(more) => more,
                    Err(e) => match e.position() {
                        Some(p) => return Ok(Some(Err(LineError::new(p.line(), None, e.to_string())))),
                        None => return Err(Failure(format!("cannot read the file: {e}"))),
                    },
                };
                if !more {
                    return Ok(None);
                }
                let line = record.position().map_or(0, |p| p.line());
                if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                    continue;
                }
                return Ok(Some(match csv::StringRecord::from_byte_record(record.clone()) {
                    Ok(row) => columns.line(&row, line),
                    Err(_) => Err(LineError::new(line, None, "the line is not UTF-8 text")),
                }));
            },
            Source::Jsonl {
                reader,
                buffer,
                line,
                read,
            } => loop {
                buffer.clear();
                *line += 1;
                let n = reader
                    .by_ref()
                    .take(JSON_LINE_BYTES_MAX as u64 + 1)
                    .read_until(b'\n', buffer)
                    .map_err(|e| Failure(format!("cannot read the file: {e}")))?;
                *read += n as u64;
                if n == 0 {
                    return Ok(None);
                }
                if buffer.len() > JSON_LINE_BYTES_MAX && buffer.last() != Some(&b'\n') {
                    *read += skip_line(reader)?;
                    let message = format!("the line is longer than {JSON_LINE_BYTES_MAX} bytes");
                    return Ok(Some(Err(LineError::new(*line, None, message))));
                }
                let Ok(text) = std::str::from_utf8(buffer) else {
                    return Ok(Some(Err(LineError::new(*line, None, "the line is not UTF-8 text"))));
                };
                if text.trim().is_empty() {
                    continue;
                }
                return Ok(Some(json_line::line(text, *line)));
            },
        }
    }

    /// Bytes of the file read so far.
    pub(super) fn position(&self) -> u64 {
        match self {
            Source::Csv { reader, .. } => reader.position().byte(),
            Source::Jsonl { read, .. } => *read,
        }
    }
}

/// Skips the rest of a long line without holding it; the bytes skipped.
fn skip_line(reader: &mut BufReader<File>) -> Result<u64, Failure> {
    let mut skipped = 0u64;
    loop {
        let chunk = reader
            .fill_buf()
            .map_err(|e| Failure(format!("cannot read the file: {e}")))?;
        if chunk.is_empty() {
            return Ok(skipped);
        }
        let (used, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        reader.consume(used);
        skipped += used as u64;
        if done {
            return Ok(skipped);
        }
    }
}
