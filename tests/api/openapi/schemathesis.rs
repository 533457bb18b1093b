//! schemathesis (PyPI) against the live server, fed the document the server itself serves: a
//! bounded number of generated requests per operation, valid ones and invalid ones (`--mode
//! all`), plus lifecycles walked along the document's links. No 5xx, and every status, content
//! type, header and body as documented. Installed into a virtualenv under target/; under
//! CI=true this must run.

use std::path::{Path, PathBuf};

use crate::common::{Api, Endpoint, TestServer};

const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// Generated cases per operation in the fuzzing phase (the coverage phase adds its boundary
/// cases, the stateful phase its scenarios): a run of all eleven operations takes ~20 s.
const EXAMPLES_PER_OPERATION: &str = "25";
/// A run that takes longer than this has hung: the test fails rather than holding up CI.
const RUN_SECONDS_MAX: u64 = 300;
/// Longest wait for one response.
const REQUEST_SECONDS_MAX: &str = "10";

/// target/schemathesis-venv/bin/schemathesis; None (outside CI) when it cannot be installed.
fn installed() -> Option<PathBuf> {
    crate::common::venv::venv_bin("schemathesis-venv", SCHEMATHESIS).map(|bin| bin.join("schemathesis"))
}

/// The command line, for the test's output and the report.
pub fn arguments(server: &TestServer) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        &server.url(&Endpoint::OpenApi.path()),
        "--url",
        server.base(),
        "--header",
        &format!("Authorization: Bearer {}", server.test_key),
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,\
         response_headers_conformance,response_schema_conformance",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--mode",
        "all",
        "--max-examples",
        EXAMPLES_PER_OPERATION,
        "--request-timeout",
        REQUEST_SECONDS_MAX,
        "--generation-allow-x00",
        "false",
        "--generation-database",
        "none",
        "--no-color",
    ]
    .map(str::to_owned)
    .into();
    if let Ok(seed) = std::env::var("PAYREC_SCHEMATHESIS_SEED") {
        args.extend(["--seed".to_owned(), seed]);
    }
    args
}

pub async fn run(server: &TestServer) {
    let Some(program) = installed() else { return };
    let work = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/schemathesis-work");
    std::fs::create_dir_all(&work).expect("work dir");
    let args = arguments(server);
    let run = tokio::process::Command::new(program)
        .args(&args)
        .current_dir(&work)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(RUN_SECONDS_MAX), run)
        .await
        .unwrap_or_else(|_| panic!("schemathesis ran longer than {RUN_SECONDS_MAX} s"))
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("schemathesis {}\n{stdout}", args.join(" "));
    assert!(
        output.status.success(),
        "schemathesis found responses the document does not allow\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}
