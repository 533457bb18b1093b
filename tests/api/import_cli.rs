//! `payrec import` (issue 17) on both backends: an export imported into an empty database
//! exports again byte for byte; a second import creates nothing; a bad line is reported with
//! its number, param and message while the rest are imported (`--stop-on-error`, `--dry-run`);
//! imported payments answer the API like reported ones, events included; the progress lines
//! off a terminal; usage and file errors exit 2 and write nothing.

use crate::common::backend_test;
use std::path::Path;

use crate::common::child::{run_payrec, run_payrec_with};
use crate::common::form::payment_with;
use crate::common::rules::report_outcome;
use crate::common::{Api, EmptyDatabase, TestServer, empty_database, id_of};
use crate::export_cli::ledger;

/// `payrec import ARGS` on `url`: the exit code and stderr.
fn import(url: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    let (code, _, stderr) = run_payrec_with(url, &all, &[]);
    (code, stderr)
}

/// `payrec export ARGS` on `url` (its one account unless named): stdout.
fn export(url: &str, args: &[&str]) -> String {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let (ok, stdout, stderr) = run_payrec(url, &all);
    assert!(ok, "export failed: {stderr}");
    stdout
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A CSV of `n` pending payments, one a second, each with its own reference.
fn history(dir: &Path, n: u64) -> String {
    let rows: Vec<String> = (0..n)
        .map(|i| format!("usd,{},{},h-{i}", 100 + i, 1730211200 + i))
        .collect();
    let text = format!(
        "currency,amount_requested,created,payment_reference\n{}\n",
        rows.join("\n")
    );
    write(dir, "history.csv", &text)
}

/// `ledger`'s two payments, and a failed, a canceled and a described one: five.
async fn varied_ledger(server: &TestServer) {
    ledger(server).await;
    let failed = id_of(&server.pending_payment(900).await);
    assert_eq!(
        report_outcome(server, &failed, "failed", "1730211900").await.status,
        200
    );
    let canceled = id_of(&server.pending_payment(901).await);
    assert_eq!(
        report_outcome(server, &canceled, "canceled", "1730211901").await.status,
        200
    );
    let described = server
        .report_payment(&payment_with(&[
            ("amount_requested[currency]", "jpy"),
            ("amount_requested[value]", "1200"),
            ("description", "two, \"quoted\"\nlines"),
            ("customer_details[email]", "ana@example.com"),
            ("customer_details[name]", "Ana Lima"),
            ("metadata[a]", "1"),
            ("metadata[b]", "x,y"),
        ]))
        .await;
    assert_eq!(described.status, 200, "{}", described.body);
}

#[backend_test]
async fn an_export_imported_into_an_empty_database_exports_the_same_file(server: TestServer) {
    varied_ledger(&server).await;
    server.with_key(&server.live_key).pending_payment(4242).await;
    let dir = tempfile::tempdir().unwrap();
    let account = server.account_id.as_str();
    let test_file = write(
        dir.path(),
        "test.csv",
        &export(&server.database_url, &["--account", account]),
    );
    let live_file = write(
        dir.path(),
        "live.csv",
        &export(&server.database_url, &["--account", account, "--mode", "live"]),
    );
    let empty = empty_database(server.backend).await;
    let (code, stderr) = import(&empty.url, &[&test_file]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("imported 5 payments"), "{stderr}");
    let (code, stderr) = import(&empty.url, &[&live_file, "--mode", "live"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        export(&empty.url, &[]),
        std::fs::read_to_string(&test_file).unwrap(),
        "the same CSV, byte for byte"
    );
    assert_eq!(
        export(&empty.url, &["--mode", "live"]),
        std::fs::read_to_string(&live_file).unwrap()
    );
    // A live line is not imported into test mode by mistake.
    let (code, stderr) = import(&empty.url, &[&live_file]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("line 2: livemode:") && stderr.contains("--mode live"),
        "{stderr}"
    );
}

#[backend_test]
async fn importing_twice_creates_nothing_new(server: TestServer) {
    varied_ledger(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "records.csv",
        &export(&server.database_url, &["--account", &server.account_id]),
    );
    // Report calls without ids: the ids are made from the lines, the same every run.
    let calls: Vec<String> = (0..3)
        .map(|i| {
            serde_json::json!({
                "amount_requested": {"currency": "usd", "value": 100 + i},
                "initiated_at": 1730211200 + i,
                "payment_method_details": {"type": "custom"},
                "outcome": "guaranteed",
                "guaranteed": {"guaranteed_at": 1730211300 + i},
                "refunds": [{
                    "outcome": "refunded",
                    "processor_details": {"type": "custom", "custom": {"refund_reference": format!("rf-{i}")}},
                    "amount": {"currency": "usd", "value": 50},
                }],
            })
            .to_string()
        })
        .collect();
    let jsonl = write(dir.path(), "calls.jsonl", &(calls.join("\n") + "\n"));
    let empty = empty_database(server.backend).await;
    for file in [&file, &jsonl] {
        let (code, stderr) = import(&empty.url, &[file]);
        assert_eq!(code, Some(0), "{stderr}");
    }
    let records = export(&empty.url, &[]);
    let events = export(&empty.url, &["--object", "events"]).lines().count();
    let refunds = export(&empty.url, &["--object", "refunds"]);
    for (file, lines) in [(&file, 5), (&jsonl, 3)] {
        let (code, stderr) = import(&empty.url, &[file]);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(
            stderr.contains("imported 0 payments") && stderr.contains(&format!("{lines} imported before")),
            "{stderr}"
        );
    }
    assert_eq!(export(&empty.url, &[]), records, "no record twice");
    assert_eq!(export(&empty.url, &["--object", "refunds"]), refunds, "no refund twice");
    assert_eq!(
        export(&empty.url, &["--object", "events"]).lines().count(),
        events,
        "no event twice"
    );
    assert_eq!(
        records.lines().count(),
        1 + 5 + 3 + 1,
        "one description holds a line break"
    );
}

#[backend_test]
async fn a_bad_line_in_the_middle_is_reported_and_the_rest_imported(server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        "usd,100,1730211201,ref-1",
        "usd,200,1730211202,ref-2",
        "usd,12x,1730211203,ref-3",
        "usd,400,1730211204,ref-4",
        "usd,500,1730211205,ref-5",
    ];
    let text = format!(
        "currency,amount_requested,created,payment_reference\n{}\n",
        rows.join("\n")
    );
    let file = write(dir.path(), "history.csv", &text);
    // --dry-run: judged, nothing written.
    let (code, stderr) = import(&server.database_url, &[&file, "--dry-run"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("would import 4 payments"), "{stderr}");
    let exported = export(&server.database_url, &["--account", &server.account_id]);
    assert_eq!(exported.lines().count(), 1, "a dry run writes nothing");
    let empty = empty_database(server.backend).await;
    let (code, stderr) = import(&empty.url, &[&file]);
    assert_eq!(code, Some(1), "a refused line: exit 1\n{stderr}");
    assert!(
        stderr.contains("line 4: amount_requested[value]: Invalid integer: 12x"),
        "line, param and message: {stderr}"
    );
    assert!(
        stderr.contains("imported 4 payments") && stderr.contains("1 refused"),
        "{stderr}"
    );
    let references: Vec<String> = csv_column(&export(&empty.url, &[]), "payment_reference");
    assert_eq!(references, ["ref-5", "ref-4", "ref-2", "ref-1"]);
    // --stop-on-error: what came before the bad line is imported, nothing after it.
    let other = empty_database(server.backend).await;
    let (code, stderr) = import(&other.url, &[&file, "--stop-on-error"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("stopped at line 4"), "{stderr}");
    assert_eq!(
        csv_column(&export(&other.url, &[]), "payment_reference"),
        ["ref-2", "ref-1"]
    );
    // Fixed and run again: the rest, and nothing twice.
    let fixed = write(dir.path(), "fixed.csv", &text.replace("12x", "300"));
    let (code, stderr) = import(&other.url, &[&fixed]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("imported 3 payments") && stderr.contains("2 imported before"),
        "{stderr}"
    );
}

fn csv_column(csv_text: &str, name: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let i = reader.headers().unwrap().iter().position(|h| h == name).unwrap();
    reader.records().map(|r| r.unwrap()[i].to_owned()).collect()
}

#[backend_test]
async fn imported_payments_answer_the_api_like_reported_ones(server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let line = serde_json::json!({
        "id": "pr_legacy_0001",
        "latest_attempt": "par_legacy_0001",
        "created": "2024-10-29T14:13:20Z",
        "amount_requested": {"currency": "eur", "value": 2500},
        "initiated_at": 1730211000,
        "payment_method_details": {"type": "custom", "custom": {"display_name": "Bank transfer"}},
        "processor_details": {"type": "custom", "custom": {"payment_reference": "sepa-1"}},
        "outcome": "guaranteed",
        "guaranteed": {"guaranteed_at": 1730211300},
        "metadata": {"source": "legacy"},
        "refunds": [
            {"outcome": "refunded", "processor_details": {"type": "custom", "custom": {"refund_reference": "sepa-r1"}},
             "amount": {"currency": "eur", "value": 1000}, "refunded": {"refunded_at": 1730212000}},
        ],
    });
    let file = write(dir.path(), "history.jsonl", &format!("{line}\n"));
    let empty: EmptyDatabase = empty_database(server.backend).await;
    let (code, stderr) = import(&empty.url, &[&file]);
    assert_eq!(code, Some(0), "{stderr}");
    drop(server);
    let imported = TestServer::start_on_empty(empty, payrec::ServerConfig::default()).await;
    let record = imported.record("pr_legacy_0001").await;
    assert_eq!(record["created"], 1730211200);
    assert_eq!(record["amount_refunded"]["value"], 1000);
    assert_eq!(record["amount_guaranteed"]["value"], 2500);
    assert_eq!(record["latest_payment_attempt_record"], "par_legacy_0001");
    assert_eq!(record["metadata"]["source"], "legacy");
    assert_eq!(record["processor_details"]["custom"]["payment_reference"], "sepa-1");
    let attempt = imported.get("/v1/payment_attempt_records/par_legacy_0001", &[]).await;
    assert_eq!(attempt.status, 200, "{}", attempt.body);
    assert_eq!(attempt.json["payment_record"], "pr_legacy_0001");
    // The events the same calls make through the API: created, then updated by the refund.
    let events = imported.get("/v1/events", &[("limit", "10")]).await.json;
    let types: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["object"]["id"] == "pr_legacy_0001")
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"payment_record.created"), "{types:?}");
    assert!(types.len() >= 2, "the refund's event too: {types:?}");
    // The record takes API calls like any other: the rest refunded.
    let rest = crate::common::rules::refund(&imported, "pr_legacy_0001", "sepa-r2", &[]).await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(rest.json["amount_refunded"]["value"], 2500);
    let taken = crate::common::rules::refund(&imported, "pr_legacy_0001", "sepa-r1", &[]).await;
    assert_eq!(
        taken.status, 400,
        "the imported refund's reference is taken: {}",
        taken.body
    );
}

