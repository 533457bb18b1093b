//! `payrec reconcile` on bank statements (issue 32, item 1), both backends: each format's
//! committed fixture reconciles to the expected categories, its format sniffed or named; a
//! malformed statement exits 2 naming the line or element, and writes no report.

use crate::common::backend_test;
use std::path::{Path, PathBuf};

use crate::common::child::run_payrec_with;
use crate::common::form::payment_with;
use crate::common::rules::refund;
use crate::common::{Api, TestServer, id_of};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/statements")
        .join(name)
}

/// A guaranteed payment of `value` minor units of `currency` with processor reference
/// `reference`.
async fn paid(server: &TestServer, reference: &str, value: &str, currency: &str) -> String {
    let form = payment_with(&[
        ("amount_requested[value]", value),
        ("amount_requested[currency]", currency),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][payment_reference]", reference),
        ("outcome", "guaranteed"),
        ("guaranteed[guaranteed_at]", "1730211310"),
    ]);
    let r = server.report_payment(&form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    id_of(&r.json)
}

/// `payrec reconcile FILE ARGS` on the server's database: (exit code, stdout, stderr).
fn reconcile(server: &TestServer, file: &Path, extra: &[&str]) -> (i32, String, String) {
    let file = file.display().to_string();
    let mut args = vec!["reconcile", &file, "--account", &server.account_id];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run_payrec_with(&server.database_url, &args, &[]);
    (code.expect("an exit code"), stdout, stderr)
}

/// The report's (reference, category) rows, in order.
fn rows(report: &Path) -> Vec<(String, String)> {
    let mut reader = csv::Reader::from_path(report).expect("the report");
    reader
        .records()
        .map(|r| {
            let r = r.expect("a row");
            (r[1].to_owned(), r[2].to_owned())
        })
        .collect()
}

fn row(reference: &str, category: &str) -> (String, String) {
    (reference.to_owned(), category.to_owned())
}

#[backend_test]
async fn each_statement_format_reconciles_its_fixture_to_the_expected_categories(server: TestServer) {
    paid(&server, "pr-ref-1001", "100000", "eur").await;
    paid(&server, "pr-ref-1002", "30000", "eur").await;
    paid(&server, "pr-ref-3001", "100000", "usd").await;
    let refunded = paid(&server, "pr-ref-4001", "60000", "eur").await;
    let r = refund(
        &server,
        &refunded,
        "refund-99",
        &[("amount[value]", "12050"), ("amount[currency]", "eur")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            "mt940.sta",
            vec![row("pr-ref-1001", "matched"), row("pr-ref-1002", "amount_mismatch")],
        ),
        (
            "bai2.txt",
            vec![row("pr-ref-3001", "matched"), row("pr-ref-3002", "missing_in_payrec")],
        ),
        (
            "camt053.xml",
            vec![row("pr-ref-4001", "amount_mismatch"), row("refund-99", "matched")],
        ),
    ];
    for (name, expected) in cases {
        let report = dir.path().join(format!("{name}.csv"));
        let report_arg = report.display().to_string();
        let (code, stdout, stderr) = reconcile(&server, &fixture(name), &["--report", &report_arg]);
        assert_eq!(code, 1, "{name}: not everything matched\n{stdout}\n{stderr}");
        let got = rows(&report);
        assert_eq!(got[..expected.len()], expected[..], "{name}: {got:?}");
    }
}

