//! Keeps the WAL bounded under continuous writes, off the commit path. The writer does not
//! checkpoint inside its commits (`wal_autocheckpoint = 0`: that took 41% of its time). This
//! thread copies the WAL back into the database file with PASSIVE checkpoints, which wait for
//! nobody. But while the writer keeps appending, a pass never catches up with the end of the
//! WAL, so the WAL is never restarted and grows without bound (7 GB in a minute at peak). So when
//! the WAL passes its bound, this thread asks the writer to restart it: between two batches the
//! writer runs a RESTART checkpoint, which copies the little the last pass left and makes its
//! next transaction write the WAL from its start; `journal_size_limit` then cuts the file back to
//! the bound. (A RESTART from this thread would starve: the writer takes the write lock again as
//! soon as it lets it go.) The writer also looks at the WAL file's size after each batch and
//! restarts it by itself past twice the bound, so a checkpointer that falls behind (starved of
//! CPU on a busy machine) cannot let the WAL grow. A restart needs the checkpoint lock, and a
//! pass over a large WAL holds it long (and takes longer the more the WAL grows meanwhile): so
//! while the WAL file is past its bound this thread starts no pass, and leaves the copying to
//! the writer's restart. When writes stop, TRUNCATE empties the WAL.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::Connection;

use super::SqliteSync;
use super::connection::{self, Role};
use super::essential::spawn_essential;
use crate::store::StoreError;

/// How often the WAL is copied back.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);
/// The WAL's bound under sustained writes, by default: past it the WAL is restarted.
pub const WAL_BYTES_MAX_DEFAULT: u64 = 64 * 1024 * 1024;
/// Each WAL frame is a page and a 24-byte header.
const WAL_FRAME_HEADER_BYTES: u64 = 24;

/// What a checkpoint pass reported: frames in the WAL, and how many are copied back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pass {
    frames: i64,
    copied: i64,
}

fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<Pass> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok(Pass {
            frames: r.get(1)?,
            copied: r.get(2)?,
        })
    })
}

/// Set by the checkpointer when the WAL is past its bound; the writer restarts it and clears it.
#[derive(Debug, Default)]
pub(super) struct RestartWanted(AtomicBool);

impl RestartWanted {
    /// Whether a restart was asked for since the last call (clearing the request).
    pub fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

/// The WAL file of the database at `path`.
pub(super) fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    wal.into()
}

/// On the writer's connection, between batches: copies the rest of the WAL back and makes the
/// next transaction write it from its start.
pub(super) fn restart(writer: &Connection) -> Result<(), StoreError> {
    checkpoint(writer, "RESTART")?;
    Ok(())
}

/// Starts the checkpointer on its own connection.
pub(super) fn spawn(path: &Path, wal_bytes_max: u64, restart_wanted: Arc<RestartWanted>) -> Result<(), StoreError> {
    let conn = connection::open(path, Role::Checkpointer, SqliteSync::Full)?;
    let wal = wal_path(path);
    let page_bytes: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let frame_bytes = page_bytes as u64 + WAL_FRAME_HEADER_BYTES;
    let frames_max = (wal_bytes_max / frame_bytes).max(1) as i64;
    spawn_essential("payrec-sqlite-checkpoint", move || {
        let mut last = None;
        // The writer holds the other reference: once it has stopped (its store was dropped),
        // so does this thread, and its connection closes.
        while Arc::strong_count(&restart_wanted) > 1 {
            std::thread::sleep(CHECKPOINT_INTERVAL);
            // Past the bound while the writer is busy (it took the last request: it committed
            // since), the writer restarts the WAL; a pass would only hold the lock the restart
            // needs. A request still untaken means no writes: the pass below empties the WAL.
            if std::fs::metadata(&wal).is_ok_and(|m| m.len() > wal_bytes_max)
                && !restart_wanted.0.swap(true, Ordering::AcqRel)
            {
                last = None;
                continue;
            }
            match tick(&conn, frames_max, last, &restart_wanted) {
                Ok(pass) => last = Some(pass),
                Err(e) => crate::throttle::warn("sqlite_checkpoint", "WAL checkpoint failed; will retry", &e),
            }
        }
    })
}

/// One turn: copy back; empty an idle WAL; have one past its bound restarted.
fn tick(conn: &Connection, frames_max: i64, last: Option<Pass>, restart: &RestartWanted) -> rusqlite::Result<Pass> {
    let pass = checkpoint(conn, "PASSIVE")?;
    let idle = last == Some(pass);
    if idle && pass.frames > 0 && pass.copied == pass.frames {
        return checkpoint(conn, "TRUNCATE");
    }
    if pass.frames > frames_max {
        restart.0.store(true, Ordering::Release);
    }
    Ok(pass)
}

/// Longest a shutdown waits for the checkpointer's pass to end before it empties the WAL.
const TRUNCATE_WAIT_MAX: Duration = Duration::from_secs(5);
/// How often it tries again meanwhile.
const TRUNCATE_RETRY: Duration = Duration::from_millis(10);

/// On a clean shutdown: everything copied back and the WAL file emptied. SQLite answers busy at
/// once, without waiting, when another connection's checkpoint holds the checkpoint lock (this
/// thread's pass, every `CHECKPOINT_INTERVAL`), so it tries again until that pass is over.
pub(super) fn truncate(conn: &Connection) -> Result<(), StoreError> {
    let deadline = std::time::Instant::now() + TRUNCATE_WAIT_MAX;
    loop {
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy == 0 || std::time::Instant::now() >= deadline {
            return Ok(());
        }
        std::thread::sleep(TRUNCATE_RETRY);
    }
}
