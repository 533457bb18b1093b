//! `payrec export`: one tenant's objects as CSV or JSON Lines, to stdout or a file, streamed
//! (`crate::export`) so memory stays constant. A file is written beside its name and renamed
//! into place when complete, so an interrupted export leaves no partial file behind.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::args::{ExportArgs, ServeArgs};
use super::output::{check_output_path, create_output_file};
use super::progress::Progress;
use super::run::{Counting, DataCommand, Interrupt, run};
use super::{Failure, open_store, tenant_of};
use crate::export::{Selection, export};
use crate::store::{RecordFilter, Store};

pub async fn export_command(database_url: &str, args: &ExportArgs) -> Result<(), Failure> {
    run(&ExportCommand { args }, database_url).await.map(|_| ())
}

struct ExportCommand<'a> {
    args: &'a ExportArgs,
}

/// The store, what to export, and where it goes.
struct ExportJob {
    store: Arc<dyn Store>,
    selection: Selection,
    out: Box<dyn Write + Send>,
    /// The file written until it is complete (`--output`).
    partial: Option<PathBuf>,
}

/// How far the export came.
struct Exported {
    objects: u64,
    finished: Result<(), Failure>,
    partial: Option<PathBuf>,
}

impl DataCommand for ExportCommand<'_> {
    type Job = ExportJob;
    type Outcome = Exported;

    async fn open(&self, database_url: &str) -> Result<(ExportJob, Option<u64>), Failure> {
        let args = self.args;
        if let (Some(from), Some(until)) = (args.created_after, args.created_before)
            && from >= until
        {
            return Err(Failure("--created-after must be before --created-before".into()));
        }
        if let Some(path) = &args.output {
            check_output_path(path, database_url)?;
        }
        let store = open_store(database_url, &ServeArgs::default()).await?;
        let tenant = tenant_of(store.as_ref(), args.account.as_deref(), args.mode).await?;
        let selection = Selection {
            tenant,
            object: args.object.into(),
            filter: RecordFilter::default(),
            created_from: args.created_after,
            created_until: args.created_before,
        };
        let (out, partial): (Box<dyn Write + Send>, _) = match &args.output {
            Some(path) => {
                let mut partial = path.as_os_str().to_owned();
                partial.push(".partial");
                let partial = PathBuf::from(partial);
                let file = create_output_file(&partial, database_url)?;
                (Box::new(std::io::BufWriter::new(file)), Some(partial))
            }
            None => (
                Box::new(std::io::BufWriter::with_capacity(1 << 16, std::io::stdout())),
                None,
            ),
        };
        let job = ExportJob {
            store,
            selection,
            out,
            partial,
        };
        Ok((job, None))
    }

    fn counting(&self) -> Counting {
        Counting {
            verb: "exporting",
            noun: self.args.object.name(),
        }
    }

    async fn run(&self, job: ExportJob, progress: &mut Progress, interrupt: &Interrupt) -> Exported {
        let ExportJob {
            store,
            selection,
            mut out,
            partial,
        } = job;
        let mut chunks = std::pin::pin!(export(store, selection, self.args.format.into()));
        let mut objects = 0u64;
        let finished = loop {
            if interrupt.requested() {
                break Err(Failure("interrupted".into()));
            }
            let chunk = match chunks.next().await {
                None => break Ok(()),
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => break Err(Failure(format!("export failed: {e}"))),
            };
            if let Err(e) = out.write_all(&chunk.bytes) {
                break Err(Failure(format!("cannot write the export: {e}")));
            }
            objects += chunk.objects as u64;
            progress.advance(chunk.objects as u64, chunk.bytes.len() as u64);
        };
        let finished = finished.and_then(|()| {
            out.flush()
                .map_err(|e| Failure(format!("cannot write the export: {e}")))
        });
        Exported {
            objects,
            finished,
            partial,
        }
    }

    fn summary(&self, outcome: Exported, elapsed: Duration) -> Result<bool, Failure> {
        let Exported {
            objects,
            finished,
            partial,
        } = outcome;
        let (what, seconds) = (self.args.object.name(), elapsed.as_secs_f64());
        match (finished, &self.args.output, partial) {
            (Ok(()), Some(path), Some(partial)) => {
                std::fs::rename(&partial, path)
                    .map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))?;
                eprintln!(
                    "payrec: exported {objects} {what} to {} in {seconds:.1} s",
                    path.display()
                );
                Ok(true)
            }
            (Ok(()), _, _) => {
                eprintln!("payrec: exported {objects} {what} in {seconds:.1} s");
                Ok(true)
            }
            (Err(e), _, Some(partial)) => {
                let _ = std::fs::remove_file(partial);
                Err(Failure(format!("{} after {objects} {what}; no file was written", e.0)))
            }
            (Err(e), _, None) => Err(Failure(format!(
                "{} after {objects} {what}: the output stops short",
                e.0
            ))),
        }
    }
}
