//! A write's rows as one statement. Each row write is a data-modifying CTE; the statement
//! returns each CTE's row count, checked here. Sent without BEGIN when the write read nothing
//! first (report_payment), it is the whole transaction in one round trip, where a statement
//! per row plus BEGIN and COMMIT took seven (issue 18).
//!
//! The idempotency key's row is one of the CTEs. When the key turns out to be live (another
//! request's result, possibly another replica's that just committed), the statement ends in
//! `payrec_key_saved`'s error, so none of its rows are kept; the caller then replays what is
//! saved under the key.

use sqlx::postgres::{PgArguments, PgDatabaseError, PgExecutor};
use sqlx::{Arguments, Encode, Postgres, Type};

use crate::store::StoreError;

/// The SQLSTATE `payrec_key_saved` raises (migration 0007).
const KEY_TAKEN: &str = "PR001";

/// What a CTE's row count must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rows {
    /// Any number (an insert that errors rather than skip, or a count nobody needs).
    Any,
    /// Exactly one: an update of a row the write has locked.
    One,
    /// Queued webhook deliveries: counted, so the worker is woken after the commit.
    Deliveries,
    /// The idempotency key's row: none means the key is taken.
    Key,
}

/// What running a batch found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Ran {
    pub deliveries: u64,
    /// Each part's row count, in order.
    pub counts: Vec<i64>,
}

/// The batch's outcome when the key was live: nothing was written.
#[derive(Debug)]
pub(super) enum BatchError {
    KeyTaken,
    Store(StoreError),
}

impl From<sqlx::Error> for BatchError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.try_downcast_ref::<PgDatabaseError>().map(|d| d.code()) == Some(KEY_TAKEN)
        {
            return BatchError::KeyTaken;
        }
        BatchError::Store(e.into())
    }
}

/// Row writes waiting to be sent, with their parameters.
#[derive(Default)]
pub(super) struct Batch {
    /// Each CTE's body (ending in `RETURNING`), and what its count must be.
    parts: Vec<(String, Rows)>,
    args: PgArguments,
    binds: usize,
    /// The first parameter that could not be encoded.
    bind_error: Option<String>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Adds a parameter; returns its placeholder.
    pub fn bind<'q, T: 'q + Encode<'q, Postgres> + Type<Postgres>>(&mut self, value: T) -> String {
        if let Err(e) = self.args.add(value) {
            self.bind_error.get_or_insert(e.to_string());
        }
        self.binds += 1;
        format!("${}", self.binds)
    }

    /// The name the next part's CTE will have, for a part that reads an earlier one.
    pub fn next_name(&self) -> String {
        format!("p{}", self.parts.len())
    }

    /// Adds one CTE: `body` is a data-modifying statement ending in `RETURNING …`.
    pub fn push(&mut self, body: String, rows: Rows) {
        self.parts.push((body, rows));
    }

    /// The statement: every part as a CTE, then their counts, in order.
    fn statement(&self) -> String {
        let mut sql = String::from("WITH ");
        let mut counts = Vec::with_capacity(self.parts.len());
        for (i, (body, rows)) in self.parts.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("p{i} AS ({body})"));
            counts.push(match rows {
                Rows::Key => format!("payrec_key_saved((SELECT count(*) FROM p{i}))"),
                _ => format!("(SELECT count(*) FROM p{i})"),
            });
        }
        sql.push_str(&format!(" SELECT ARRAY[{}]::bigint[]", counts.join(", ")));
        sql
    }

    /// Sends the parts as one statement on `executor` (a transaction, or the pool: then the
    /// statement is its own transaction) and checks their counts. Leaves the batch empty.
    pub async fn run<'e>(&mut self, executor: impl PgExecutor<'e>) -> Result<Ran, BatchError> {
        let batch = std::mem::take(self);
        if batch.parts.is_empty() {
            return Ok(Ran::default());
        }
        if let Some(e) = batch.bind_error {
            return Err(BatchError::Store(StoreError::Database(format!("a parameter: {e}"))));
        }
        let sql = batch.statement();
        let counts: Vec<i64> = sqlx::query_scalar_with(&sql, batch.args).fetch_one(executor).await?;
        assert_eq!(counts.len(), batch.parts.len(), "a count per part");
        let mut deliveries = 0;
        for ((body, rows), n) in batch.parts.iter().zip(&counts) {
            match rows {
                Rows::One => assert_eq!(*n, 1, "one row: {body}"),
                Rows::Deliveries => deliveries += *n as u64,
                Rows::Any | Rows::Key => {}
            }
        }
        Ok(Ran { deliveries, counts })
    }
}
