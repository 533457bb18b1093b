//! Stripe's official Python SDK (stripe==16.1.0) against the real server: what SDK users see.
//! The SDK is installed into a virtualenv under target/; under CI=true this test must run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::TestServer;

const STRIPE_SDK: &str = "stripe==16.1.0";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// target/sdk-venv with the SDK installed; None (outside CI) when Python is unusable here.
fn sdk_python() -> Option<PathBuf> {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let venv = target.join("sdk-venv");
    let python = venv.join("bin").join("python");
    let marker = venv.join(".stripe-16.1.0");
    if marker.exists() {
        return Some(python);
    }
    let fail = |what: &str| -> Option<PathBuf> {
        assert!(!in_ci(), "SDK conformance cannot run under CI: {what}");
        eprintln!("skipping SDK conformance (not under CI): {what}");
        None
    };
    let created = Command::new("python3").args(["-m", "venv"]).arg(&venv).status();
    if !created.is_ok_and(|s| s.success()) {
        return fail("python3 -m venv failed");
    }
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            STRIPE_SDK,
        ])
        .status();
    if !installed.is_ok_and(|s| s.success()) {
        return fail("pip install stripe==16.1.0 failed");
    }
    std::fs::write(&marker, STRIPE_SDK).expect("write venv marker");
    Some(python)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_sdk_walks_the_whole_lifecycle() {
    let Some(python) = sdk_python() else { return };
    let server = TestServer::start().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/conformance.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .env("PAYREC_URL", &server.base)
        .env("PAYREC_KEY", &server.test_key)
        .output()
        .await
        .expect("run the SDK script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK conformance failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("SDK conformance: all checks passed"), "{stdout}");
}
