//! The ledger's data out: the objects of one tenant, as CSV with stable named columns or as
//! JSON Lines of exactly the API's objects, streamed page by page (keyset pages of
//! `EXPORT_PAGE_SIZE`), so memory stays constant however many objects there are. `payrec
//! export` and the dashboard's CSV download are this one stream.

use std::sync::Arc;

use futures_util::Stream;

use crate::records::model::{PaymentAttemptRecord, PaymentRecord, Refund};
use crate::records::render;
use crate::store::{EventQuery, ExportQuery, ListError, ListQuery, RecordFilter, Store, StoreError, Tenant};

mod columns;

pub use columns::{from_spreadsheet, safe_cells};

pub use columns::{ATTEMPT_COLUMNS, EVENT_COLUMNS, RECORD_COLUMNS, REFUND_COLUMNS};

/// Objects read from the store per page (and written per chunk).
pub const EXPORT_PAGE_SIZE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the export's cursor vanished: a record was deleted while exporting")]
    CursorLost,
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// One exported chunk: the bytes of up to `EXPORT_PAGE_SIZE` records (the first chunk of a
/// CSV export starts with the header), and how many records it holds.
#[derive(Debug)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    pub objects: usize,
}

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportObject {
    PaymentRecords,
    PaymentAttemptRecords,
    Refunds,
    Events,
}

/// One page of objects, ready to encode.
enum Objects {
    Records(Vec<PaymentRecord>),
    Attempts(Vec<PaymentAttemptRecord>),
    Refunds(Vec<Refund>),
    /// Events as their JSON.
    Events(Vec<serde_json::Value>),
}

impl Objects {
    fn len(&self) -> usize {
        match self {
            Objects::Records(v) => v.len(),
            Objects::Attempts(v) => v.len(),
            Objects::Refunds(v) => v.len(),
            Objects::Events(v) => v.len(),
        }
    }

    fn header(&self) -> &'static [&'static str] {
        match self {
            Objects::Records(_) => &RECORD_COLUMNS,
            Objects::Attempts(_) => &ATTEMPT_COLUMNS,
            Objects::Refunds(_) => &REFUND_COLUMNS,
            Objects::Events(_) => &EVENT_COLUMNS,
        }
    }

    fn encode(&self, format: Format, header: bool) -> Result<Vec<u8>, ExportError> {
        let mut out = Vec::with_capacity(self.len() * 1024);
        match format {
            Format::Jsonl => {
                match self {
                    Objects::Records(v) => v.iter().for_each(|r| json_line(&mut out, &render::record(r, None))),
                    Objects::Attempts(v) => v.iter().for_each(|a| json_line(&mut out, &render::attempt(a, None))),
                    Objects::Refunds(v) => v.iter().for_each(|r| json_line(&mut out, &columns::refund_json(r))),
                    Objects::Events(v) => v.iter().for_each(|e| json_line(&mut out, e)),
                }
                Ok(out)
            }
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                if header {
                    w.write_record(self.header())?;
                }
                match self {
                    Objects::Records(v) => v
                        .iter()
                        .try_for_each(|r| w.write_record(safe_cells(&columns::record_row(r))))?,
                    Objects::Attempts(v) => v
                        .iter()
                        .try_for_each(|a| w.write_record(safe_cells(&columns::attempt_row(a))))?,
                    Objects::Refunds(v) => v
                        .iter()
                        .try_for_each(|r| w.write_record(safe_cells(&columns::refund_row(r))))?,
                    Objects::Events(v) => v
                        .iter()
                        .try_for_each(|e| w.write_record(safe_cells(&columns::event_row(e))))?,
                }
                w.into_inner().map_err(|e| ExportError::Csv(e.into_error().into()))
            }
        }
    }
}

fn json_line(out: &mut Vec<u8>, value: &impl serde::Serialize) {
    serde_json::to_writer(&mut *out, value).expect("views serialize");
    out.push(b'\n');
}

/// Where an export is: the next page's cursor.
struct Cursor {
    store: Arc<dyn Store>,
    tenant: Tenant,
    object: ExportObject,
    filter: RecordFilter,
    created_from: Option<i64>,
    created_until: Option<i64>,
    format: Format,
    after: Option<String>,
    first: bool,
    done: bool,
}