#[backend_test]
async fn progress_off_a_terminal_is_plain_lines_and_a_summary(server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let file = history(dir.path(), 300);
    let empty = empty_database(server.backend).await;
    // Without RUST_LOG: the command's own default, which keeps the migrations' INFO lines for
    // `serve` and `migrate`.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_payrec"))
        .args(["import", &file])
        .env("DATABASE_URL", &empty.url)
        .env_remove("RUST_LOG")
        .env("PAYREC_PROGRESS_INTERVAL_MS", "0")
        .output()
        .expect("run payrec import");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("INFO") && !stderr.contains("applied a migration"),
        "no log lines but warnings: {stderr}"
    );
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("payrec: importing: "))
        .collect();
    assert!(progress.len() > 10, "a line per step at a 0 ms interval: {stderr}");
    assert!(
        progress
            .iter()
            .all(|l| l.contains(" lines (") && l.contains("%), ") && l.contains(" lines/s, ") && l.ends_with(" MB/s")),
        "lines/s and MB/s, never a raw byte rate: {progress:?}"
    );
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r'),
        "no bar or colours in a log"
    );
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with("payrec: imported 300 payments"),
        "a final summary: {last}"
    );
    // At the default interval, a fast import writes only its summary.
    let again = empty_database(server.backend).await;
    let (_, _, stderr) = run_payrec_with(&again.url, &["import", &file], &[]);
    let printed: Vec<&str> = stderr.lines().filter(|l| l.starts_with("payrec: ")).collect();
    assert!(printed.len() <= 2, "{stderr}");
}

