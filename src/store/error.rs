//! What went wrong below the domain, said as what happened: the database is unreachable, the
//! disk is full, the database is busy, the stored data is corrupt, or something unexpected.
//! Each backend maps its driver's errors here once (`From` below), so callers never see a
//! driver type.

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached, is restarting, or refuses connections.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The disk (or the database's quota) is full: nothing more can be written until space is freed.
    #[error("the disk is full: {0}")]
    DiskFull(String),
    /// A lock could not be had in time.
    #[error("the database is busy: {0}")]
    Busy(String),
    /// What is stored cannot be read back: a damaged file, or a document this build cannot decode.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The store is shutting down.
    #[error("the store is shutting down")]
    Closed,
    /// A search or filtered list that would scan past its deadline (`store::scan`): the client
    /// narrows it.
    #[error("the search took longer than its deadline")]
    ScanTooLong,
    /// A migration could not be applied.
    #[error("migration failed: {0}")]
    Migrate(String),
    /// Anything else the database reported: a bug, or a condition payrec does not expect.
    #[error("database error: {0}")]
    Database(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let message = e.to_string();
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull(message),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy(message),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt(message),
            // Only a scan's deadline interrupts a statement (`sqlite::reads`).
            Some(ErrorCode::OperationInterrupted) => StoreError::ScanTooLong,
            Some(
                ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::SystemIoFailure,
            ) => StoreError::Unavailable(message),
            _ => StoreError::Database(message),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let message = e.to_string();
        match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(message),
            sqlx::Error::Database(db) => match db.code().as_deref().unwrap_or_default() {
                // disk_full, out_of_memory
                "53100" | "53200" => StoreError::DiskFull(message),
                // too_many_connections, admin_shutdown, crash_shutdown, cannot_connect_now, and
                // class 08: connection exceptions.
                "53300" | "57P01" | "57P02" | "57P03" => StoreError::Unavailable(message),
                // read_only_sql_transaction: a standby (or a demoted primary) was written to;
                // the watcher finds the writable host (`postgres::primary`).
                "25006" => StoreError::Unavailable(message),
                code if code.starts_with("08") => StoreError::Unavailable(message),
                // serialization_failure, deadlock_detected, lock_not_available
                "40001" | "40P01" | "55P03" => StoreError::Busy(message),
                // query_canceled: payrec sets a statement_timeout on scans alone (`store::scan`).
                "57014" => StoreError::ScanTooLong,
                // data_corrupted, index_corrupted
                "XX001" | "XX002" => StoreError::Corrupt(message),
                _ => StoreError::Database(message),
            },
            _ => StoreError::Database(message),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(e) => StoreError::from(e),
            other => StoreError::Migrate(other.to_string()),
        }
    }
}