impl Cursor {
    /// The next page, and the cursor after it (None at the end).
    async fn page(&self) -> Result<(Objects, Option<String>), ExportError> {
        let list = ListQuery {
            limit: EXPORT_PAGE_SIZE,
            starting_after: self.after.clone(),
            ending_before: None,
            created_after: self.created_from.map(|t| t.saturating_sub(1)),
            created_before: self.created_until,
        };
        let keyset = ExportQuery {
            after: self.after.clone(),
            created_from: self.created_from,
            created_until: self.created_until,
            limit: EXPORT_PAGE_SIZE,
        };
        let full = |n: usize| n == EXPORT_PAGE_SIZE;
        let lost = |e: ListError| match e {
            ListError::UnknownCursor => ExportError::CursorLost,
            ListError::Store(e) => e.into(),
        };
        Ok(match self.object {
            ExportObject::PaymentRecords => {
                let page = self
                    .store
                    .list_records_where(&self.tenant, &list, &self.filter)
                    .await
                    .map_err(lost)?;
                let next = page
                    .data
                    .last()
                    .filter(|_| page.has_more)
                    .map(|r| r.id.as_str().to_owned());
                (Objects::Records(page.data), next)
            }
            ExportObject::PaymentAttemptRecords => {
                let rows = self.store.export_attempts(&self.tenant, &keyset).await?;
                let next = rows
                    .last()
                    .filter(|_| full(rows.len()))
                    .map(|a| a.id.as_str().to_owned());
                (Objects::Attempts(rows), next)
            }
            ExportObject::Refunds => {
                let rows = self.store.export_refunds(&self.tenant, &keyset).await?;
                let next = rows
                    .last()
                    .filter(|_| full(rows.len()))
                    .map(|r| r.refund_reference.clone());
                (Objects::Refunds(rows), next)
            }
            ExportObject::Events => {
                let query = EventQuery {
                    page: list,
                    ..EventQuery::default()
                };
                let page = self.store.list_events(&self.tenant, &query).await.map_err(lost)?;
                let events: Vec<serde_json::Value> = page
                    .data
                    .iter()
                    .map(|e| serde_json::from_str(e).map_err(|e| StoreError::Corrupt(format!("an event: {e}"))))
                    .collect::<Result<_, _>>()?;
                let next = events
                    .last()
                    .filter(|_| page.has_more)
                    .and_then(|e| e["id"].as_str().map(str::to_owned));
                (Objects::Events(events), next)
            }
        })
    }
}

/// Which objects of a tenant an export holds.
#[derive(Debug, Clone)]
pub struct Selection {
    pub tenant: Tenant,
    pub object: ExportObject,
    /// Payment records only: the dashboard's filters.
    pub filter: RecordFilter,
    /// `created >= created_from`.
    pub created_from: Option<i64>,
    /// `created < created_until`.
    pub created_until: Option<i64>,
}

/// The selected objects as chunks of `format`, one page each: records and events newest first,
/// attempts by id, refunds by reference. A CSV export of nothing is its header alone.
pub fn export(
    store: Arc<dyn Store>,
    selection: Selection,
    format: Format,
) -> impl Stream<Item = Result<Chunk, ExportError>> + Send {
    let cursor = Cursor {
        store,
        tenant: selection.tenant,
        object: selection.object,
        filter: selection.filter,
        created_from: selection.created_from,
        created_until: selection.created_until,
        format,
        after: None,
        first: true,
        done: false,
    };
    futures_util::stream::unfold(cursor, |mut c| async move {
        if c.done {
            return None;
        }
        let chunk = match c.page().await {
            Ok((objects, next)) => {
                c.done = next.is_none();
                c.after = next;
                objects.encode(c.format, c.first).map(|bytes| Chunk {
                    bytes,
                    objects: objects.len(),
                })
            }
            Err(e) => {
                c.done = true;
                Err(e)
            }
        };
        c.first = false;
        Some((chunk, c))
    })
}
