//! `payrec export`: one tenant's objects as CSV or JSON Lines, to stdout or a file, streamed
//! (`crate::export`) so memory stays constant. A file is written beside its name and renamed
//! into place when complete, so an interrupted export leaves no partial file behind.

use std::io::Write;

use futures_util::StreamExt;

use super::args::{ExportArgs, ServeArgs};
use super::output::{check_output_path, create_output_file};
use super::progress::Progress;
use super::{Failure, open_store, tenant_of};
use crate::export::{Selection, export};
use crate::store::RecordFilter;

pub async fn export_command(database_url: &str, args: &ExportArgs) -> Result<(), Failure> {
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
    let (mut out, partial): (Box<dyn Write + Send>, _) = match &args.output {
        Some(path) => {
            let mut partial = path.as_os_str().to_owned();
            partial.push(".partial");
            let partial = std::path::PathBuf::from(partial);
            let file = create_output_file(&partial, database_url)?;
            (Box::new(std::io::BufWriter::new(file)), Some(partial))
        }
        None => (
            Box::new(std::io::BufWriter::with_capacity(1 << 16, std::io::stdout())),
            None,
        ),
    };
    let mut progress = Progress::new(args.object.name(), None);
    let mut chunks = std::pin::pin!(export(store, selection, args.format.into()));
    let mut objects = 0u64;
    let finished: Result<(), Failure> = loop {
        let next = tokio::select! {
            next = chunks.next() => next,
            _ = tokio::signal::ctrl_c() => break Err(Failure("interrupted".into())),
        };
        let Some(chunk) = next else { break Ok(()) };
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => break Err(Failure(format!("export failed: {e}"))),
        };
        if let Err(e) = out.write_all(&chunk.bytes) {
            break Err(Failure(format!("cannot write the export: {e}")));
        }
        objects += chunk.objects as u64;
        progress.advance(chunk.objects as u64);
    };
    let finished = finished.and_then(|()| {
        out.flush()
            .map_err(|e| Failure(format!("cannot write the export: {e}")))
    });
    drop(out);
    let seconds = progress.elapsed().as_secs_f64();
    progress.finish();
    match (finished, &args.output, partial) {
        (Ok(()), Some(path), Some(partial)) => {
            std::fs::rename(&partial, path).map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "payrec: exported {objects} {} to {} in {seconds:.1} s",
                args.object.name(),
                path.display()
            );
            Ok(())
        }
        (Ok(()), _, _) => {
            eprintln!("payrec: exported {objects} {} in {seconds:.1} s", args.object.name());
            Ok(())
        }
        (Err(e), _, Some(partial)) => {
            let _ = std::fs::remove_file(partial);
            Err(Failure(format!(
                "{} after {objects} {}; no file was written",
                e.0,
                args.object.name()
            )))
        }
        (Err(e), _, None) => Err(Failure(format!(
            "{} after {objects} {}: the output stops short",
            e.0,
            args.object.name()
        ))),
    }
}
