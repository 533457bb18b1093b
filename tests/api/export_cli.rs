//! `payrec export` (issue 17) on both backends: every object kind in both formats, JSON Lines
//! equal to the API's objects, the CSV columns, the created window, the tenant walls, a file
//! written whole, and the errors a user can make.

use crate::common::backend_test;
use serde_json::Value;

use crate::common::child::run_payrec;
use crate::common::form::payment_with;
use crate::common::rules::{refund, report_outcome};
use crate::common::{Api, TestServer, id_of};

/// `payrec export ARGS` on the server's database: stdout, or a failure's stderr.
fn export(server: &TestServer, args: &[&str]) -> Result<String, String> {
    let mut all = vec!["export", "--account", &server.account_id];
    all.extend_from_slice(args);
    let (ok, stdout, stderr) = run_payrec(&server.database_url, &all);
    if ok { Ok(stdout) } else { Err(stderr) }
}

fn lines(jsonl: &str) -> Vec<Value> {
    jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("a CSV row").iter().map(str::to_owned).collect())
        .collect()
}

/// Two payments: one failed then guaranteed on a second attempt, refunded twice; one pending.
pub async fn ledger(server: &TestServer) -> (String, String) {
    let paid = id_of(
        &server
            .report_payment(&payment_with(&[
                ("amount_requested[value]", "5000"),
                ("processor_details[type]", "custom"),
                ("processor_details[custom][payment_reference]", "bank-77"),
                ("metadata[order]", "77"),
            ]))
            .await
            .ok(),
    );
    assert_eq!(report_outcome(server, &paid, "failed", "1730211400").await.status, 200);
    let again = server
        .report(&paid, crate::common::Report::Attempt, &[("initiated_at", "1730211500")])
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        report_outcome(server, &paid, "guaranteed", "1730211600").await.status,
        200
    );
    for (reference, value) in [("rf-a", "1000"), ("rf-b", "500")] {
        let r = refund(
            server,
            &paid,
            reference,
            &[("amount[value]", value), ("amount[currency]", "usd")],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let pending = id_of(&server.pending_payment(700).await);
    (paid, pending)
}

#[backend_test]
async fn json_lines_are_the_api_s_objects(server: TestServer) {
    let (paid, pending) = ledger(&server).await;
    let records = lines(&export(&server, &["--format", "jsonl"]).unwrap());
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[0],
        server.record(&pending).await,
        "newest first, as the API lists"
    );
    assert_eq!(records[1], server.record(&paid).await);
    let attempts = lines(&export(&server, &["--object", "payment_attempt_records", "--format", "jsonl"]).unwrap());
    let listed = server.list_attempts(&paid, &[("limit", "10")]).await.json;
    let mut from_api: Vec<Value> = listed["data"].as_array().unwrap().clone();
    from_api.extend(
        server.list_attempts(&pending, &[("limit", "10")]).await.json["data"]
            .as_array()
            .unwrap()
            .clone(),
    );
    assert_eq!(attempts.len(), 3);
    for a in &from_api {
        assert!(attempts.contains(a), "{a} exported as the API renders it");
    }
    let refunds = lines(&export(&server, &["--object", "refunds", "--format", "jsonl"]).unwrap());
    let references: Vec<&str> = refunds
        .iter()
        .map(|r| r["refund_reference"].as_str().unwrap())
        .collect();
    assert_eq!(references, ["rf-a", "rf-b"]);
    assert_eq!(refunds[0]["amount"]["value"], 1000);
    assert_eq!(refunds[0]["payment_record"], paid.as_str());
    let events = lines(&export(&server, &["--object", "events", "--format", "jsonl"]).unwrap());
    assert!(!events.is_empty());
    let first = &events[0];
    let id = first["id"].as_str().unwrap();
    assert_eq!(
        first,
        &server.get(&format!("/v1/events/{id}"), &[]).await.json,
        "the API's event"
    );
}

