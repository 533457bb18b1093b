//! Tests whose figures (latencies under load) need the machine to themselves. Cargo runs test
//! binaries one at a time, so these run apart from the `api` suite's hundreds of parallel
//! tests, on the same harness; and one at a time among themselves (`alone`).

#[macro_use]
#[allow(dead_code, unused_imports)]
#[path = "../api/common/mod.rs"]
mod common;

mod scans;

static MACHINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Held for the whole of a test that times something: the other tests of this binary wait.
pub async fn alone() -> tokio::sync::MutexGuard<'static, ()> {
    MACHINE.lock().await
}
