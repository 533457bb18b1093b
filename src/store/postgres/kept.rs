//! Connections kept out of sqlx's pool for the hot statements: a retrieve, a list page, the
//! one statement of a write that reads nothing first. sqlx (0.8) tests every connection
//! handed back to its pool with a round trip of its own (a Sync, awaited), so a pooled
//! statement cost two round trips; a kept connection goes back on this list without one
//! (issue 18: PostgreSQL retrieve, BENCHMARKS.md).
//!
//! Only a connection whose statements completed comes back here (`KeptConnection::done`).
//! One dropped otherwise (a statement failed, or the request was abandoned mid-flight when
//! its client went away) goes back to sqlx's pool, whose test on return reads what the
//! connection still owes, or discards a broken one. Kept connections count against the pool's
//! size, so at most half of it is kept; each returns to the pool after `KEPT_FOR_AT_MOST`, so
//! the pool's own lifetime and idle rules still apply to it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::Postgres;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool};

use crate::store::StoreError;

/// How long a connection stays kept before it goes back through sqlx's pool once.
const KEPT_FOR_AT_MOST: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub(super) struct KeptConnections {
    pool: PgPool,
    idle: Mutex<Vec<Kept>>,
    idle_max: usize,
}

#[derive(Debug)]
struct Kept {
    conn: PoolConnection<Postgres>,
    since: Instant,
}

impl KeptConnections {
    /// Keeps up to half of `pool`'s connections, at least one.
    pub fn new(pool: PgPool) -> Self {
        let idle_max = (pool.options().get_max_connections() as usize / 2).max(1);
        KeptConnections {
            pool,
            idle: Mutex::new(Vec::with_capacity(idle_max)),
            idle_max,
        }
    }

    /// A kept connection, or one taken from the pool (which waits up to its acquire timeout).
    pub async fn take(&self) -> Result<KeptConnection<'_>, StoreError> {
        let kept = self.idle.lock().expect("kept connections lock").pop();
        let kept = match kept {
            Some(kept) => kept,
            None => Kept {
                conn: self.pool.acquire().await?,
                since: Instant::now(),
            },
        };
        Ok(KeptConnection {
            kept: Some(kept),
            owner: self,
        })
    }

    fn give_back(&self, kept: Kept) {
        if kept.since.elapsed() >= KEPT_FOR_AT_MOST {
            return; // dropped: back to the pool
        }
        let mut idle = self.idle.lock().expect("kept connections lock");
        if idle.len() < self.idle_max {
            idle.push(kept);
        }
    }
}

/// A connection in use. `done` keeps it; dropped without `done`, it goes back to sqlx's pool.
#[derive(Debug)]
pub(super) struct KeptConnection<'k> {
    kept: Option<Kept>,
    owner: &'k KeptConnections,
}

impl KeptConnection<'_> {
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.kept.as_mut().expect("a connection until done").conn
    }

    /// Its statements completed: the connection owes nothing and can be kept.
    pub fn done(mut self) {
        if let Some(kept) = self.kept.take() {
            self.owner.give_back(kept);
        }
    }
}
