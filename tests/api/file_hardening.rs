//! The files payrec writes and reads are safe to open and to hand over: CSV cells a
//! spreadsheet would run as formulas are neutralised (and read back exactly by the import),
//! outputs are private (0600), never written through a link nor over the database, and the
//! import refuses out-of-range times and endless fields with a clear error instead of a panic.

use crate::common::backend_test;
use std::os::unix::fs::PermissionsExt;

use crate::common::child::{run_payrec, run_payrec_with};
use crate::common::dashboard::Browser;
use crate::common::form::payment_with;
use crate::common::{Api, TestServer, empty_database, id_of};

const FORMULAS: [&str; 4] = ["=HYPERLINK(\"http://evil\")", "+1+1", "-2+3", "@SUM(A1)"];

async fn formula_payments(server: &TestServer) {
    for (i, formula) in FORMULAS.iter().enumerate() {
        let reference = format!("formula-{i}");
        let form = payment_with(&[
            ("description", formula),
            ("processor_details[type]", "custom"),
            ("processor_details[custom][payment_reference]", &reference),
        ]);
        id_of(&server.report_payment(&form).await.ok());
    }
}

fn cells(csv_text: &str) -> Vec<String> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv_text.as_bytes())
        .records()
        .flat_map(|r| r.unwrap().iter().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

#[backend_test]
async fn csv_cells_that_would_run_as_formulas_are_neutralised_and_import_back_exactly(server: TestServer) {
    formula_payments(&server).await;
    let (ok, exported, stderr) = run_payrec(&server.database_url, &["export", "--account", &server.account_id]);
    assert!(ok, "{stderr}");
    let all = cells(&exported);
    for formula in FORMULAS {
        assert!(
            all.contains(&format!("'{formula}")),
            "{formula} neutralised in {exported}"
        );
        assert!(!all.iter().any(|c| c == formula), "{formula} written as is");
    }
    let mut browser = Browser::new(&server.base);
    browser.sign_in(&server.test_key).await;
    let download = browser.get("/dashboard/payments/export.csv").await;
    assert_eq!(download.status, 200);
    assert!(
        cells(&download.body).contains(&format!("'{}", FORMULAS[0])),
        "{}",
        download.body
    );
    // The import reads the export back to the same values.
    let empty = empty_database(server.backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    std::fs::write(&file, &exported).unwrap();
    let (code, _, stderr) = run_payrec_with(&empty.url, &["import", &file.display().to_string()], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let (ok, again, stderr) = run_payrec(&empty.url, &["export"]);
    assert!(ok, "{stderr}");
    assert_eq!(again, exported, "the round trip is exact");
}

#[backend_test]
async fn outputs_are_private_and_never_written_through_a_link_or_over_the_database(server: TestServer) {
    formula_payments(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let out_text = out.display().to_string();
    let export_to = |path: &str| {
        run_payrec(
            &server.database_url,
            &["export", "--account", &server.account_id, "--output", path],
        )
    };
    let (ok, _, stderr) = export_to(&out_text);
    assert!(ok, "{stderr}");
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    // A link at the output's name, or at its .partial, is not followed.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    let linked = dir.path().join("linked.csv");
    std::os::unix::fs::symlink(&victim, &linked).unwrap();
    let (ok, _, stderr) = export_to(&linked.display().to_string());
    assert!(!ok && stderr.contains("symbolic link"), "{stderr}");
    let partial_target = dir.path().join("p.csv");
    std::os::unix::fs::symlink(&victim, dir.path().join("p.csv.partial")).unwrap();
    let (ok, _, stderr) = export_to(&partial_target.display().to_string());
    assert!(!ok && stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    if server.backend == crate::common::Backend::Sqlite {
        let db = server.db_path.display().to_string();
        let (ok, _, stderr) = export_to(&db);
        assert!(!ok && stderr.contains("database's own files"), "{stderr}");
        let wal = format!("{db}-wal");
        let (ok, _, stderr) = export_to(&wal);
        assert!(!ok && stderr.contains("database's own files"), "{stderr}");
    }
    // reconcile --report: private too, and a reference from the file is neutralised.
    let bank = dir.path().join("bank.csv");
    std::fs::write(&bank, "Reference,Amount,Currency\n=cmd|' /C calc'!A0,1.00,usd\n").unwrap();
    let report = dir.path().join("report.csv");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_payrec"))
        .args([
            "reconcile",
            &bank.display().to_string(),
            "--account",
            &server.account_id,
        ])
        .args([
            "--reference-column",
            "Reference",
            "--amount-column",
            "Amount",
            "--currency-column",
            "Currency",
        ])
        .args(["--report", &report.display().to_string()])
        .env("DATABASE_URL", &server.database_url)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(std::fs::metadata(&report).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(cells(&text).contains(&"'=cmd|' /C calc'!A0".to_owned()), "{text}");
}

#[backend_test]
async fn import_refuses_times_the_api_refuses_and_takes_the_latest_it_accepts(server: TestServer) {
    let empty = empty_database(server.backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("times.csv");
    std::fs::write(
        &file,
        "currency,amount_requested,created,initiated_at,payment_reference\n\
         usd,100,,9999-12-31T23:59:59Z,latest\n\
         usd,100,-5,1730211200,negative\n\
         usd,100,253402300800,1730211200,past-9999\n",
    )
    .unwrap();
    let (code, _, stderr) = run_payrec_with(&empty.url, &["import", &file.display().to_string()], &[]);
    assert_eq!(code, Some(1), "two lines refused, no panic: {stderr}");
    assert!(stderr.contains("line 3") && stderr.contains("created"), "{stderr}");
    assert!(stderr.contains("line 4") && stderr.contains("253402300799"), "{stderr}");
    let (ok, exported, stderr) = run_payrec(&empty.url, &["export"]);
    assert!(ok, "{stderr}");
    assert!(
        exported.contains("latest") && exported.contains("253402300799"),
        "{exported}"
    );
    assert!(
        !exported.contains("negative") && !exported.contains("past-9999"),
        "{exported}"
    );
}

#[backend_test]
async fn an_endless_csv_field_is_refused_naming_its_line_without_holding_it(server: TestServer) {
    let empty = empty_database(server.backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("endless.csv");
    let mut text = String::from("currency,amount_requested,created,description\nusd,100,1730211200,fine\n");
    text.push_str("usd,100,1730211201,\"");
    text.push_str(&"x".repeat(8 << 20));
    text.push_str("\"\n");
    std::fs::write(&file, text).unwrap();
    let (code, _, stderr) = run_payrec_with(&empty.url, &["import", &file.display().to_string()], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("line 3") && stderr.contains("1048576 bytes"),
        "{stderr}"
    );
}
