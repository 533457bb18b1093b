//! Resource limits: slow clients, the connection cap, and memory under a flood of large bodies.

use std::time::Duration;

use crate::common::child::ChildServer;
use crate::common::form::FORM;
use crate::common::{Api, Endpoint, TestServer};
use payrec::ServerConfig;
use payrec::server::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn short_limits(connections_max: usize) -> ServerConfig {
    ServerConfig {
        limits: Limits {
            connections_max,
            connections_per_address_max: connections_max,
            header_read_timeout: Duration::from_millis(500),
            body_read_timeout: Duration::from_millis(500),
            ..Limits::default()
        },
        ..ServerConfig::default()
    }
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.address()).await.expect("connect")
}

/// Reads until the server closes the connection or `within` passes; returns what arrived.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| String::from_utf8_lossy(&all).into_owned())
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let server = TestServer::start_with(short_limits(16)).await;
    let mut stream = connect(&server).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: payrec\r\n")
        .await
        .unwrap();
    let closed = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the server hung up on the slow client");
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_a_stripe_408() {
    let server = TestServer::start_with(short_limits(16)).await;
    let mut stream = connect(&server).await;
    let (path, key) = (Endpoint::ReportPayment.path(), &server.test_key);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: payrec\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: {FORM}\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"amount_requested").await.unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"type\":\"invalid_request_error\""), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("request-id: req_"), "{answer}");
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// 400 requests of 1 MiB each, 32 at a time: each is cut off at the 256 KiB limit, so the
/// server's memory stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_bounded_under_a_flood_of_large_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("flood.db").display());
    let server = ChildServer::spawn(&url, &[]).await;
    let client = server.with_key(&server.test_key.clone().unwrap());
    let pid = server.child.id().unwrap();
    let before = rss_kib(pid);
    let body = vec![b'a'; 1024 * 1024];
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..(400 / 32) {
        let mut batch = tokio::task::JoinSet::new();
        for _ in 0..32 {
            let (client, body) = (client.clone(), body.clone());
            batch.spawn(async move {
                let sent = client.try_report_payment_raw(FORM, body).await;
                sent.map(|r| r.status).unwrap_or(0)
            });
        }
        for status in batch.join_all().await {
            *statuses.entry(status).or_insert(0) += 1;
        }
    }
    let after = rss_kib(pid);
    println!("RSS before {before} KiB, after {after} KiB; statuses {statuses:?}");
    assert!(statuses.keys().all(|s| *s == 413 || *s == 0), "{statuses:?}");
    assert!(after < before + 64 * 1024, "RSS grew from {before} KiB to {after} KiB");
}
