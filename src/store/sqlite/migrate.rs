//! SQLite migrations, applied with rusqlite. The bookkeeping table is the one sqlx's migrator
//! kept (`_sqlx_migrations`, one row per applied version with the SHA-384 of its SQL), so a
//! database migrated by an earlier build is recognised and upgraded in place.

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha384};

use crate::store::StoreError;

/// One migration file of `migrations/sqlite/`.
#[derive(Debug)]
pub struct Migration {
    pub version: i64,
    /// The file name's words (`0002_rowid_tables.sql` → `rowid tables`), as sqlx recorded them.
    pub description: &'static str,
    pub sql: &'static str,
}

/// Every migration, oldest first (a unit test checks this against the folder).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "initial",
        sql: include_str!("../../../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        description: "rowid tables",
        sql: include_str!("../../../migrations/sqlite/0002_rowid_tables.sql"),
    },
    Migration {
        version: 3,
        description: "idempotency keys without index",
        sql: include_str!("../../../migrations/sqlite/0003_idempotency_keys_without_index.sql"),
    },
    Migration {
        version: 4,
        description: "health probe",
        sql: include_str!("../../../migrations/sqlite/0004_health_probe.sql"),
    },
    Migration {
        version: 5,
        description: "idempotency key log",
        sql: include_str!("../../../migrations/sqlite/0005_idempotency_key_log.sql"),
    },
    Migration {
        version: 6,
        description: "events",
        sql: include_str!("../../../migrations/sqlite/0006_events.sql"),
    },
    Migration {
        version: 7,
        description: "dashboard sessions",
        sql: include_str!("../../../migrations/sqlite/0007_dashboard_sessions.sql"),
    },
    Migration {
        version: 8,
        description: "payment reference index",
        sql: include_str!("../../../migrations/sqlite/0008_payment_reference_index.sql"),
    },
    Migration {
        version: 9,
        description: "dashboard totals and filters",
        sql: include_str!("../../../migrations/sqlite/0009_dashboard_totals_and_filters.sql"),
    },
    Migration {
        version: 10,
        description: "endpoint health",
        sql: include_str!("../../../migrations/sqlite/0010_endpoint_health.sql"),
    },
    Migration {
        version: 11,
        description: "reconciliation",
        sql: include_str!("../../../migrations/sqlite/0011_reconciliation.sql"),
    },
];

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)";

fn checksum(sql: &str) -> Vec<u8> {
    Sha384::digest(sql.as_bytes()).to_vec()
}

/// Applies every migration not yet applied, each in its own transaction with its bookkeeping
/// row; refuses a database whose applied migrations differ from this build's.
pub fn run(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(BOOKKEEPING)?;
    for migration in MIGRATIONS {
        let applied: Option<(bool, Vec<u8>)> = conn
            .query_row(
                "SELECT success, checksum FROM _sqlx_migrations WHERE version = ?1",
                [migration.version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match applied {
            Some((true, sum)) if sum == checksum(migration.sql) => {}
            Some((true, _)) => {
                return Err(StoreError::Migrate(format!(
                    "migration {} was applied with other SQL than this build's",
                    migration.version
                )));
            }
            Some((false, _)) => {
                return Err(StoreError::Migrate(format!(
                    "migration {} is recorded as failed: restore a backup",
                    migration.version
                )));
            }
            None => apply(conn, migration)?,
        }
    }
    Ok(())
}

fn apply(conn: &mut Connection, migration: &Migration) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(migration.sql)?;
    tx.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (?1, ?2, TRUE, ?3, ?4)",
        params![
            migration.version,
            migration.description,
            checksum(migration.sql),
            started.elapsed().as_nanos() as i64
        ],
    )?;
    tx.commit()?;
    tracing::info!(
        version = migration.version,
        migration.description,
        "applied a migration"
    );
    Ok(())
}

/// Whether every migration of this build is recorded as applied.
pub fn current(conn: &Connection) -> rusqlite::Result<bool> {
    let applied = conn.query_row("SELECT COUNT(*) FROM _sqlx_migrations WHERE success", [], |r| {
        r.get::<_, i64>(0)
    });
    match applied {
        Ok(n) => Ok(n as usize >= MIGRATIONS.len()),
        // No bookkeeping table: nothing is applied yet.
        Err(rusqlite::Error::SqliteFailure(_, Some(message))) if message.contains("no such table") => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_folder_is_a_migration_in_order() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite");
        let mut files: Vec<String> = std::fs::read_dir(folder)
            .expect("migrations folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files.len(), MIGRATIONS.len());
        for (file, migration) in files.iter().zip(MIGRATIONS) {
            let (version, rest) = file.split_once('_').expect("NNNN_words.sql");
            assert_eq!(version.parse::<i64>().expect("version"), migration.version);
            assert_eq!(rest.trim_end_matches(".sql").replace('_', " "), migration.description);
            let text = std::fs::read_to_string(format!("{folder}/{file}")).expect("read");
            assert_eq!(text, migration.sql, "{file}");
        }
    }

    #[test]
    fn migrating_twice_applies_each_migration_once() {
        let mut conn = Connection::open_in_memory().expect("sqlite");
        assert!(!current(&conn).expect("no bookkeeping yet"));
        run(&mut conn).expect("first run");
        run(&mut conn).expect("second run is a no-op");
        assert!(current(&conn).expect("current"));
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM _sqlx_migrations", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows as usize, MIGRATIONS.len());
    }

    #[test]
    fn a_database_migrated_with_other_sql_is_refused() {
        let mut conn = Connection::open_in_memory().expect("sqlite");
        run(&mut conn).expect("run");
        conn.execute("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1", [])
            .expect("tamper");
        assert!(matches!(run(&mut conn), Err(StoreError::Migrate(_))));
    }
}