#[backend_test]
async fn usage_and_file_errors_exit_2_and_write_nothing(server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let url = server.database_url.as_str();
    let wrong = write(dir.path(), "wrong.csv", "amount,when\n10,2024-10-29\n");
    let (code, stderr) = import(url, &[&wrong]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no column \"currency\"") && stderr.contains("amount, when"),
        "the missing column and the header seen: {stderr}"
    );
    let empty_file = write(dir.path(), "empty.csv", "");
    let (code, stderr) = import(url, &[&empty_file]);
    assert_eq!((code, stderr.contains("is empty")), (Some(2), true), "{stderr}");
    let (code, stderr) = import(url, &[&dir.path().join("absent.csv").display().to_string()]);
    assert_eq!((code, stderr.contains("cannot read")), (Some(2), true), "{stderr}");
    let valid = write(
        dir.path(),
        "valid.csv",
        "currency,amount_requested,created\nusd,100,1730211200\n",
    );
    let (code, stderr) = import(url, &[&valid, "--account", "bogus"]);
    assert_eq!(
        (code, stderr.contains("not an account id")),
        (Some(2), true),
        "{stderr}"
    );
    let exported = export(url, &["--account", &server.account_id]);
    assert_eq!(exported.lines().count(), 1, "nothing written");
    // Not UTF-8, and not JSON: those lines are refused, the others imported.
    let mut bytes = b"currency,amount_requested,created\nusd,100,1730211200\n".to_vec();
    bytes.extend_from_slice(b"usd,\xff\xfe,1730211201\nusd,300,1730211202\n");
    let latin = dir.path().join("latin1.csv");
    std::fs::write(&latin, bytes).unwrap();
    let empty = empty_database(server.backend).await;
    let (code, stderr) = import(&empty.url, &[&latin.display().to_string()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("line 3: the line is not UTF-8 text"), "{stderr}");
    assert!(stderr.contains("imported 2 payments"), "{stderr}");
    let jsonl = write(dir.path(), "calls.jsonl", "{\"amount_requested\": \n");
    let (code, stderr) = import(&empty.url, &[&jsonl]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("line 1: not a JSON object"), "{stderr}");
}

