//! Upgrading a database made by an earlier payrec. The SQLite schema moved from WITHOUT ROWID
//! payment tables (0001) to rowid tables (0002); a database holding payments in the old layout
//! must come out of `payrec serve` with every object, list, refund rule and saved idempotent
//! response intact.

use std::path::Path;
use std::time::Instant;

use crate::common::child::ChildServer;
use crate::common::dashboard::Browser;
use crate::common::{Api, Report, TestServer};
use sha2::{Digest, Sha384};

/// The first migration: the layout of earlier releases.
const FIRST_MIGRATION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite/0001_initial.sql");

/// Applies only the first migration to a fresh file, bookkept the way sqlx's migrator does
/// (its table, and a row with the SHA-384 of the migration's text), so the current binary
/// finds version 1 applied and upgrades from there.
fn old_layout_database(path: &Path) -> rusqlite::Connection {
    let sql = std::fs::read_to_string(FIRST_MIGRATION).expect("read the first migration");
    let mut conn = rusqlite::Connection::open(path).expect("create the old database");
    conn.execute_batch("PRAGMA foreign_keys = ON").expect("foreign keys");
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            success BOOLEAN NOT NULL,
            checksum BLOB NOT NULL,
            execution_time BIGINT NOT NULL
        )",
    )
    .expect("the migrations table");
    let started = Instant::now();
    let tx = conn.transaction().expect("begin");
    tx.execute_batch(&sql).expect("apply 0001");
    let checksum = Sha384::digest(sql.as_bytes()).to_vec();
    tx.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (1, 'initial', TRUE, ?1, ?2)",
        rusqlite::params![checksum, started.elapsed().as_nanos() as i64],
    )
    .expect("record 0001");
    tx.commit().expect("commit");
    conn
}

/// Copies every row of `from` (a database in the current layout) into the old layout.
fn copy_rows_into_old_layout(conn: &rusqlite::Connection, from: &Path) {
    let attach = format!("ATTACH DATABASE '{}' AS current", from.display());
    let copies = [
        attach.as_str(),
        "INSERT INTO accounts SELECT id, created FROM current.accounts",
        "INSERT INTO api_keys (account_id, livemode, id, digest, prefix, last4, created, revoked_at) \
         SELECT account_id, livemode, id, digest, prefix, last4, created, revoked_at FROM current.api_keys",
        "INSERT INTO payment_records (account_id, livemode, id, created, seq, doc) \
         SELECT account_id, livemode, id, created, seq, doc FROM current.payment_records",
        "INSERT INTO payment_attempt_records (account_id, livemode, id, payment_record, created, seq, state, doc) \
         SELECT account_id, livemode, id, payment_record, created, seq, state, doc FROM current.payment_attempt_records",
        "INSERT INTO refunds SELECT account_id, livemode, refund_reference, payment_record, payment_attempt_record, \
         currency, value, refunded_at, initiated_at, created FROM current.refunds",
        "INSERT INTO idempotency_keys (account_id, livemode, key, fingerprint, request_id, status, body, created) \
         SELECT account_id, livemode, key, fingerprint, request_id, status, body, created FROM current.idempotency_keys",
        "DETACH DATABASE current",
    ];
    for sql in copies {
        conn.execute_batch(sql).expect(sql);
    }
}

const REPORT: [(&str, &str); 4] = [
    ("amount_requested[currency]", "usd"),
    ("amount_requested[value]", "5000"),
    ("initiated_at", "1730211300"),
    ("payment_method_details[type]", "custom"),
];

