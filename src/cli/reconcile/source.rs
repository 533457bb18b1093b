//! Where `payrec reconcile`'s lines come from: a CSV file read as it goes; a statement (camt.053,
//! MT940, BAI2) read twice as a stream (a first read checks it whole and takes its digest, so
//! that a malformed file judges nothing; the second yields its entries as they are judged).
//! Each source also answers the file's SHA-256.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::csv_lines::{Columns, parse_line};
use super::statement;
use crate::cli::Failure;
use crate::cli::args::ReconcileArgs;
use crate::cli::csv_bound::{BoundedRecords, CSV_RECORD_BYTES_MAX};
use crate::reconcile::FileLine;
use crate::statements::{self, Format, StatementError, StatementLine, camt053};
use crate::store::ledger::REFERENCES_PER_LOOKUP_MAX;

/// Entries read ahead of the judging from a streamed statement.
pub const STREAMED_ENTRIES_AHEAD: usize = 2 * REFERENCES_PER_LOOKUP_MAX;
/// Bytes read at a time from a streamed statement.
const STREAM_BUFFER_BYTES: usize = 1 << 16;

/// Where the lines come from: a CSV read as it goes, or a statement's entries, checked whole
/// first.
pub(super) enum Source {
    Csv {
        reader: csv::Reader<BoundedRecords<File>>,
        columns: Columns,
        record: csv::StringRecord,
        read: u64,
    },
    /// A statement's entries as its second read yields them.
    Stream {
        entries: mpsc::Receiver<Result<StatementLine, StatementError>>,
        /// Entries received so far.
        read: u64,
        in_text: bool,
        bytes_per_entry: u64,
        file: PathBuf,
        format: Format,
    },
}

impl Source {
    /// Fills `batch` up to `REFERENCES_PER_LOOKUP_MAX` lines; answers whether more may follow
    /// and the bytes of the file read for them.
    pub(super) async fn fill(
        &mut self,
        batch: &mut Vec<FileLine>,
        args: &ReconcileArgs,
    ) -> Result<(bool, u64), Failure> {
        match self {
            Source::Stream {
                entries,
                read,
                in_text,
                bytes_per_entry,
                file,
                format,
            } => {
                while batch.len() < REFERENCES_PER_LOOKUP_MAX {
                    match entries.recv().await {
                        Some(Ok(entry)) => {
                            *read += 1;
                            batch.push(statement::file_line(entry, *read, *in_text));
                        }
                        Some(Err(e)) => return Err(not_valid(file, *format, &e)),
                        None => return Ok((false, batch.len() as u64 * *bytes_per_entry)),
                    }
                }
                Ok((true, batch.len() as u64 * *bytes_per_entry))
            }
            Source::Csv {
                reader,
                columns,
                record,
                read,
            } => {
                while batch.len() < REFERENCES_PER_LOOKUP_MAX {
                    let more = reader.read_record(record).map_err(|e| match e.position() {
                        Some(p) => Failure(format!("line {}: {e}", p.line())),
                        None => Failure(format!("{}: {e}", args.file.display())),
                    })?;
                    if !more {
                        let position = reader.position().byte();
                        return Ok((false, position - std::mem::replace(read, position)));
                    }
                    let line = record.position().map_or(0, |p| p.line());
                    batch.push(parse_line(record, line, columns, args)?);
                }
                let position = reader.position().byte();
                Ok((true, position - std::mem::replace(read, position)))
            }
        }
    }
}

/// The file's format: `--format`, else sniffed from its first bytes.
pub(super) fn format_of(args: &ReconcileArgs) -> Result<Format, Failure> {
    if let Some(format) = args.format {
        return Ok(format.format());
    }
    let mut head = [0u8; 512];
    let mut file = File::open(&args.file).map_err(|e| Failure(format!("cannot read {}: {e}", args.file.display())))?;
    let n = file.read(&mut head).map_err(|e| Failure(e.to_string()))?;
    Ok(Format::sniff(&head[..n]))
}

fn not_valid(file: &Path, format: Format, e: &StatementError) -> Failure {
    Failure(format!(
        "{}: not a valid {} statement: {e}",
        file.display(),
        format.as_str()
    ))
}