#[backend_test]
async fn csv_exports_have_their_documented_columns(server: TestServer) {
    let (paid, _) = ledger(&server).await;
    let records = csv_rows(&export(&server, &[]).unwrap());
    assert_eq!(records[0], payrec::export::RECORD_COLUMNS);
    assert_eq!(records.len(), 3);
    let row = records.iter().find(|r| r[0] == paid).expect("the paid record");
    let col = |name: &str| row[records[0].iter().position(|c| c == name).unwrap()].as_str();
    assert_eq!(col("amount_guaranteed_decimal"), "50.00");
    assert_eq!(col("amount_refunded"), "1500");
    assert_eq!(col("latest_attempt_state"), "guaranteed");
    assert_eq!(col("payment_reference"), "bank-77");
    assert_eq!(col("metadata"), r#"{"order":"77"}"#);
    for (object, header) in [
        ("payment-attempt-records", payrec::export::ATTEMPT_COLUMNS.as_slice()),
        ("payment_records", payrec::export::RECORD_COLUMNS.as_slice()),
        ("refunds", payrec::export::REFUND_COLUMNS.as_slice()),
        ("events", payrec::export::EVENT_COLUMNS.as_slice()),
    ] {
        let rows = csv_rows(&export(&server, &["--object", object]).unwrap());
        assert_eq!(rows[0], header, "{object}");
        assert!(rows.len() > 2, "{object}: {rows:?}");
    }
}

#[backend_test]
async fn the_window_the_mode_and_the_account_select_what_is_exported(server: TestServer) {
    ledger(&server).await;
    let now = payrec::clock::unix_now();
    let later = (now + 3600).to_string();
    let earlier = (now - 3600).to_string();
    assert_eq!(
        lines(&export(&server, &["--format", "jsonl", "--created-after", &later]).unwrap()).len(),
        0
    );
    assert_eq!(
        lines(&export(&server, &["--format", "jsonl", "--created-before", &earlier]).unwrap()).len(),
        0
    );
    let day = payrec::clock::rfc3339(now - 86_400);
    assert_eq!(
        lines(&export(&server, &["--format", "jsonl", "--created-after", &day]).unwrap()).len(),
        2
    );
    // The live mode and another account have nothing of this one's.
    server.with_key(&server.live_key).pending_payment(123).await;
    let live = lines(&export(&server, &["--format", "jsonl", "--mode", "live"]).unwrap());
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["livemode"], true);
    let other = server.new_account_key(false).await;
    server.with_key(&other).pending_payment(321).await;
    let mine = lines(&export(&server, &["--format", "jsonl"]).unwrap());
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|r| r["amount_requested"]["value"] != 321));
    // Several accounts: the account must be named.
    let (ok, _, stderr) = run_payrec(&server.database_url, &["export"]);
    assert!(!ok && stderr.contains("--account"), "{stderr}");
}

#[backend_test]
async fn a_file_is_written_whole_and_mistakes_are_named(server: TestServer) {
    ledger(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.csv");
    let path_text = path.display().to_string();
    let (ok, stdout, stderr) = run_payrec(
        &server.database_url,
        &["export", "--output", &path_text, "--account", &server.account_id],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.is_empty(), "the export went to the file");
    assert!(stderr.contains("exported 2 payment records"), "a summary: {stderr}");
    assert_eq!(csv_rows(&std::fs::read_to_string(&path).unwrap()).len(), 3);
    assert!(!dir.path().join("records.csv.partial").exists());
    let unknown = export(&server, &["--object", "customers"]).unwrap_err();
    assert!(unknown.contains("customers"), "{unknown}");
    let bad_time = export(&server, &["--created-after", "last tuesday"]).unwrap_err();
    assert!(bad_time.contains("RFC 3339"), "{bad_time}");
    let (ok, _, stderr) = run_payrec(&server.database_url, &["export", "--account", "acct_nobody"]);
    assert!(!ok && stderr.contains("no account acct_nobody"), "{stderr}");
    let upside_down = export(
        &server,
        &["--created-after", "2024-10-30", "--created-before", "2024-10-29"],
    )
    .unwrap_err();
    assert!(upside_down.contains("before"), "{upside_down}");
}
