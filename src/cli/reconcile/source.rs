//! Where `payrec reconcile`'s lines come from: a CSV file read as it goes, or a bank
//! statement read and checked whole before anything is judged.

use std::fs::File;

use super::statement;
use super::{Columns, parse_line};
use crate::cli::Failure;
use crate::cli::args::ReconcileArgs;
use crate::cli::csv_bound::{BoundedRecords, CSV_RECORD_BYTES_MAX};
use crate::reconcile::FileLine;
use crate::statements::{Format, StatementLine};
use crate::store::ledger::REFERENCES_PER_LOOKUP_MAX;

/// Where the lines come from: a CSV read as it goes, or a statement's entries, checked whole.
pub(super) enum Source {
    Csv {
        reader: csv::Reader<BoundedRecords<File>>,
        columns: Columns,
        record: csv::StringRecord,
        read: u64,
    },
    Statement {
        entries: std::iter::Enumerate<std::vec::IntoIter<StatementLine>>,
        /// Words of an entry's free text are tried as references (`Rules::references`).
        in_text: bool,
        /// Bytes of the file per entry, for the progress line.
        bytes_per_entry: u64,
    },
}

impl Source {
    /// Fills `batch` up to `REFERENCES_PER_LOOKUP_MAX` lines; answers whether more may follow
    /// and the bytes of the file read for them.
    pub(super) fn fill(&mut self, batch: &mut Vec<FileLine>, args: &ReconcileArgs) -> Result<(bool, u64), Failure> {
        match self {
            Source::Statement {
                entries,
                in_text,
                bytes_per_entry,
            } => {
                for (i, entry) in entries.by_ref().take(REFERENCES_PER_LOOKUP_MAX - batch.len()) {
                    batch.push(statement::file_line(entry, i as u64 + 1, *in_text));
                }
                let more = batch.len() == REFERENCES_PER_LOOKUP_MAX;
                Ok((more, batch.len() as u64 * *bytes_per_entry))
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
    let n = std::io::Read::read(&mut file, &mut head).map_err(|e| Failure(e.to_string()))?;
    Ok(Format::sniff(&head[..n]))
}

/// A statement read and checked whole: an entry that cannot be read stops everything (exit 2).
pub(super) fn statement_source(args: &ReconcileArgs, format: Format, in_text: bool) -> Result<(Source, u64), Failure> {
    let file = args.file.display();
    let bytes = std::fs::metadata(&args.file)
        .map_err(|e| Failure(format!("cannot read {file}: {e}")))?
        .len();
    if bytes > statement::STATEMENT_FILE_BYTES_MAX {
        return Err(Failure(format!(
            "{file} is larger than {} bytes",
            statement::STATEMENT_FILE_BYTES_MAX
        )));
    }
    let text = std::fs::read(&args.file).map_err(|e| Failure(format!("cannot read {file}: {e}")))?;
    let entries = crate::statements::parse(format, &text)
        .map_err(|e| Failure(format!("{file}: not a valid {} statement: {e}", format.as_str())))?;
    let bytes_per_entry = bytes / (entries.len() as u64).max(1);
    let entries = entries.into_iter().enumerate();
    Ok((
        Source::Statement {
            entries,
            in_text,
            bytes_per_entry,
        },
        bytes,
    ))
}

/// A CSV file opened at its header, and where its columns are.
pub(super) fn csv_source(args: &ReconcileArgs) -> Result<(Source, u64), Failure> {
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
    Ok((
        Source::Csv {
            reader,
            columns,
            record,
            read,
        },
        bytes,
    ))
}
