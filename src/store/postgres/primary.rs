//! Following the writable primary among the URL's hosts (`hosts`), without a restart or a
//! proxy. A watcher probes the current primary every `PROBE_INTERVAL` on a connection of its
//! own; when the probe fails, times out (a hung server) or finds the server read-only (a
//! standby, or a primary demoted), every host is asked at once which one is writable. While
//! none is, requests fail at once with a 503 (no wait for a pool that cannot connect); when
//! one is, the store serves it from a pool of its own. The old pool is closed: its connections,
//! perhaps stuck on a hung server, never serve again.

use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use tokio::sync::Notify;

use super::hosts::Host;
use super::kept::KeptConnections;
use crate::store::StoreError;

/// How often the current primary is asked whether it is still writable.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// A probe (or a host's answer while searching) not given within this is a failure: a hung
/// server answers nothing.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Between two searches over the hosts while none is writable.
pub const SEARCH_INTERVAL: Duration = Duration::from_millis(100);
/// How long an old pool is given to close once another serves.
const OLD_POOL_CLOSE_MAX: Duration = Duration::from_secs(5);

/// Whether the session can write: false on a standby (in recovery) and on a server made
/// read-only.
const READ_ONLY: &str = "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'";

/// How each host's pool is made.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

/// The primary being served: its host, and the pool and kept connections to it.
#[derive(Debug)]
pub struct Serving {
    pub host: usize,
    pub pool: PgPool,
    pub kept: Arc<KeptConnections>,
    retired: std::sync::atomic::AtomicBool,
    retiring: Notify,
}

impl Serving {
    /// Resolves once this primary serves no more (lost, or replaced): work still waiting on it
    /// (a pool retrying connections to a dead host until its acquire timeout) is given up.
    pub async fn retired(&self) {
        loop {
            let told = self.retiring.notified();
            if self.retired.load(std::sync::atomic::Ordering::Acquire) {
                return;
            }
            told.await;
        }
    }

    /// `work` on this primary, or a 503's error as soon as it serves no more.
    pub async fn run<T>(&self, work: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        tokio::select! {
            done = work => done,
            () = self.retired() => Err(StoreError::Unavailable("the PostgreSQL primary changed during the request".into())),
        }
    }
}

#[derive(Debug)]
pub struct Primary {
    hosts: Vec<Host>,
    settings: PoolSettings,
    current: RwLock<Option<Arc<Serving>>>,
    /// When the last writable primary was lost (None while one serves).
    lost_at: RwLock<Option<Instant>>,
    /// The host served last (a switch to another one is a failover).
    last_host: RwLock<Option<usize>>,
    closed: std::sync::atomic::AtomicBool,
    wake: Notify,
    /// Counts the changes of the primary (served, or lost): the key listener follows them.
    changes: tokio::sync::watch::Sender<u64>,
}

impl Primary {
    /// Finds the writable host, waiting up to the pool's acquire timeout, and starts watching.
    pub async fn connect(hosts: Vec<Host>, settings: PoolSettings) -> Result<Arc<Primary>, StoreError> {
        assert!(!hosts.is_empty(), "a URL names at least one host");
        let primary = Arc::new(Primary {
            hosts,
            current: RwLock::new(None),
            lost_at: RwLock::new(None),
            last_host: RwLock::new(None),
            closed: Default::default(),
            wake: Notify::new(),
            changes: tokio::sync::watch::Sender::new(0),
            settings,
        });
        let (host, probe) = primary
            .search(primary.settings.acquire_timeout)
            .await
            .map_err(|why| StoreError::Unavailable(format!("no writable PostgreSQL host: {why}")))?;
        primary.serve(host);
        tokio::spawn(watch(Arc::downgrade(&primary), probe));
        Ok(primary)
    }

    /// The primary to use now; a 503's error at once while none is writable.
    pub fn serving(&self) -> Result<Arc<Serving>, StoreError> {
        self.current
            .read()
            .expect("primary lock")
            .clone()
            .ok_or_else(|| StoreError::Unavailable("no writable PostgreSQL primary answers".into()))
    }

    /// The current primary's label, if one serves.
    pub fn host(&self) -> Option<&str> {
        let serving = self.current.read().expect("primary lock").clone()?;
        Some(&self.hosts[serving.host].label)
    }

