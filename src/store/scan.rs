//! Reads that can scan a tenant's rows (a text search, a list filtered on columns no index
//! serves) are bounded so that no request can hold the server: few run at once, each within a
//! deadline, off the async workers. A scan past its deadline is stopped and answered "narrow
//! your search". SQLite stops it with a progress handler (`sqlite::reads`), PostgreSQL with a
//! `statement_timeout` set for the scan's transaction alone.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use super::StoreError;

/// Longest a scan may run (and wait for its turn): past it, "narrow your search".
pub const SCAN_DEADLINE: Duration = Duration::from_millis(250);
/// Scans running at once in a process (on a 2-core machine, a core is left for everything else).
pub const SCANS_IN_FLIGHT_MAX: usize = 1;

/// The turns of one store's scans (a clone shares them).
#[derive(Debug, Clone)]
pub struct Scans {
    turns: Arc<Semaphore>,
}

impl Default for Scans {
    fn default() -> Self {
        Scans {
            turns: Arc::new(Semaphore::new(SCANS_IN_FLIGHT_MAX)),
        }
    }
}

impl Scans {
    /// A turn to scan, waited for at most `SCAN_DEADLINE`.
    pub async fn turn(&self) -> Result<SemaphorePermit<'_>, StoreError> {
        match tokio::time::timeout(SCAN_DEADLINE, self.turns.acquire()).await {
            Ok(permit) => Ok(permit.expect("the scans' semaphore is never closed")),
            Err(_) => Err(StoreError::ScanTooLong),
        }
    }
}
