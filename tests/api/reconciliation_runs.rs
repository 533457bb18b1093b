//! Reconciliation runs kept, and read through `/payrec/v1/…` (issue 32, items 3 and 5), on both
//! backends: a run with its counts and outcomes per tenant; the same statement judged again
//! changes nothing; a later statement matches what an earlier one left open; the payments'
//! statuses and their events; `--dry-run` keeps nothing.

use std::path::Path;

use serde_json::Value;

use crate::common::backend_test;
use crate::common::form::payment_with;
use crate::common::{Api, TestServer, id_of};

/// A guaranteed payment of `value` cents of USD with processor reference `reference`.
pub(crate) async fn paid(server: &TestServer, reference: &str, value: &str) -> String {
    let form = payment_with(&[
        ("amount_requested[value]", value),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][payment_reference]", reference),
        ("outcome", "guaranteed"),
        ("guaranteed[guaranteed_at]", "1730211310"),
    ]);
    id_of(&server.report_payment(&form).await.ok())
}

/// `payrec reconcile FILE` (a CSV of Reference, Amount, Date): (exit code, stderr).
pub(crate) fn reconcile(server: &TestServer, file: &Path, extra: &[&str]) -> (i32, String) {
    let file = file.display().to_string();
    let mut args = vec![
        "reconcile",
        &file,
        "--account",
        &server.account_id,
        "--reference-column",
        "Reference",
        "--amount-column",
        "Amount",
        "--currency",
        "usd",
        "--date-column",
        "Date",
    ];
    args.extend_from_slice(extra);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_payrec"))
        .args(&args)
        .env("DATABASE_URL", &server.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run payrec");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_ne!(output.status.code(), Some(2), "{stderr}");
    (output.status.code().expect("an exit code"), stderr)
}

/// A settlement CSV dated today (so the window of `missing_in_file` holds today's payments).
pub(crate) fn statement(dir: &Path, name: &str, lines: &[(&str, &str)]) -> std::path::PathBuf {
    let today = payrec::clock::unix_now().to_string();
    let mut text = String::from("Reference,Amount,Date\n");
    for (reference, amount) in lines {
        text.push_str(&format!("{reference},{amount},{today}\n"));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the statement");
    path
}

async fn get(server: &impl Api, path: &str, query: &[(&str, &str)]) -> Value {
    server.get(path, query).await.ok()
}

fn data(list: &Value) -> &Vec<Value> {
    list["data"].as_array().expect("a list")
}

#[backend_test]
async fn a_run_is_kept_with_its_counts_and_outcomes_behind_the_tenant_wall(server: TestServer) {
    let a = paid(&server, "REF-A", "1000").await;
    paid(&server, "REF-B", "2000").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = statement(dir.path(), "day1.csv", &[("REF-A", "10.00"), ("REF-X", "5.00")]);
    let (code, stderr) = reconcile(&server, &file, &[]);
    assert_eq!(code, 1, "{stderr}");
    let runs = get(&server, "/payrec/v1/reconciliation_runs", &[]).await;
    assert_eq!(runs["object"], "list");
    assert_eq!(runs["url"], "/payrec/v1/reconciliation_runs");
    let run = &data(&runs)[0];
    assert_eq!(data(&runs).len(), 1);
    assert!(stderr.contains(run["id"].as_str().unwrap()), "{stderr}");
    assert_eq!(run["object"], "reconciliation_run");
    assert_eq!(run["status"], "complete");
    assert_eq!(run["file"]["name"], "day1.csv");
    assert_eq!(run["file"]["format"], "csv");
    assert_eq!(run["counts"]["matched"], 1);
    assert_eq!(run["counts"]["missing_in_payrec"], 1);
    assert_eq!(run["counts"]["missing_in_file"], 1, "REF-B");
    assert_eq!(run["open_breaks"], 2);
    let id = run["id"].as_str().unwrap();
    assert_eq!(
        get(&server, &format!("/payrec/v1/reconciliation_runs/{id}"), &[]).await,
        *run
    );
    let outcomes = get(&server, "/payrec/v1/reconciliation_results", &[("run", id)]).await;
    assert_eq!(data(&outcomes).len(), 3);
    let matched = data(&outcomes).iter().find(|o| o["category"] == "matched").unwrap();
    assert_eq!(
        (matched["payment_record"].as_str(), matched["status"].as_str()),
        (Some(a.as_str()), Some("matched"))
    );
    assert_eq!(
        (matched["file_amount"].as_i64(), matched["line"].as_i64()),
        (Some(1000), Some(2))
    );
    let breaks = get(&server, "/payrec/v1/reconciliation_breaks", &[]).await;
    assert_eq!(breaks["url"], "/payrec/v1/reconciliation_breaks");
    assert_eq!(data(&breaks).len(), 2);
    assert!(data(&breaks).iter().all(|b| b["status"] == "open"));
    let only = get(
        &server,
        "/payrec/v1/reconciliation_breaks",
        &[("category", "missing_in_payrec")],
    )
    .await;
    assert_eq!(data(&only).len(), 1);
    assert_eq!(data(&only)[0]["reference"], "REF-X");
    // Another account, and live mode, see nothing of it.
    let other = server.with_key(&server.new_account_key(false).await);
    assert!(data(&get(&other, "/payrec/v1/reconciliation_runs", &[]).await).is_empty());
    assert_eq!(
        other
            .get(&format!("/payrec/v1/reconciliation_runs/{id}"), &[])
            .await
            .status,
        404
    );
    let live = server.with_key(&server.live_key);
    assert!(data(&get(&live, "/payrec/v1/reconciliation_breaks", &[]).await).is_empty());
}

/// The runs, their outcomes and the events, as the API shows them.
async fn everything(server: &TestServer) -> (Value, Value, Value) {
    (
        get(server, "/payrec/v1/reconciliation_runs", &[]).await,
        get(server, "/payrec/v1/reconciliation_results", &[]).await,
        get(server, "/v1/events", &[("limit", "100")]).await,
    )
}

#[backend_test]
async fn reconciling_the_same_statement_again_changes_nothing(server: TestServer) {
    paid(&server, "REF-A", "1000").await;
    paid(&server, "REF-B", "2000").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = statement(dir.path(), "day1.csv", &[("REF-A", "10.00"), ("REF-X", "5.00")]);
    reconcile(&server, &file, &[]);
    let before = everything(&server).await;
    let (code, stderr) = reconcile(&server, &file, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(everything(&server).await, before);
}

#[backend_test]
async fn a_later_statement_matches_what_an_earlier_one_left_open(server: TestServer) {
    let a = paid(&server, "REF-A", "1000").await;
    let b = paid(&server, "REF-B", "2000").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let day1 = statement(dir.path(), "day1.csv", &[("REF-A", "10.00")]);
    reconcile(&server, &day1, &[]);
    let open = get(&server, "/payrec/v1/reconciliation_breaks", &[("payment_record", &b)]).await;
    assert_eq!(data(&open).len(), 1);
    assert_eq!(data(&open)[0]["category"], "missing_in_file");
    let day2 = statement(dir.path(), "day2.csv", &[("REF-B", "20.00")]);
    let (code, stderr) = reconcile(&server, &day2, &[]);
    assert_eq!(code, 0, "REF-A was matched by the first statement: {stderr}");
    assert!(data(&get(&server, "/payrec/v1/reconciliation_breaks", &[]).await).is_empty());
    let closed = get(
        &server,
        &format!("/payrec/v1/reconciliation_results/{}", id_of(&data(&open)[0])),
        &[],
    )
    .await;
    assert_eq!(closed["status"], "resolved");
    assert_eq!(closed["resolution"]["type"], "matched_by_run");
    let runs = get(&server, "/payrec/v1/reconciliation_runs", &[]).await;
    assert_eq!(closed["resolution"]["run"], data(&runs)[0]["id"], "the newest run");
    // Each payment's status changes were told: reconciled (A on day 1, B on day 2) and B's
    // failure on day 1, each event carrying the payment record.
    let events = get(&server, "/v1/events", &[("limit", "100")]).await;
    let mut told: Vec<(String, String)> = data(&events)
        .iter()
        .filter(|e| e["type"].as_str().unwrap().contains("reconcil"))
        .map(|e| (e["type"].as_str().unwrap().to_owned(), id_of(&e["data"]["object"])))
        .collect();
    assert_eq!(
        told[0],
        ("payment_record.reconciled".to_owned(), b.clone()),
        "newest first"
    );
    // Day 1's slices were written at once: its two events come in either order.
    told[1..].sort();
    assert_eq!(
        told[1..],
        [
            ("payment_record.reconciled".to_owned(), a.clone()),
            ("payment_record.reconciliation_failed".to_owned(), b.clone()),
        ]
    );
    assert_eq!(data(&events)[0]["data"]["object"]["object"], "payment_record");
}

/// The reconciliation events, in order of (type, payment record): slices are written at
/// once, so their events may come in either order.
async fn told(server: &TestServer) -> Vec<(String, String)> {
    let events = get(server, "/v1/events", &[("limit", "100")]).await;
    let mut told: Vec<(String, String)> = data(&events)
        .iter()
        .filter(|e| e["type"].as_str().unwrap().contains("reconcil"))
        .map(|e| (e["type"].as_str().unwrap().to_owned(), id_of(&e["data"]["object"])))
        .collect();
    told.sort();
    told
}

#[backend_test]
async fn a_first_pass_settles_each_slice_as_it_keeps_it_and_a_later_pass_agrees(server: TestServer) {
    let a = paid(&server, "REF-A", "1000").await;
    let b = paid(&server, "REF-B", "2000").await;
    let c = paid(&server, "REF-C", "3000").await;
    let d = paid(&server, "REF-D", "4000").await;
    let e = paid(&server, "REF-E", "5000").await;
    // A matched and B mismatched in the first slice of outcomes; C mismatched and D matched a
    // slice later (more than `OUTCOMES_PER_WRITE` lines on); E missing, written at the end.
    let fillers: Vec<String> = (0..600).map(|i| format!("NOPE-{i}")).collect();
    let mut lines: Vec<(&str, &str)> = vec![("REF-A", "10.00"), ("REF-B", "25.00")];
    lines.extend(fillers.iter().map(|f| (f.as_str(), "1.00")));
    lines.extend([("REF-C", "31.00"), ("REF-D", "40.00")]);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = statement(dir.path(), "day1.csv", &lines);
    let (code, stderr) = reconcile(&server, &file, &[]);
    assert_eq!(code, 1, "{stderr}");
    let (reconciled, failed) = ("payment_record.reconciled", "payment_record.reconciliation_failed");
    let mut expected: Vec<(String, String)> = [
        (reconciled, &a),
        (failed, &b),
        (failed, &c),
        (reconciled, &d),
        (failed, &e),
    ]
    .into_iter()
    .map(|(kind, id)| (kind.to_owned(), id.clone()))
    .collect();
    expected.sort();
    assert_eq!(told(&server).await, expected, "each status once, as its slice was kept");
    // A second pass settles every payment from the outcomes kept, and finds nothing to change.
    let before = everything(&server).await;
    let (code, stderr) = reconcile(&server, &file, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(everything(&server).await, before);
    let e_results = get(&server, "/payrec/v1/reconciliation_results", &[("payment_record", &e)]).await;
    assert_eq!(data(&e_results)[0]["category"], "missing_in_file");
}

#[backend_test]
async fn slices_written_at_once_each_close_another_run_s_breaks_and_lose_no_count(server: TestServer) {
    paid(&server, "REF-A", "1000").await;
    paid(&server, "REF-B", "2000").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let day1 = statement(dir.path(), "day1.csv", &[("NOPE", "1.00")]);
    reconcile(&server, &day1, &[]);
    let runs = get(&server, "/payrec/v1/reconciliation_runs", &[]).await;
    let day1_run = id_of(&data(&runs)[0]);
    assert_eq!(data(&runs)[0]["open_breaks"], 3, "NOPE, and A and B missing");
    // A and B are matched by two slices of day 2, written at once: each closes its break of
    // day 1 and takes one from day 1's count.
    let fillers: Vec<String> = (0..600).map(|i| format!("FILL-{i}")).collect();
    let mut lines: Vec<(&str, &str)> = vec![("REF-A", "10.00")];
    lines.extend(fillers.iter().map(|f| (f.as_str(), "1.00")));
    lines.push(("REF-B", "20.00"));
    reconcile(&server, &statement(dir.path(), "day2.csv", &lines), &[]);
    let run = get(&server, &format!("/payrec/v1/reconciliation_runs/{day1_run}"), &[]).await;
    assert_eq!(run["open_breaks"], 1, "only NOPE is left open: {run}");
}

#[backend_test]
async fn a_dry_run_keeps_nothing(server: TestServer) {
    paid(&server, "REF-A", "1000").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = statement(dir.path(), "day1.csv", &[("REF-A", "10.00")]);
    let (code, stderr) = reconcile(&server, &file, &["--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(data(&get(&server, "/payrec/v1/reconciliation_runs", &[]).await).is_empty());
    assert!(!server.event_types().await.iter().any(|t| t.contains("reconcil")));
}

#[backend_test]
async fn the_read_api_answers_stripe_shaped_errors_and_lives_under_payrec_only(server: TestServer) {
    let r = server
        .get("/payrec/v1/reconciliation_breaks", &[("category", "nope")])
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json["error"]["param"], "category");
    let r = server.get("/payrec/v1/reconciliation_runs/recrun_nope", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json["error"]["code"], "resource_missing");
    let r = server
        .get("/payrec/v1/reconciliation_runs", &[("starting_after", "recrun_nope")])
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(server.get("/v1/reconciliation_runs", &[]).await.status, 404);
}
