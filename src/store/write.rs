//! The one write path every backend shares. A `Write` is data: one resource's mutation, the
//! tenant, and optionally the idempotency key to save with it. In one transaction the path
//! claims the key, applies the mutation (each resource's own code, loading and locking what it
//! changes through its rows role), and saves the key with its rendered response. Backends
//! supply the SQL (`WriteOps`, composed of each resource's rows role) and the transaction.
//!
//! A backend queues writes of every resource together (SQLite's single writer), so it sees them
//! as `AnyWrite`; `TypedWrites::write` hands each caller its own resource's result back.

use std::any::Any;
use std::fmt::Debug;
use std::future::Future;

use async_trait::async_trait;

use super::endpoints::EndpointRows;
use super::events::EventRows;
use super::idempotency::{IdempotencyRow, IdempotencyRows, SavedIdempotent, SavedResponse};
use super::reconciliation::ReconciliationRows;
use super::records::RecordRows;
use super::reset::ResetRows;
use super::{StoreError, Tenant};
use crate::events::EventDraft;
use crate::events::render::{EventRequest, NewEvent, new_event, new_event_id};

/// Row-level operations inside one open transaction: every resource's rows role. A new
/// resource adds its role here, the one line that composes them.
pub trait WriteOps:
    IdempotencyRows + RecordRows + EventRows + EndpointRows + ResetRows + ReconciliationRows + Send
{
}

impl<T: IdempotencyRows + RecordRows + EventRows + EndpointRows + ResetRows + ReconciliationRows + Send> WriteOps
    for T
{
}

/// Where and when a write happens: what its events are stamped with.
#[derive(Debug, Clone, Copy)]
pub struct WriteContext<'a> {
    pub tenant: &'a Tenant,
    /// The request, named by the events the write emits.
    pub request: &'a EventRequest,
    /// The time of the request (seconds): when its events were created.
    pub now: i64,
}

impl WriteContext<'_> {
    /// The events of `drafts`, rendered and packed.
    pub fn render_events(&self, drafts: &[EventDraft]) -> Vec<PackedEvent> {
        drafts
            .iter()
            .map(|draft| {
                let tenant = self.tenant;
                new_event(
                    new_event_id(),
                    draft,
                    &tenant.account_id,
                    tenant.livemode,
                    self.now,
                    self.request,
                )
                .into()
            })
            .collect()
    }
}

