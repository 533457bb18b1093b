//! Upgrading a database made by an earlier payrec. The SQLite schema moved from WITHOUT ROWID
//! payment tables (0001) to rowid tables (0002); a database holding payments in the old layout
//! must come out of `payrec serve` with every object, list, refund rule and saved idempotent
//! response intact.

use crate::common::child::ChildServer;
use crate::common::{Api, Report, TestServer};
use sqlx::Connection;
use sqlx::migrate::Migrator;

/// Applies only the first migration (the layout of earlier releases) to a fresh file.
async fn old_layout_database(path: &std::path::Path) -> sqlx::SqliteConnection {
    let only_first = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite/0001_initial.sql"),
        only_first.path().join("0001_initial.sql"),
    )
    .expect("copy the first migration");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("connect");
    Migrator::new(only_first.path())
        .await
        .expect("read migrations")
        .run(&mut conn)
        .await
        .expect("apply 0001");
    conn
}

/// Copies every row of `from` (a database in the current layout) into the old layout.
async fn copy_rows_into_old_layout(conn: &mut sqlx::SqliteConnection, from: &std::path::Path) {
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
        sqlx::query(sql).execute(&mut *conn).await.expect(sql);
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
    let mut old = old_layout_database(&old_path).await;
    copy_rows_into_old_layout(&mut old, &made.db_path).await;
    old.close().await.expect("close");
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
    let mut upgraded = sqlx::SqliteConnection::connect(&format!("sqlite://{}", old_path.display()))
        .await
        .expect("connect");
    let (sql,): (String,) = sqlx::query_as("SELECT sql FROM sqlite_master WHERE name = 'payment_records'")
        .fetch_one(&mut upgraded)
        .await
        .expect("schema");
    assert!(
        !sql.contains("WITHOUT ROWID") && sql.contains("seq        INTEGER PRIMARY KEY"),
        "{sql}"
    );
}