#[tokio::test]
async fn a_database_in_the_first_layout_is_upgraded_with_everything_intact() {
    // Payments made by the current server: a keyed report, a failure, a new attempt, a
    // guarantee and a refund, plus a second record.
    let made = TestServer::start().await;
    let keyed = made.report_payment_keyed("upgrade-key-1", &REPORT).await;
    assert_eq!(keyed.status, 200, "{}", keyed.body);
    let id = keyed.json["id"].as_str().expect("id").to_owned();
    let steps: [(Report, Vec<(&str, &str)>); 4] = [
        (Report::Failed, vec![("failed_at", "1730211400")]),
        (
            Report::Attempt,
            vec![
                ("initiated_at", "1730211500"),
                ("payment_method_details[type]", "custom"),
            ],
        ),
        (Report::Guaranteed, vec![("guaranteed_at", "1730211600")]),
        (
            Report::Refund,
            vec![
                ("amount[currency]", "usd"),
                ("amount[value]", "1200"),
                ("initiated_at", "1730211700"),
                ("outcome", "refunded"),
                ("processor_details[type]", "custom"),
                ("processor_details[custom][refund_reference]", "rf_upgrade"),
                ("refunded[refunded_at]", "1730211700"),
            ],
        ),
    ];
    for (call, form) in &steps {
        let r = made.report(&id, *call, form).await;
        assert_eq!(r.status, 200, "{call:?}: {}", r.body);
    }
    let second = made.pending_payment(700).await;
    let record_before = made.record(&id).await;
    let attempts_before = made.attempts_of(&id).await;
    let list_before = made.list_records(&[("limit", "10")]).await.json;
    assert_eq!(attempts_before.len(), 2);
    assert_eq!(list_before["data"].as_array().expect("data").len(), 2);

    // The same rows in the layout of the first migration, then served by the current binary.
    let dir = tempfile::tempdir().expect("temp dir");
    let old_path = dir.path().join("old.db");
    let old = old_layout_database(&old_path);
    copy_rows_into_old_layout(&old, &made.db_path);
    old.close().expect("close");
    let key = made.test_key.clone();
    drop(made);

    let child = ChildServer::spawn(&format!("sqlite://{}", old_path.display()), &[]).await;
    let server = child.with_key(&key);
    let record_after = server.retrieve_record(&id, &[]).await.ok();
    assert_eq!(record_after, record_before, "the record is unchanged by the upgrade");
    let attempts_after = server.list_attempts(&id, &[("limit", "100")]).await.json;
    assert_eq!(attempts_after["data"].as_array().expect("data"), &attempts_before);
    let list_after = server.list_records(&[("limit", "10")]).await.json;
    assert_eq!(list_after["data"], list_before["data"], "same list, same order");

    // The saved response replays byte for byte; the refund reference stays taken.
    let replay = server.report_payment_keyed("upgrade-key-1", &REPORT).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json, keyed.json);
    let (call, form) = &steps[3];
    let again = server.report(&id, *call, form).await;
    assert_eq!(again.status, 400, "the refund reference is still unique");

    // The overview's totals and the filters' columns were filled from the stored records.
    let mut browser = Browser::new(&child.base);
    assert_eq!(browser.sign_in(&key).await.status, 303);
    let overview = browser.get("/dashboard/?from=2020-01-01").await;
    for shown in ["50.00 USD", "12.00 USD", "7.00 USD", "57.00 USD"] {
        assert!(
            overview.body.contains(shown),
            "{shown} on the upgraded overview: {}",
            overview.body
        );
    }
    let pending = browser.get("/dashboard/payments?state=pending").await;
    assert!(pending.body.contains(second["id"].as_str().expect("id")) && !pending.body.contains(&id));

    // New writes land after the old ones.
    let third = server.report_payment(&REPORT).await.ok();
    let newest = server.list_records(&[("limit", "10")]).await.json;
    let ids: Vec<&str> = newest["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0], third["id"].as_str().expect("id"), "newest first");
    assert!(ids.contains(&second["id"].as_str().expect("id")));

    // And the file is in the current layout.
    let upgraded = crate::common::sqlite::open(&old_path).expect("open the upgraded file");
    let sql: String = upgraded
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'payment_records'",
            [],
            |row| row.get(0),
        )
        .expect("schema");
    assert!(
        !sql.contains("WITHOUT ROWID") && sql.contains("seq        INTEGER PRIMARY KEY"),
        "{sql}"
    );
}
