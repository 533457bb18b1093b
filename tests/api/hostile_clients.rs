//! One client, or one address, cannot keep others out: the connection caps, the idlest
//! connection closed first, and every body (the dashboard's too) read within the deadline and
//! the size limit before any handler. The attacker connects from 127.0.0.2, the fresh client
//! from 127.0.0.1, so the per-address cap tells them apart.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::common::child::ChildServer;
use crate::common::dashboard::Browser;
use crate::common::form::FORM;
use crate::common::{Api, Auth, Client, TestServer};
use payrec::ServerConfig;
use payrec::server::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

pub const ATTACKER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// A connection to the server from `from` (a loopback address).
pub async fn connect_from(from: Ipv4Addr, server: &TestServer) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((from, 0)))?;
    socket.connect(server.address().parse().expect("an address")).await
}

/// A sign-in POST whose headers arrive and whose body never does. The server answers
/// `100 Continue` when it starts reading the body: the request is then in flight.
fn held_sign_in_head() -> &'static [u8] {
    b"POST /dashboard/sign-in HTTP/1.1\r\nHost: payrec\r\nContent-Type: application/x-www-form-urlencoded\r\n\
      Content-Length: 100\r\nExpect: 100-continue\r\n\r\n"
}

/// `count` sign-in POSTs from `from` held in flight (those the server admits).
async fn held_sign_ins(from: Ipv4Addr, server: &TestServer, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for mut stream in crowd(from, server, count, held_sign_in_head()).await {
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await;
        if let Ok(Ok(n)) = read
            && buf[..n].starts_with(b"HTTP/1.1 100 Continue")
        {
            let _ = stream.write_all(b"csrf=").await;
            held.push(stream);
        }
    }
    held
}

/// Opens `count` connections from `from` that each send `bytes` and then nothing more.
async fn crowd(from: Ipv4Addr, server: &TestServer, count: usize, bytes: &'static [u8]) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..count {
        let Ok(mut stream) = connect_from(from, server).await else {
            continue;
        };
        let _ = stream.write_all(bytes).await;
        held.push(stream);
    }
    held
}

