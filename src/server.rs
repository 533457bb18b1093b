//! The HTTP/1.1 accept loop: bounded connections, a deadline for request headers, and a
//! graceful shutdown that finishes in-flight requests. (`axum::serve` exposes none of these.)

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Where `payrec serve` listens unless told otherwise.
pub const LISTEN_DEFAULT: &str = "127.0.0.1:12111";

/// Open connections served at once; further ones wait in the listen backlog. With the body
/// limit this bounds request memory: 512 × 256 KiB = 128 MiB at most.
pub const CONNECTIONS_MAX: usize = 512;
/// A client must send its request headers within this long (slow-loris defence).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest buffer hyper keeps for a request's head (request line + headers).
pub const HEAD_BYTES_MAX: usize = 64 * 1024;

/// A request body must arrive within this long once its headers have.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

const _: () = assert!(HEAD_BYTES_MAX >= 8 * 1024);

/// The limits `serve` enforces; the defaults are the constants above (tests shorten them).
#[derive(Debug, Clone)]
pub struct Limits {
    pub connections_max: usize,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections_max: CONNECTIONS_MAX,
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
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
    let permits = Arc::new(Semaphore::new(limits.connections_max));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(HEAD_BYTES_MAX)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