    /// Stops the watcher and closes the pool (waiting `OLD_POOL_CLOSE_MAX` at most for
    /// connections in use).
    pub async fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::Release);
        self.wake.notify_one();
        self.changes.send_modify(|n| *n += 1);
        let serving = self.current.write().expect("primary lock").take();
        if let Some(serving) = serving {
            let _ = tokio::time::timeout(OLD_POOL_CLOSE_MAX, serving.pool.close()).await;
        }
    }

    /// Told of every change of the primary.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The first host that answers writable within `patience`, with a connection to it for
    /// the watcher's probes; why none did otherwise. Every host is asked at once, and a host
    /// that answers no is asked again every `SEARCH_INTERVAL` (a standby being promoted), so
    /// a hung host never delays the others.
    async fn search(&self, patience: Duration) -> Result<(usize, PgConnection), String> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut asked = tokio::task::JoinSet::new();
        let ask = |asked: &mut tokio::task::JoinSet<_>, i: usize, after: Duration| {
            let options = self.hosts[i].options.clone();
            asked.spawn(async move {
                tokio::time::sleep(after).await;
                (i, writable(&options).await)
            });
        };
        for i in 0..self.hosts.len() {
            ask(&mut asked, i, Duration::ZERO);
        }
        let mut why = vec![String::from("no answer"); self.hosts.len()];
        loop {
            match tokio::time::timeout_at(deadline, asked.join_next()).await {
                Ok(Some(Ok((i, Ok(conn))))) => return Ok((i, conn)),
                Ok(Some(Ok((i, Err(e))))) => {
                    why[i] = e;
                    ask(&mut asked, i, SEARCH_INTERVAL);
                }
                Ok(Some(Err(e))) => panic!("a host's probe failed to run: {e}"),
                Ok(None) | Err(_) => {
                    let said: Vec<String> = (0..why.len())
                        .map(|i| format!("{}: {}", self.hosts[i].label, why[i]))
                        .collect();
                    return Err(said.join("; "));
                }
            }
        }
    }

    /// Serves `host`: a new pool to it, unless it serves already.
    fn serve(&self, host: usize) {
        let mut current = self.current.write().expect("primary lock");
        if current.as_ref().is_some_and(|s| s.host == host) {
            return;
        }
        let pool = PgPoolOptions::new()
            .max_connections(self.settings.max_connections.max(1))
            .test_before_acquire(false)
            .acquire_timeout(self.settings.acquire_timeout)
            .connect_lazy_with(self.hosts[host].options.clone());
        let serving = Arc::new(Serving {
            host,
            kept: Arc::new(KeptConnections::new(pool.clone())),
            pool,
            retired: Default::default(),
            retiring: Notify::new(),
        });
        let old = current.replace(serving);
        drop(current);
        let lost_at = self.lost_at.write().expect("primary lock").take();
        let without = lost_at.map(|at| at.elapsed()).unwrap_or_default();
        let last = self.last_host.write().expect("primary lock").replace(host);
        let to = self.hosts[host].label.as_str();
        match last.map(|l| self.hosts[l].label.as_str()) {
            None => tracing::info!(host = to, "database primary: {to}"),
            Some(from) => tracing::warn!(
                from,
                to,
                without_primary_ms = without.as_millis() as u64,
                "database primary: now {to} (was {from}; {:.1} s without a writable primary)",
                without.as_secs_f64()
            ),
        }
        let failover = last.is_some_and(|l| l != host);
        crate::telemetry::record_primary(to, last.map(|l| self.hosts[l].label.as_str()), failover, without);
        self.changes.send_modify(|n| *n += 1);
        if let Some(old) = old {
            retire(old);
        }
    }

    /// No host is writable: requests fail at once until one is.
    fn lose(&self, why: &str) {
        let old = self.current.write().expect("primary lock").take();
        let Some(old) = old else { return };
        *self.lost_at.write().expect("primary lock") = Some(Instant::now());
        tracing::warn!(
            host = %self.hosts[old.host].label,
            error = why,
            "database primary lost: no writable host answers; requests get 503 until one does"
        );
        crate::telemetry::record_primary_lost(&self.hosts[old.host].label);
        self.changes.send_modify(|n| *n += 1);
        retire(old);
    }
}

/// Closes a pool that serves no more, in the background (its connections may be stuck), and
/// gives up the work waiting on it.
fn retire(old: Arc<Serving>) {
    old.retired.store(true, std::sync::atomic::Ordering::Release);
    old.retiring.notify_waiters();
    tokio::spawn(async move {
        let _ = tokio::time::timeout(OLD_POOL_CLOSE_MAX, old.pool.close()).await;
    });
}

/// A connection to the host at `options` if it is writable, within `PROBE_TIMEOUT` each for
/// connecting and answering.
async fn writable(options: &sqlx::postgres::PgConnectOptions) -> Result<PgConnection, String> {
    let mut conn = match tokio::time::timeout(PROBE_TIMEOUT, PgConnection::connect_with(options)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err("no answer".into()),
    };
    match still_writable(&mut conn).await {
        Ok(()) => Ok(conn),
        Err(why) => Err(why),
    }
}

async fn still_writable(conn: &mut PgConnection) -> Result<(), String> {
    let answer = tokio::time::timeout(PROBE_TIMEOUT, sqlx::query_scalar::<_, bool>(READ_ONLY).fetch_one(conn)).await;
    match answer {
        Ok(Ok(false)) => Ok(()),
        Ok(Ok(true)) => Err("read-only (a standby)".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer".into()),
    }
}

/// Probes the current primary, and searches the hosts when it fails, until the store closes.
async fn watch(primary: Weak<Primary>, probe: PgConnection) {
    let mut probe = Some(probe);
    loop {
        let Some(this) = primary.upgrade() else { return };
        if this.is_closed() {
            return;
        }
        let serving = this.current.read().expect("primary lock").is_some();
        let mut why = String::from("no probe connection");
        if let (Some(conn), true) = (&mut probe, serving) {
            match still_writable(conn).await {
                Ok(()) => {
                    // Held while waiting: a store being dropped waits for one interval at most.
                    let wake = this.wake.notified();
                    tokio::select! {
                        () = tokio::time::sleep(PROBE_INTERVAL) => {}
                        () = wake => {}
                    }
                    continue;
                }
                // Requests fail at once from here on, rather than wait on a server that
                // did not answer its probe, until a writable host is found (often at once: a
                // closed connection to a primary still up).
                Err(e) => why = e,
            }
        }
        probe = None;
        if serving {
            this.lose(&why);
        }
        if let Ok((host, conn)) = this.search(PROBE_TIMEOUT).await {
            this.serve(host);
            probe = Some(conn);
        }
    }
}