/// A fresh client (new connections from 127.0.0.1) is answered on /healthz and on an API call
/// within a second.
async fn fresh_client_is_served(server: &TestServer) {
    let client = Client::new(&server.base, Auth::Basic(server.test_key.clone())).with_timeout(Duration::from_secs(1));
    let started = Instant::now();
    let health = client.healthz().await;
    assert_eq!(health.status, 200, "{}", health.body);
    let list = client.list_records(&[]).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_sign_in_bodies_and_slow_header_connections_from_one_address_do_not_keep_a_fresh_client_out() {
    let server = TestServer::start().await;
    let bodies = crowd(ATTACKER, &server, 300, held_sign_in_head()).await;
    let heads = crowd(ATTACKER, &server, 600, b"GET /healthz HTTP/1.1\r\nHost: pay").await;
    assert!(bodies.len() + heads.len() > payrec::server::CONNECTIONS_MAX);
    fresh_client_is_served(&server).await;
    // And again while the attacker keeps opening connections.
    let more = crowd(ATTACKER, &server, 200, b"GET /healthz HTTP/1.1\r\n").await;
    fresh_client_is_served(&server).await;
    drop((bodies, heads, more));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_server_is_full_the_idlest_keep_alive_connection_is_closed_for_a_new_client() {
    let server = TestServer::start_with(ServerConfig {
        limits: Limits {
            connections_max: 4,
            ..Limits::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        let mut stream = connect_from(ATTACKER, &server).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: payrec\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        idle.push(stream); // kept open, idle: keep-alive
    }
    fresh_client_is_served(&server).await;
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(2), idle[0].read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "the idlest connection was closed: {read:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_connection_is_busy_a_new_one_waits_for_a_request_to_finish() {
    let server = TestServer::start_with(ServerConfig {
        limits: Limits {
            connections_max: 2,
            body_read_timeout: Duration::from_millis(800),
            ..Limits::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let held = held_sign_ins(ATTACKER, &server, 2).await;
    assert_eq!(held.len(), 2);
    let started = Instant::now();
    let client = Client::new(&server.base, Auth::Basic(server.test_key.clone())).with_timeout(Duration::from_secs(5));
    assert_eq!(client.healthz().await.status, 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(500),
        "served before a busy connection ended: {waited:?}"
    );
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_past_its_share_of_busy_connections_is_refused_and_others_are_not() {
    let server = TestServer::start_with(ServerConfig {
        limits: Limits {
            connections_per_address_max: 3,
            ..Limits::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let held = held_sign_ins(ATTACKER, &server, 3).await;
    assert_eq!(held.len(), 3);
    let mut fourth = connect_from(ATTACKER, &server).await.unwrap();
    let _ = fourth.write_all(b"GET /healthz HTTP/1.1\r\nHost: payrec\r\n\r\n").await;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(2), fourth.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "refused: {read:?}");
    fresh_client_is_served(&server).await;
}

/// Reads the whole answer of a connection the server closes.
async fn answer(stream: &mut TcpStream, within: Duration) -> String {
    let mut all = Vec::new();
    let _ = tokio::time::timeout(within, stream.read_to_end(&mut all)).await;
    String::from_utf8_lossy(&all).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_body_that_stops_arriving_is_cut_off_at_the_body_deadline() {
    let server = TestServer::start_with(ServerConfig {
        limits: Limits {
            body_read_timeout: Duration::from_millis(300),
            ..Limits::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let mut stream = connect_from(ATTACKER, &server).await.unwrap();
    stream.write_all(held_sign_in_head()).await.unwrap();
    let answer = answer(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.contains("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("text/html"),
        "the dashboard answers with a page: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_body_over_its_limit_is_refused_before_the_page_runs() {
    let server = TestServer::start().await;
    let mut browser = Browser::new(&server.base);
    let key = "x".repeat(payrec::dashboard::FORM_BYTES_MAX);
    let page = browser.sign_in(&key).await;
    assert_eq!(page.status, 413, "{}", page.body);
    assert!(page.body.contains("8192"), "{}", page.body);
    let small = browser.sign_in(&server.test_key).await;
    assert_eq!(small.status, 303, "a form within the limit is read: {}", small.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_body_over_the_limit_on_an_unknown_route_is_a_stripe_413() {
    let server = TestServer::start().await;
    let client = Client::new(&server.base, Auth::Basic(server.test_key.clone()));
    let body = vec![b'a'; payrec::wire::form::REQUEST_BODY_BYTES_MAX + 1];
    let r = client
        .http()
        .post(format!("{}/v1/nothing_here", server.base))
        .header("content-type", FORM)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

/// In a process of its own: the metrics registry is the process's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_distinct_methods_and_paths_leave_the_metrics_the_same_size() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("metrics.db").display());
    let server = ChildServer::spawn(&url, &[]).await;
    let http = reqwest::Client::new();
    let send = |i: usize| {
        let method = reqwest::Method::from_bytes(format!("M{i:0>1000}").as_bytes()).unwrap();
        let odd_method = http.request(method, format!("{}/v1/payment_records", server.base));
        let odd_path = http.get(format!("{}/v1/nowhere/{i}/{}", server.base, "p".repeat(500)));
        async move {
            assert_eq!(odd_method.send().await.unwrap().status(), 404);
            assert_eq!(odd_path.send().await.unwrap().status(), 404);
        }
    };
    send(0).await;
    server.metrics().await; // so that /metrics' own series exist before
    let before = server.metrics().await.body.len();
    for batch in (1..3000).collect::<Vec<_>>().chunks(50) {
        futures_util::future::join_all(batch.iter().map(|i| send(*i))).await;
    }
    let after = server.metrics().await.body.len();
    assert!(after < before + 256, "/metrics grew from {before} to {after} bytes");
}

/// A body refused unread (too large, or too slow) leaves the connection unable to serve
/// another request: the answer says `Connection: close`, and the server closes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_body_is_answered_with_connection_close_and_the_connection_closed() {
    let server = TestServer::start().await;
    let mut stream = connect_from(ATTACKER, &server).await.unwrap();
    let too_large = payrec::wire::form::REQUEST_BODY_BYTES_MAX + 1;
    let head = format!(
        "POST /v1/payment_records/report_payment HTTP/1.1\r\nHost: payrec\r\nContent-Type: {FORM}\r\n\
         Content-Length: {too_large}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = answer(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
}
