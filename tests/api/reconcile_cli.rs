//! `payrec reconcile` (issue 17) on both backends: a file with one case of every category
//! reports exactly those, line by line; the exit codes; the file errors a user meets.

use crate::common::backend_test;
use std::path::Path;

use crate::common::form::payment_with;
use crate::common::rules::refund;
use crate::common::{Api, TestServer, id_of};

/// A payment of `value` cents of USD with processor reference `reference`, reported with
/// `outcome`.
async fn paid(server: &TestServer, reference: &str, value: &str, outcome: &str) -> String {
    let at = format!("{outcome}[{outcome}_at]");
    let form = payment_with(&[
        ("amount_requested[value]", value),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][payment_reference]", reference),
        ("outcome", outcome),
        (&at, "1730211310"),
    ]);
    id_of(&server.report_payment(&form).await.ok())
}

/// `payrec reconcile` on `file`: (exit code, stdout, stderr).
fn reconcile(server: &TestServer, file: &Path, extra: &[&str]) -> (i32, String, String) {
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
        "--currency-column",
        "Currency",
    ];
    args.extend_from_slice(extra);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_payrec"))
        .args(&args)
        .env("DATABASE_URL", &server.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run payrec");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn count(summary: &str, category: &str) -> u64 {
    summary
        .lines()
        .find_map(|l| l.strip_prefix(&format!("| {category} | ")))
        .and_then(|rest| rest.trim_end_matches(" |").parse().ok())
        .unwrap_or_else(|| panic!("{category} in {summary}"))
}

#[backend_test]
async fn a_file_with_every_case_reports_each_category_once(server: TestServer) {
    let a = paid(&server, "A", "1000", "guaranteed").await;
    assert_eq!(
        refund(
            &server,
            &a,
            "RF-A",
            &[("amount[value]", "200"), ("amount[currency]", "usd")]
        )
        .await
        .status,
        200
    );
    paid(&server, "B", "2000", "guaranteed").await;
    paid(&server, "C", "500", "guaranteed").await;
    let d = paid(&server, "D", "700", "failed").await;
    let f = paid(&server, "F", "300", "guaranteed").await;
    // Another account's payment with reference E is not this ledger's.
    let other = server.with_key(&server.new_account_key(false).await);
    other
        .report_payment(&payment_with(&[
            ("processor_details[type]", "custom"),
            ("processor_details[custom][payment_reference]", "E"),
        ]))
        .await
        .ok();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settlement.csv");
    std::fs::write(
        &file,
        "Reference,Amount,Currency,Note\n\
         A,10.00,USD,paid\n\
         B,19.99,usd,short\n\
         C,5.00,eur,wrong currency\n\
         D,7.00,usd,failed in payrec\n\
         E,1.00,usd,unknown\n\
         A,10.00,usd,twice\n\
         RF-A,-2.00,usd,a refund\n",
    )
    .unwrap();
    let report = dir.path().join("report.csv");
    let report_text = report.display().to_string();
    let (code, summary, stderr) = reconcile(&server, &file, &["--report", &report_text]);
    assert_eq!(code, 1, "something did not match: {summary} {stderr}");
    for (category, n) in [
        ("matched", 2),
        ("amount_mismatch", 1),
        ("currency_mismatch", 1),
        ("not_guaranteed", 1),
        ("missing_in_payrec", 1),
        ("missing_in_file", 1),
        ("duplicate_in_file", 1),
    ] {
        assert_eq!(count(&summary, category), n, "{category}: {summary}");
    }
    let rows: Vec<Vec<String>> = csv::Reader::from_path(&report)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let by_line = |line: &str| {
        rows.iter()
            .find(|r| r[0] == line)
            .unwrap_or_else(|| panic!("line {line}: {rows:?}"))
    };
    assert_eq!(by_line("2")[2], "matched");
    assert_eq!(by_line("2")[6], a);
    assert_eq!(by_line("3")[2], "amount_mismatch");
    assert_eq!((by_line("3")[3].as_str(), by_line("3")[7].as_str()), ("1999", "2000"));
    assert_eq!(by_line("4")[2], "currency_mismatch");
    assert_eq!(by_line("5")[2], "not_guaranteed");
    assert_eq!(
        (by_line("5")[6].as_str(), by_line("5")[9].as_str()),
        (d.as_str(), "failed")
    );
    assert_eq!(by_line("6")[2], "missing_in_payrec");
    assert_eq!(by_line("7")[2], "duplicate_in_file");
    assert_eq!(by_line("8")[2], "matched", "the refund line");
    let missing: Vec<&Vec<String>> = rows.iter().filter(|r| r[2] == "missing_in_file").collect();
    assert_eq!(missing.len(), 1);
    assert_eq!((missing[0][0].as_str(), missing[0][6].as_str()), ("", f.as_str()));
    assert_eq!(rows.len(), 8, "one row per line and per missing payment");
}

