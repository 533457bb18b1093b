//! The HTTP/1.1 accept loop: bounded connections in all and per peer address, a deadline for
//! request headers, the idlest connection closed first when the server is full, and a graceful
//! shutdown that finishes in-flight requests. (`axum::serve` exposes none of these.)

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tower_service::Service;

pub mod client;
pub mod connections;

use client::{ClientAddress, TrustedProxies};
use connections::{Admission, Busy, Connection, Connections};

/// Where `payrec serve` listens unless told otherwise.
pub const LISTEN_DEFAULT: &str = "127.0.0.1:12111";

/// Open connections served at once. Past it, the idlest connection is closed for a new one;
/// when every connection has a request in flight, new ones wait in the listen backlog. With
/// the body limit this bounds request memory: 512 × 256 KiB = 128 MiB at most.
pub const CONNECTIONS_MAX: usize = 512;
/// Open connections from one peer address. Past it, that address's idlest connection is closed
/// for its new one, or the new one is refused when all are busy: one address cannot hold the
/// server. (The benchmarks open 32 keep-alive connections from one address.)
pub const CONNECTIONS_PER_ADDRESS_MAX: usize = 128;
/// A client must send its request headers within this long (slow-loris defence).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest buffer hyper keeps for a request's head (request line + headers).
pub const HEAD_BYTES_MAX: usize = 64 * 1024;
/// A request body must arrive within this long once its headers have.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// A request not answered within this gets a 503 (its database did not answer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// After a stop signal, requests in flight are given this long; the process then exits.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection asked to close (to make room, or at shutdown) that has not started a request
/// within this is dropped; one with a request in flight finishes it first.
pub const CLOSE_GRACE: Duration = Duration::from_millis(200);

const _: () = assert!(HEAD_BYTES_MAX >= 8 * 1024);
const _: () = assert!(CONNECTIONS_PER_ADDRESS_MAX <= CONNECTIONS_MAX);

/// The limits `serve` enforces; the defaults are the constants above (tests shorten them).
#[derive(Debug, Clone)]
pub struct Limits {
    pub connections_max: usize,
    pub connections_per_address_max: usize,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    /// A request (its body read) must be answered within this, else 503.
    pub request_timeout: Duration,
    /// Proxies whose connections are not limited per address, and whose `X-Forwarded-For`
    /// names the client (`client`).
    pub trusted_proxies: TrustedProxies,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections_max: CONNECTIONS_MAX,
            connections_per_address_max: CONNECTIONS_PER_ADDRESS_MAX,
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then waits for in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let connections = Connections::new(
        limits.connections_max,
        limits.connections_per_address_max.min(limits.connections_max),
    );
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(HEAD_BYTES_MAX)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let admission = tokio::select! {
            () = &mut shutdown => break,
            admission = connections.admit(peer.ip(), limits.trusted_proxies.trusts(peer.ip())) => admission,
        };
        let Admission::Admitted(ticket) = admission else {
            continue; // dropping the stream closes it
        };
        let _ = stream.set_nodelay(true);
        let service = ConnectionService {
            router: router.clone(),
            connection: ticket.connection.clone(),
            peer,
            epoch: connections.epoch,
            proxies: limits.trusted_proxies.clone(),
        };
        let builder = builder.clone();
        tokio::spawn(async move {
            serve_connection(&builder, stream, service).await;
            drop(ticket);
        });
    }
    drop(listener);
    connections.close_all();
    if tokio::time::timeout(SHUTDOWN_TIMEOUT, connections.drained())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.open(),
            "stopping with requests still in flight after {} s",
            SHUTDOWN_TIMEOUT.as_secs()
        );
    }
    Ok(())
}

/// Serves one connection until the client closes it or it is asked to close: then it closes
/// when idle (at once, or after `CLOSE_GRACE` for one whose request never started), or after
/// the request in flight.
async fn serve_connection(
    builder: &hyper::server::conn::http1::Builder,
    stream: TcpStream,
    service: ConnectionService,
) {
    let connection = service.connection.clone();
    let served = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    tokio::select! {
        _ = served.as_mut() => return,
        () = connection.close.notified() => {}
    }
    served.as_mut().graceful_shutdown();
    loop {
        tokio::select! {
            _ = served.as_mut() => return,
            () = tokio::time::sleep(CLOSE_GRACE) => if connection.is_idle() { return },
        }
    }
}

/// The router, as one connection's service: marks the connection busy while a request is in
/// flight, and tells handlers the peer's address.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    connection: Arc<Connection>,
    peer: SocketAddr,
    epoch: std::time::Instant,
    proxies: TrustedProxies,
}

/// Marks a response that is not to be sent: its connection is closed instead, as if the server
/// had crashed after the request succeeded (`Payrec-Simulate: drop_after_commit`). Also the
/// error that tells hyper to close the connection without writing anything.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the response was dropped on purpose (Payrec-Simulate: drop_after_commit)")]
pub struct DropConnection;

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<BusyBody>;
    type Error = DropConnection;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        let busy = Busy::begin(&self.connection, self.epoch);
        let client = self.proxies.client(self.peer, request.headers());
        request.extensions_mut().insert(ConnectInfo(self.peer));
        request.extensions_mut().insert(ClientAddress(client));
        let response = self.router.clone().call(request.map(Body::new));
        Box::pin(async move {
            let Ok(response) = response.await;
            if response.extensions().get::<DropConnection>().is_some() {
                return Err(DropConnection);
            }
            Ok(response.map(|inner| BusyBody { inner, _busy: busy }))
        })
    }
}

/// A response body that keeps its connection busy until hyper has written and dropped it.
pub struct BusyBody {
    inner: Body,
    _busy: Busy,
}

impl HttpBody for BusyBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