/// The number in "imported N payments" of a summary.
fn imported_count(stderr: &str) -> u64 {
    let at = stderr.find("imported ").expect("a summary") + "imported ".len();
    stderr[at..].split(' ').next().unwrap().parse().expect("a count")
}

#[backend_test]
async fn ctrl_c_stops_between_payments_and_the_next_run_finishes(server: TestServer) {
    use tokio::io::AsyncBufReadExt;
    const LINES: u64 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let file = history(dir.path(), LINES);
    let empty = empty_database(server.backend).await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_payrec"))
        .args(["import", &file])
        .env("DATABASE_URL", &empty.url)
        .env("RUST_LOG", "warn")
        .env("PAYREC_PROGRESS_INTERVAL_MS", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn payrec import");
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut stderr = String::new();
    let mut signalled = false;
    while let Some(line) = lines.next_line().await.unwrap() {
        if !signalled && line.starts_with("payrec: importing") {
            let pid = child.id().expect("running").to_string();
            let sent = std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap();
            assert!(sent.success(), "kill -INT");
            signalled = true;
        }
        if !line.starts_with("payrec: importing") {
            stderr.push_str(&line);
            stderr.push('\n');
        }
    }
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(2), "stopped: {stderr}");
    assert!(
        stderr.contains("interrupted") && stderr.contains("running the import again skips it"),
        "{stderr}"
    );
    let committed = imported_count(&stderr);
    assert!(committed < LINES, "stopped before the end: {stderr}");
    let exported = export(&empty.url, &[]).lines().count() as u64 - 1;
    assert_eq!(exported, committed, "what was reported committed is what is there");
    let (code, stderr) = import(&empty.url, &[&file]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(imported_count(&stderr), LINES - committed, "{stderr}");
    assert!(stderr.contains(&format!("{committed} imported before")), "{stderr}");
    assert_eq!(export(&empty.url, &[]).lines().count() as u64, 1 + LINES);
}