#[backend_test]
async fn a_file_that_matches_everything_exits_zero(server: TestServer) {
    paid(&server, "A", "1000", "guaranteed").await;
    paid(&server, "B", "250", "guaranteed").await;
    paid(&server, "D", "700", "canceled").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bank.csv");
    std::fs::write(&file, "Reference,Amount,Currency\nA,1000,usd\nB,250,usd\n").unwrap();
    // Not kept: a kept run's match of B would keep B from being missing from a later file.
    let (code, summary, stderr) = reconcile(&server, &file, &["--amounts", "minor", "--dry-run"]);
    assert_eq!(code, 0, "{summary} {stderr}");
    assert_eq!(count(&summary, "matched"), 2);
    // A window that excludes the payments: they are not missing from a file of another day.
    std::fs::write(&file, "Reference,Amount,Currency\nA,1000,usd\n").unwrap();
    let (code, summary, _) = reconcile(&server, &file, &["--amounts", "minor", "--until", "2001-01-01"]);
    assert_eq!((code, count(&summary, "missing_in_file")), (0, 0), "{summary}");
    let (code, summary, _) = reconcile(&server, &file, &["--amounts", "minor"]);
    assert_eq!(
        (code, count(&summary, "missing_in_file")),
        (1, 1),
        "B is missing: {summary}"
    );
}

#[backend_test]
async fn file_and_usage_errors_exit_two_and_say_what_is_wrong(server: TestServer) {
    paid(&server, "A", "1000", "guaranteed").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bank.csv");
    std::fs::write(&file, "Ref,Amount,Currency\nA,10.00,usd\n").unwrap();
    let (code, _, stderr) = reconcile(&server, &file, &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("\"Reference\"") && stderr.contains("Ref, Amount, Currency"),
        "{stderr}"
    );
    std::fs::write(&file, "").unwrap();
    let (code, _, stderr) = reconcile(&server, &file, &[]);
    assert!(code == 2 && stderr.contains("empty"), "{stderr}");
    std::fs::write(&file, "Reference,Amount,Currency\nA,10.00,usd\nB,ten,usd\n").unwrap();
    let (code, _, stderr) = reconcile(&server, &file, &[]);
    assert!(
        code == 2 && stderr.contains("line 3") && stderr.contains("\"ten\""),
        "{stderr}"
    );
    std::fs::write(&file, b"Reference,Amount,Currency\nA,10.00,usd\n\xff\xfe,1.00,usd\n").unwrap();
    let (code, _, stderr) = reconcile(&server, &file, &[]);
    assert!(
        code == 2 && stderr.contains("line 3") && stderr.contains("UTF-8"),
        "{stderr}"
    );
    let (code, _, stderr) = reconcile(&server, &dir.path().join("absent.csv"), &[]);
    assert!(code == 2 && stderr.contains("absent.csv"), "{stderr}");
    let (code, _, stderr) = reconcile(&server, &file, &["--amounts", "cents"]);
    assert!(code == 2 && stderr.contains("cents"), "{stderr}");
}