#[backend_test]
async fn the_format_flag_overrides_sniffing_and_a_wrong_one_is_a_file_error(server: TestServer) {
    let (code, _, stderr) = reconcile(&server, &fixture("mt940.sta"), &["--format", "bai2"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("not a valid bai2 statement") && stderr.contains("line 1"),
        "{stderr}"
    );
}

#[backend_test]
async fn a_malformed_statement_exits_2_naming_the_element_and_writes_no_report(server: TestServer) {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(fixture("camt053.xml")).expect("fixture");
    let broken = dir.path().join("broken.xml");
    std::fs::write(
        &broken,
        text.replace("<Amt Ccy=\"EUR\">120.50</Amt>", "<Amt Ccy=\"EUR\">1x0.50</Amt>"),
    )
    .expect("write");
    let report = dir.path().join("report.csv");
    let report_arg = report.display().to_string();
    let (code, _, stderr) = reconcile(&server, &broken, &["--report", &report_arg]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("Ntry[2]/Amt"), "{stderr}");
    assert!(!report.exists(), "nothing was written");
    // Cut short after its entries: the first read finds it, and no run is kept.
    let end = text.rfind("</Ntry>").expect("an entry") + "</Ntry>".len();
    std::fs::write(&broken, format!("{}\n<Ntry><Amt", &text[..end])).expect("write");
    let (code, _, stderr) = reconcile(&server, &broken, &["--report", &report_arg]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a valid camt053 statement: line "), "{stderr}");
    let runs = server.get("/payrec/v1/reconciliation_runs", &[]).await.ok();
    assert_eq!(runs["data"].as_array().map(Vec::len), Some(0), "{runs}");
}

#[backend_test]
async fn the_rules_file_sets_a_tolerance_and_can_turn_off_references_in_text(server: TestServer) {
    paid(&server, "pr-ref-1001", "100000", "eur").await;
    paid(&server, "pr-ref-1002", "25050", "eur").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let judged = |rules: &str| {
        let path = dir.path().join("rules.toml");
        std::fs::write(&path, rules).expect("write rules");
        let report = dir.path().join("report.csv");
        let (args, report_arg) = (path.display().to_string(), report.display().to_string());
        let (code, stdout, stderr) = reconcile(
            &server,
            &fixture("mt940.sta"),
            &["--rules", &args, "--report", &report_arg],
        );
        assert!(code == 0 || code == 1, "{stdout}\n{stderr}");
        rows(&report)
    };
    let tolerant = judged("[tolerance]\nabsolute = 50\n");
    assert_eq!(
        tolerant[1],
        row("pr-ref-1002", "matched_with_tolerance"),
        "{tolerant:?}"
    );
    let exact = judged("");
    assert_eq!(exact[1], row("pr-ref-1002", "amount_mismatch"));
    let no_text = judged("[references]\nin_text = false\n");
    assert_eq!(
        no_text[0],
        row("8327000090031789", "missing_in_payrec"),
        "only the entry's own references"
    );
    // Booked 2024-11-01, three days after the payment's guarantee (2024-10-29).
    let narrow = judged("[date_window]\ndays_after = 2\n");
    assert_eq!(
        narrow[0],
        row("8327000090031789", "missing_in_payrec"),
        "outside the window"
    );
    let wide = judged("[date_window]\ndays_after = 3\n");
    assert_eq!(wide[0], row("pr-ref-1001", "matched"));
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[tolerance]\nrelative = 2\n").expect("write");
    let (code, _, stderr) = reconcile(
        &server,
        &fixture("mt940.sta"),
        &["--rules", &path.display().to_string()],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("tolerance.relative"), "{stderr}");
}

#[backend_test]
async fn a_payout_line_matches_its_settlement_payments_less_their_fees(server: TestServer) {
    paid(&server, "pr-po-1", "100000", "eur").await;
    paid(&server, "pr-po-2", "100000", "eur").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("report.csv");
    let (settlement, report_arg) = (
        fixture("payout_settlement.csv").display().to_string(),
        report.display().to_string(),
    );
    let args = ["--settlement", settlement.as_str(), "--report", report_arg.as_str()];
    let (code, stdout, stderr) = reconcile(&server, &fixture("payout.xml"), &args);
    assert_eq!(code, 0, "everything matched\n{stdout}\n{stderr}");
    assert_eq!(
        rows(&report),
        [
            row("PAYOUT-7", "matched_in_payout"),
            row("pr-po-1", "matched_in_payout"),
            row("pr-po-2", "matched_in_payout"),
        ]
    );
    // Without the second payment's fee the nets no longer add up to the line.
    let short = dir.path().join("short.csv");
    std::fs::write(
        &short,
        "payout_id,payment_reference,currency,gross,fee,net\nPAYOUT-7,pr-po-1,EUR,1000.00,30.00,970.00\n",
    )
    .expect("write");
    let short_arg = short.display().to_string();
    let args = ["--settlement", short_arg.as_str(), "--report", report_arg.as_str()];
    let (code, _, _) = reconcile(&server, &fixture("payout.xml"), &args);
    assert_eq!(code, 1);
    assert_eq!(rows(&report)[0], row("PAYOUT-7", "amount_mismatch"));
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "payout_id,payment_reference,currency,gross,fee,net\nP,x,EUR,10.00,1.00,8.00\n",
    )
    .expect("write");
    let bad_arg = bad.display().to_string();
    let (code, _, stderr) = reconcile(&server, &fixture("payout.xml"), &["--settlement", bad_arg.as_str()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("line 2: net is not gross less fee"), "{stderr}");
}

#[backend_test]
async fn a_settlement_without_a_currency_column_is_read_in_the_line_s_currency(server: TestServer) {
    paid(&server, "pr-po-1", "100000", "eur").await;
    paid(&server, "pr-po-2", "100000", "eur").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (settlement, report) = (dir.path().join("settlement.csv"), dir.path().join("report.csv"));
    // The issue's own order of columns, with the header names a processor's export may use.
    std::fs::write(
        &settlement,
        "Payment Reference,Gross,Fee,Net,Payout ID\npr-po-1,1000.00,30.00,970.00,PAYOUT-7\npr-po-2,1000,30,970,PAYOUT-7\n",
    )
    .expect("write");
    let (settlement_arg, report_arg) = (settlement.display().to_string(), report.display().to_string());
    let args = ["--settlement", settlement_arg.as_str(), "--report", report_arg.as_str()];
    let (code, stdout, stderr) = reconcile(&server, &fixture("payout.xml"), &args);
    assert_eq!(code, 0, "everything matched\n{stdout}\n{stderr}");
    assert_eq!(
        rows(&report),
        [
            row("PAYOUT-7", "matched_in_payout"),
            row("pr-po-1", "matched_in_payout"),
            row("pr-po-2", "matched_in_payout"),
        ]
    );
}

#[backend_test]
async fn a_batch_entry_matches_the_payments_its_transactions_name_when_they_add_up(server: TestServer) {
    // One credit of 300.00 booked as a batch of two transfers, E2E-1 and E2E-2.
    paid(&server, "E2E-1", "10000", "eur").await;
    paid(&server, "E2E-2", "20000", "eur").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("report.csv");
    let report_arg = report.display().to_string();
    let (code, stdout, stderr) = reconcile(&server, &fixture("batch.xml"), &["--report", report_arg.as_str()]);
    assert_eq!(code, 0, "everything matched\n{stdout}\n{stderr}");
    assert_eq!(
        rows(&report),
        [
            row("E2E-1", "matched_in_payout"),
            row("E2E-1", "matched_in_payout"),
            row("E2E-2", "matched_in_payout"),
        ]
    );
    // When they do not add up, the entry is judged by its first payment, as before.
    let short = dir.path().join("short.xml");
    let text = std::fs::read_to_string(fixture("batch.xml")).expect("read the fixture");
    std::fs::write(&short, text.replace(">300.00<", ">350.00<")).expect("write");
    let (code, _, stderr) = reconcile(&server, &short, &["--report", report_arg.as_str()]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(rows(&report), [row("E2E-1", "amount_mismatch")]);
}

#[backend_test]
async fn a_payout_nets_the_refunds_its_settlement_lists_as_negative_rows(server: TestServer) {
    paid(&server, "pr-po-1", "100000", "eur").await;
    paid(&server, "pr-po-2", "100000", "eur").await;
    let third = paid(&server, "pr-po-3", "50000", "eur").await;
    let refunded = refund(
        &server,
        &third,
        "re-po-3",
        &[("amount[value]", "48500"), ("amount[currency]", "eur")],
    )
    .await;
    assert_eq!(refunded.status, 200, "{}", refunded.body);
    let dir = tempfile::tempdir().expect("temp dir");
    // 970.00 + 970.00 + 485.00 - 485.00: the payout line's 1940.00.
    let settlement = dir.path().join("settlement.csv");
    std::fs::write(
        &settlement,
        "payout_id,payment_reference,currency,gross,fee,net\n\
         PAYOUT-7,pr-po-1,EUR,1000.00,30.00,970.00\n\
         PAYOUT-7,pr-po-2,EUR,1000.00,30.00,970.00\n\
         PAYOUT-7,pr-po-3,EUR,500.00,15.00,485.00\n\
         PAYOUT-7,re-po-3,EUR,-485.00,0.00,-485.00\n",
    )
    .expect("write");
    let report = dir.path().join("report.csv");
    let (settlement_arg, report_arg) = (settlement.display().to_string(), report.display().to_string());
    let args = ["--settlement", settlement_arg.as_str(), "--report", report_arg.as_str()];
    let (code, stdout, stderr) = reconcile(&server, &fixture("payout.xml"), &args);
    assert_eq!(code, 0, "everything matched\n{stdout}\n{stderr}");
    assert_eq!(
        rows(&report),
        [
            row("PAYOUT-7", "matched_in_payout"),
            row("pr-po-1", "matched_in_payout"),
            row("pr-po-2", "matched_in_payout"),
            row("pr-po-3", "matched_in_payout"),
            row("re-po-3", "matched_in_payout"),
        ]
    );
    // A refund row whose amount is not the refund's: the payout does not add up.
    std::fs::write(
        &settlement,
        "payout_id,payment_reference,currency,gross,fee,net\n\
         PAYOUT-7,pr-po-1,EUR,1000.00,30.00,970.00\n\
         PAYOUT-7,pr-po-2,EUR,1000.00,30.00,970.00\n\
         PAYOUT-7,pr-po-3,EUR,500.00,15.00,485.00\n\
         PAYOUT-7,re-po-3,EUR,-480.00,5.00,-485.00\n",
    )
    .expect("write");
    let (code, _, _) = reconcile(&server, &fixture("payout.xml"), &args);
    assert_eq!(code, 1);
    assert_eq!(rows(&report)[0], row("PAYOUT-7", "amount_mismatch"));
}

#[backend_test]
async fn a_payment_named_by_a_line_and_by_a_later_payout_is_counted_once(server: TestServer) {
    paid(&server, "pr-po-1", "100000", "eur").await;
    paid(&server, "pr-po-2", "100000", "eur").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let today = payrec::clock::unix_now();
    let file = dir.path().join("bank.csv");
    std::fs::write(
        &file,
        format!("Reference,Amount,Date\npr-po-1,1000.00,{today}\nPAYOUT-7,1940.00,{today}\n"),
    )
    .expect("write");
    let report = dir.path().join("report.csv");
    let (settlement, report_arg) = (
        fixture("payout_settlement.csv").display().to_string(),
        report.display().to_string(),
    );
    let args = [
        "--settlement",
        settlement.as_str(),
        "--report",
        report_arg.as_str(),
        "--reference-column",
        "Reference",
        "--amount-column",
        "Amount",
        "--date-column",
        "Date",
        "--currency",
        "eur",
    ];
    let (code, stdout, stderr) = reconcile(&server, &file, &args);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(
        rows(&report),
        [
            row("pr-po-1", "matched"),
            row("PAYOUT-7", "duplicate_in_file"),
            row("pr-po-2", "missing_in_file"),
        ],
        "pr-po-1 is counted where it was first named, once"
    );
    // The other way round: the payout first, then a line naming one of its payments.
    std::fs::write(
        &file,
        format!("Reference,Amount,Date\nPAYOUT-7,1940.00,{today}\npr-po-1,1000.00,{today}\n"),
    )
    .expect("write");
    let (code, stdout, stderr) = reconcile(&server, &file, &args);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(
        rows(&report),
        [
            row("PAYOUT-7", "matched_in_payout"),
            row("pr-po-1", "matched_in_payout"),
            row("pr-po-2", "matched_in_payout"),
            row("pr-po-1", "duplicate_in_file"),
        ]
    );
}

#[backend_test]
async fn a_statement_whose_lines_bring_many_references_is_looked_up_in_bounded_slices(server: TestServer) {
    paid(&server, "bulk-ref-599", "1000", "eur").await;
    let entries: String = (0..600)
        .map(|i| {
            format!(
                "<Ntry><Amt Ccy=\"EUR\">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><AcctSvcrRef>BANK-{i}</AcctSvcrRef>\
                 <NtryDtls><TxDtls><Refs><EndToEndId>bulk-ref-{i}</EndToEndId></Refs>\
                 <RmtInf><Ustrd>Invoice {i} order bulk-order-{i}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
            )
        })
        .collect();
    let xml = format!("<Document><BkToCstmrStmt><Stmt>{entries}</Stmt></BkToCstmrStmt></Document>");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bulk.xml");
    std::fs::write(&file, xml).expect("write");
    let report = dir.path().join("report.csv");
    let report_arg = report.display().to_string();
    let (code, stdout, stderr) = reconcile(&server, &file, &["--report", &report_arg]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let rows = rows(&report);
    assert_eq!(rows.len(), 600);
    assert_eq!(
        rows[599],
        row("bulk-ref-599", "matched"),
        "the last slice was looked up too"
    );
}