fn unreadable(file: &Path, e: std::io::Error) -> Failure {
    Failure(format!("cannot read {}: {e}", file.display()))
}

/// A reader that takes the SHA-256 of what it reads.
struct Digesting<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Digesting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The line of byte `position` in a file, read again (an error's line only).
fn line_in_file(path: &Path, position: usize) -> usize {
    let mut bytes = Vec::new();
    let read = File::open(path).and_then(|f| f.take(position as u64).read_to_end(&mut bytes));
    match read {
        Ok(_) => camt053::line_in(&bytes, position),
        Err(_) => 0,
    }
}

/// A statement checked whole before anything is judged (an entry that cannot be read stops
/// everything: exit 2), then streamed: read once to check it and take its digest, then again
/// as it is judged. Answers the source, the file's bytes and its SHA-256.
pub(super) fn statement_source(
    args: &ReconcileArgs,
    format: Format,
    in_text: bool,
) -> Result<(Source, u64, String), Failure> {
    let path = &args.file;
    let bytes = std::fs::metadata(path).map_err(|e| unreadable(path, e))?.len();
    let most = statement::STATEMENT_FILE_BYTES_MAX;
    if bytes > most {
        return Err(Failure(format!("{} is larger than {most} bytes", path.display())));
    }
    let file = File::open(path).map_err(|e| unreadable(path, e))?;
    let mut digesting = Digesting {
        inner: file,
        hasher: Sha256::new(),
    };
    let line_at = |position| line_in_file(path, position);
    let reader = BufReader::with_capacity(STREAM_BUFFER_BYTES, &mut digesting);
    let count =
        statements::read_each(format, reader, &line_at, &mut |_| Ok(())).map_err(|e| not_valid(path, format, &e))?;
    let digest = hex::encode(digesting.hasher.finalize());
    let source = Source::Stream {
        entries: stream_entries(path.to_owned(), format),
        read: 0,
        in_text,
        bytes_per_entry: bytes / count.max(1),
        file: path.to_owned(),
        format,
    };
    Ok((source, bytes, digest))
}

/// The statement's entries, read on a thread of their own and sent as they come, a bounded
/// number ahead of the judging; the reading stops when the receiver is dropped.
fn stream_entries(path: PathBuf, format: Format) -> mpsc::Receiver<Result<StatementLine, StatementError>> {
    let (tx, rx) = mpsc::channel(STREAMED_ENTRIES_AHEAD);
    std::thread::spawn(move || {
        let read = File::open(&path).map_err(|e| StatementError::new("file", e.to_string()));
        let result = read.and_then(|file| {
            let line_at = |position| line_in_file(&path, position);
            let reader = BufReader::with_capacity(STREAM_BUFFER_BYTES, file);
            statements::read_each(format, reader, &line_at, &mut |entry| {
                tx.blocking_send(Ok(entry))
                    .map_err(|_| StatementError::new("file", "the judging stopped"))
            })
        });
        if let Err(e) = result {
            let _ = tx.blocking_send(Err(e));
        }
    });
    rx
}

/// A CSV file opened at its header, and where its columns are; with the file's SHA-256.
pub(super) fn csv_source(args: &ReconcileArgs) -> Result<(Source, u64, String), Failure> {
    if args.currency_column.is_none() && args.currency.is_none() {
        return Err(Failure(
            "name the file's currency column (--currency-column) or its one currency (--currency)".into(),
        ));
    }
    let file = File::open(&args.file).map_err(|e| Failure(format!("cannot read {}: {e}", args.file.display())))?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bounded = BoundedRecords::new(file, CSV_RECORD_BYTES_MAX);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bounded);
    let header = reader
        .headers()
        .map_err(|e| Failure(format!("{}: cannot read the header: {e}", args.file.display())))?
        .clone();
    if header.is_empty() || header.iter().all(str::is_empty) {
        return Err(Failure(format!("{} is empty: it has no header", args.file.display())));
    }
    let columns = Columns::of(&header, args)?;
    let read = reader.position().byte();
    let record = csv::StringRecord::new();
    let digest = super::keep::file_digest(&args.file)?;
    Ok((
        Source::Csv {
            reader,
            columns,
            record,
            read,
        },
        bytes,
        digest,
    ))
}
