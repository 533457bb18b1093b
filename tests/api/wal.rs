//! The SQLite WAL stays bounded under sustained writes and is emptied once they stop and on a
//! clean shutdown (issue 14): checkpoints copy it back off the commit path, and a WAL past its
//! bound is restarted.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::common::Api;
use crate::common::child::ChildServer;
use crate::common::form::payment_with;

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Polls until the file at `path` is at most `bytes` long (true) or 20 s pass (false).
async fn shrinks_to(path: &Path, bytes: u64) -> bool {
    for _ in 0..400 {
        if size(path) <= bytes {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_writes_and_is_emptied_when_they_stop_and_at_shutdown() {
    const WAL_MAX_MIB: u64 = 1;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("payrec.db");
    let wal = dir.path().join("payrec.db-wal");
    let url = format!("sqlite://{}", db.display());
    let server = ChildServer::spawn_with(&url, &["--sqlite-wal-max-mib", &WAL_MAX_MIB.to_string()], &[]).await;

    // The largest the WAL file gets while 8 clients write about 40 MiB through it.
    let (stop, largest) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let sampler = {
        let (stop, largest, wal) = (stop.clone(), largest.clone(), wal.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                largest.fetch_max(size(&wal), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let description = "x".repeat(4000);
    let form = payment_with(&[("description", &description)]);
    let clients = (0..8).map(|c| {
        let (server, form) = (&server, &form);
        async move {
            for n in 0..250 {
                let r = server.report_payment_keyed(&format!("wal-{c}-{n}"), form).await;
                assert_eq!(r.status, 200, "{}", r.body);
            }
        }
    });
    futures_util::future::join_all(clients).await;
    stop.store(true, Ordering::SeqCst);
    sampler.await.unwrap();
    let written = size(&db);
    let largest = largest.load(Ordering::SeqCst);
    eprintln!("database {written} bytes after the load; the WAL file's largest size {largest} bytes");
    assert!(
        written > 10 * 1024 * 1024,
        "the load went through the WAL: database {written} bytes"
    );
    assert!(
        largest <= 8 * WAL_MAX_MIB * 1024 * 1024,
        "the WAL stayed near its bound of {WAL_MAX_MIB} MiB: largest {largest} bytes"
    );

    assert!(
        shrinks_to(&wal, 0).await,
        "idle, the WAL is emptied: {} bytes",
        size(&wal)
    );
    let r = server.report_payment_keyed("wal-after", &form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(size(&wal) > 0, "a new write goes through the WAL again");
    server.terminate();
    assert!(
        shrinks_to(&wal, 0).await,
        "a clean shutdown leaves an empty WAL: {} bytes",
        size(&wal)
    );
}
