//! Stripe's official Python SDK (stripe==16.1.0) against the real server: what SDK users see.
//! The SDK is installed into a virtualenv under target/; under CI=true this test must run.

use crate::common::backend_test;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{Api, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const STRIPE_SDK: &str = "stripe==16.1.0";

/// target/sdk-venv/bin/python with the SDK installed; None (outside CI) when it cannot be.
pub fn sdk_python() -> Option<PathBuf> {
    crate::common::venv::venv_bin("sdk-venv", STRIPE_SDK).map(|bin| bin.join("python"))
}

/// Runs a script of tests/sdk/ with the SDK against `url`; returns its stdout.
pub async fn run_script(python: PathBuf, script: &str, url: &str, key: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk").join(script);
    let output = tokio::process::Command::new(python)
        .arg(script)
        .env("PAYREC_URL", url)
        .env("PAYREC_KEY", key)
        .output()
        .await
        .expect("run the SDK script");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK script failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

#[backend_test]
async fn the_official_python_sdk_walks_the_whole_lifecycle(server: TestServer) {
    let Some(python) = sdk_python() else { return };
    let stdout = run_script(python, "conformance.py", server.base(), &server.test_key).await;
    assert!(stdout.contains("SDK conformance: all checks passed"), "{stdout}");
}

#[backend_test]
async fn the_official_python_sdk_manages_webhooks_and_verifies_deliveries(server: TestServer) {
    let Some(python) = sdk_python() else { return };
    let stdout = run_script(python, "webhooks.py", server.base(), &server.test_key).await;
    assert!(stdout.contains("SDK webhooks: all checks passed"), "{stdout}");
}

/// A TCP proxy to `upstream` (an address) that forwards the first connection's request, waits for the
/// server's answer, and closes the connection without passing it on: the network dropped the
/// response. Later connections are relayed untouched.
async fn dropping_proxy(upstream: String, dropped: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let address = format!("http://{}", listener.local_addr().expect("proxy address"));
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let drop_this = std::mem::replace(&mut first, false);
            let dropped = dropped.clone();
            tokio::spawn(async move {
                let mut server = TcpStream::connect(upstream).await.expect("connect upstream");
                if !drop_this {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
                let request = read_http_request(&mut client).await;
                server.write_all(&request).await.expect("forward request");
                let mut buf = vec![0u8; 64 * 1024];
                let answered = server.read(&mut buf).await.expect("read response");
                assert!(answered > 0, "the server answered");
                dropped.fetch_add(1, Ordering::SeqCst);
                drop(client);
            });
        }
    });
    address
}

/// Reads one whole HTTP/1.1 request (headers and a Content-Length body).
async fn read_http_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut request = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf).await.expect("read request");
        assert!(n > 0, "client closed mid-request");
        request.extend_from_slice(&buf[..n]);
        let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().expect("content length"));
        if request.len() >= end + 4 + length {
            return request;
        }
    }
}

#[backend_test]
async fn the_sdk_retrying_after_a_dropped_response_records_the_payment_once(server: TestServer) {
    let Some(python) = sdk_python() else { return };
    let dropped = Arc::new(AtomicUsize::new(0));
    let proxy = dropping_proxy(server.address().to_owned(), dropped.clone()).await;
    let stdout = run_script(python, "dropped_response.py", &proxy, &server.test_key).await;
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "one response was dropped");
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).expect("script prints JSON");
    assert_eq!(
        result["replayed"], "true",
        "the retry was answered by a replay: {stdout}"
    );
    let listed = server.list_records(&[("limit", "100")]).await;
    let data = listed.json["data"].as_array().expect("list");
    assert_eq!(data.len(), 1, "exactly one record despite the retry: {}", listed.body);
    assert_eq!(data[0]["id"], result["id"]);
}
