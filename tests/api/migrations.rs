//! Upgrading a database made by an earlier payrec. The SQLite schema moved from WITHOUT ROWID
//! payment tables (0001) to rowid tables (0002); a database holding payments in the old layout
//! must come out of `payrec serve` with every object, list, refund rule and saved idempotent
//! response intact.

use crate::common::TestServer;
use crate::common::child::ChildServer;
use serde_json::Value;
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

async fn get(client: &reqwest::Client, server: &ChildServer, key: &str, path: &str) -> (u16, Value) {
    let r = client
        .get(server.url(path))
        .basic_auth(key, Some(""))
        .send()
        .await
        .expect("request");
    (r.status().as_u16(), r.json().await.expect("json"))
}

async fn post(
    client: &reqwest::Client,
    server: &ChildServer,
    key: &str,
    path: &str,
    form: &[(&str, &str)],
    idempotency_key: Option<&str>,
) -> reqwest::Response {
    let mut request = client
        .post(server.url(path))
        .basic_auth(key, Some(""))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(crate::common::encode(form));
    if let Some(k) = idempotency_key {
        request = request.header("idempotency-key", k);
    }
    request.send().await.expect("request")
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
    let keyed = made
        .request(
            reqwest::Method::POST,
            "/v1/payment_records/report_payment",
            crate::common::Auth::Basic(made.test_key.clone()),
            &REPORT,
            &[("Idempotency-Key", "upgrade-key-1")],
        )
        .await;
    assert_eq!(keyed.status, 200, "{}", keyed.body);
    let id = keyed.json["id"].as_str().expect("id").to_owned();
    let on = |call: &str| format!("/v1/payment_records/{id}/{call}");
    let steps: [(String, Vec<(&str, &str)>); 4] = [
        (on("report_payment_attempt_failed"), vec![("failed_at", "1730211400")]),
        (
            on("report_payment_attempt"),
            vec![
                ("initiated_at", "1730211500"),
                ("payment_method_details[type]", "custom"),
            ],
        ),
        (
            on("report_payment_attempt_guaranteed"),
            vec![("guaranteed_at", "1730211600")],
        ),
        (
            on("report_refund"),
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
    for (path, form) in &steps {
        let r = made.post(path, form).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    let second = made.report_payment(700).await;
    let record_before = made.retrieve_record(&id).await;
    let attempts_before = made.attempts_of(&id).await;
    let list_before = made.get("/v1/payment_records", &[("limit", "10")]).await.json;
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

    let server = ChildServer::spawn(&format!("sqlite://{}", old_path.display()), &[]).await;
    let client = reqwest::Client::new();
    let (status, record_after) = get(&client, &server, &key, &format!("/v1/payment_records/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(record_after, record_before, "the record is unchanged by the upgrade");
    let (_, attempts_after) = get(
        &client,
        &server,
        &key,
        &format!("/v1/payment_attempt_records?payment_record={id}&limit=100"),
    )
    .await;
    assert_eq!(attempts_after["data"].as_array().expect("data"), &attempts_before);
    let (_, list_after) = get(&client, &server, &key, "/v1/payment_records?limit=10").await;
    assert_eq!(list_after["data"], list_before["data"], "same list, same order");

    // The saved response replays byte for byte; the refund reference stays taken.
    let replay = post(
        &client,
        &server,
        &key,
        "/v1/payment_records/report_payment",
        &REPORT,
        Some("upgrade-key-1"),
    )
    .await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replayed: Value = replay.json().await.expect("json");
    assert_eq!(replayed, keyed.json);
    let (path, form) = &steps[3];
    let again = post(&client, &server, &key, path, form, None).await;
    assert_eq!(again.status(), 400, "the refund reference is still unique");

    // New writes land after the old ones.
    let third = post(
        &client,
        &server,
        &key,
        "/v1/payment_records/report_payment",
        &REPORT,
        None,
    )
    .await;
    assert_eq!(third.status(), 200);
    let third: Value = third.json().await.expect("json");
    let (_, newest) = get(&client, &server, &key, "/v1/payment_records?limit=10").await;
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