/// One resource's mutation, as the write path applies it.
#[async_trait]
pub trait Mutation: Clone + Debug + Send + Sync + 'static {
    /// What the mutation did, in the resource's own terms. Everything the path returns as `Ok`
    /// is committed (with its idempotency key, if any): a missing object and a broken rule are
    /// answers, saved like successes.
    type Done: Clone + Debug + PartialEq + Send + Sync + 'static;

    /// Work that needs no stored state, done on the caller's task before the write is queued,
    /// so that a backend with a serial write path (the SQLite writer) does not.
    fn prepare(&mut self, _at: &WriteContext<'_>) {}

    /// Whether the mutation reads rows it wrote earlier in the same write (a backend that
    /// sends a write's rows together must then send each at once).
    fn reads_its_own_rows(&self) -> bool {
        false
    }

    /// Applies the mutation inside the open transaction.
    async fn apply(self, rows: &mut dyn WriteOps, at: &WriteContext<'_>) -> Result<Self::Done, StoreError>;
}

/// Renders the response saved under an idempotency key, inside the write's transaction, so a
/// replay answers the same bytes. A plain function of the result and the `expand[]` paths the
/// request asked for; the HTTP layer renders unkeyed responses with the same function.
pub type RenderSaved<D> = fn(&D, &[&'static str]) -> SavedResponse;

/// The idempotency key to save in the same transaction as the mutation it guards.
#[derive(Debug, Clone)]
pub struct IdempotencySave<D> {
    pub row: IdempotencyRow,
    pub render: RenderSaved<D>,
    pub expand: Vec<&'static str>,
}

/// One mutation, applied in one transaction.
#[derive(Debug, Clone)]
pub struct Write<M: Mutation> {
    pub tenant: Tenant,
    pub mutation: M,
    /// The key to save the response under, when the request carried one.
    pub idempotency: Option<IdempotencySave<M::Done>>,
    pub request: EventRequest,
    pub now: i64,
}

impl<M: Mutation> Write<M> {
    /// A write no API request asked for (a job, a command, a dashboard form): no idempotency
    /// key, its events' `request` null, at the time it is made.
    pub fn without_request(tenant: Tenant, mutation: M) -> Self {
        Write {
            tenant,
            mutation,
            idempotency: None,
            request: EventRequest {
                request_id: None,
                idempotency_key: None,
            },
            now: crate::clock::unix_now(),
        }
    }
}

/// What a write produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome<D> {
    /// Executed and committed; `saved` is the response saved under the idempotency key, if any.
    Executed { result: D, saved: Option<SavedResponse> },
    /// The idempotency key was saved by another request first; this is its result.
    AlreadySaved(SavedIdempotent),
}

impl<D> WriteOutcome<D> {
    fn map<E>(self, f: impl FnOnce(D) -> E) -> WriteOutcome<E> {
        match self {
            WriteOutcome::Executed { result, saved } => WriteOutcome::Executed {
                result: f(result),
                saved,
            },
            WriteOutcome::AlreadySaved(saved) => WriteOutcome::AlreadySaved(saved),
        }
    }
}

/// A result of any resource, as a backend holds it until its commit.
pub type AnyDone = Box<dyn Any + Send>;

/// A write of any resource, as a backend queues and applies it.
#[async_trait]
pub trait AnyWrite: Debug + Send + Sync {
    fn tenant(&self) -> &Tenant;
    /// The idempotency key it saves, if any.
    fn idempotency_key(&self) -> Option<&str>;
    /// `Mutation::prepare`.
    fn prepare(&mut self);
    /// `Mutation::reads_its_own_rows`.
    fn reads_its_own_rows(&self) -> bool;
    /// Applies the write inside the caller's open transaction. An `AlreadySaved` outcome must
    /// be rolled back by the caller (a lazy claim may have found the key taken after writing).
    /// Takes `&self`: a backend may run a write again (in a savepoint, after another failed).
    async fn apply(&self, rows: &mut dyn WriteOps) -> Result<WriteOutcome<AnyDone>, StoreError>;
}

#[async_trait]
impl<M: Mutation> AnyWrite for Write<M> {
    fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    fn idempotency_key(&self) -> Option<&str> {
        self.idempotency.as_ref().map(|idem| idem.row.key.as_str())
    }

    fn prepare(&mut self) {
        let at = WriteContext {
            tenant: &self.tenant,
            request: &self.request,
            now: self.now,
        };
        self.mutation.prepare(&at);
    }

    fn reads_its_own_rows(&self) -> bool {
        self.mutation.reads_its_own_rows()
    }

    async fn apply(&self, rows: &mut dyn WriteOps) -> Result<WriteOutcome<AnyDone>, StoreError> {
        let outcome = apply(rows, self).await?;
        Ok(outcome.map(|done| Box::new(done) as AnyDone))
    }
}

/// The typed write path: claim the key, apply, render and save the key's response.
async fn apply<M: Mutation>(rows: &mut dyn WriteOps, write: &Write<M>) -> Result<WriteOutcome<M::Done>, StoreError> {
    let tenant = &write.tenant;
    if let Some(idem) = &write.idempotency
        && let Some(saved) = rows.claim_key(tenant, &idem.row).await?
    {
        return Ok(WriteOutcome::AlreadySaved(saved));
    }
    let at = WriteContext {
        tenant,
        request: &write.request,
        now: write.now,
    };
    let result = write.mutation.clone().apply(rows, &at).await?;
    let mut saved = None;
    if let Some(idem) = &write.idempotency {
        let response = (idem.render)(&result, &idem.expand);
        if let Some(taken) = rows.finish_key(tenant, &idem.row, &response).await? {
            return Ok(WriteOutcome::AlreadySaved(taken));
        }
        saved = Some(response);
    }
    Ok(WriteOutcome::Executed { result, saved })
}

/// The writes role: what a backend does with a write of any resource.
#[async_trait]
pub trait Writes: Send + Sync {
    /// Applies one write and saves its idempotency key, in one transaction.
    async fn write_any(&self, write: Box<dyn AnyWrite>) -> Result<WriteOutcome<AnyDone>, StoreError>;
}

/// Writes of one resource, with that resource's result back.
pub trait TypedWrites {
    fn write<M: Mutation>(
        &self,
        write: Write<M>,
    ) -> impl Future<Output = Result<WriteOutcome<M::Done>, StoreError>> + Send;
}

impl<S: Writes + ?Sized> TypedWrites for S {
    async fn write<M: Mutation>(&self, write: Write<M>) -> Result<WriteOutcome<M::Done>, StoreError> {
        let outcome = self.write_any(Box::new(write)).await?;
        Ok(outcome.map(|done| {
            *done
                .downcast::<M::Done>()
                .expect("a backend answers each write with its own mutation's result")
        }))
    }
}

/// An event as stored: its head packed (`store::doc::pack`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedEvent {
    pub id: String,
    pub kind: crate::events::EventType,
    pub created: i64,
    pub record_id: String,
    pub head: Vec<u8>,
    pub tail: String,
}

impl From<NewEvent> for PackedEvent {
    fn from(e: NewEvent) -> Self {
        PackedEvent {
            head: super::doc::pack(&e.head),
            id: e.id,
            kind: e.kind,
            created: e.created,
            record_id: e.record_id,
            tail: e.tail,
        }
    }
}
