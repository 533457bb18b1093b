//! A TCP relay in front of PostgreSQL, for tests of the database going away, hanging and
//! coming back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// A TCP relay to PostgreSQL that can be cut (every connection dropped, nothing accepted),
/// hung (connections stay open and nothing is passed on: a stopped server) and restored on
/// the same port: the database becoming unreachable and coming back.
pub struct CuttableRelay {
    pub port: u16,
    open: Arc<AtomicBool>,
    hung: watch::Sender<bool>,
    connections: Arc<std::sync::Mutex<JoinSet<()>>>,
}

/// Passes bytes from one side to the other, holding them while the relay is hung.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut hung: watch::Receiver<bool>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while *hung.borrow_and_update() {
            if hung.changed().await.is_err() {
                return;
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

impl CuttableRelay {
    /// A relay in front of the PostgreSQL of `url`, and `url` through the relay.
    pub async fn before(url: &str) -> (CuttableRelay, String) {
        let (prefix, rest) = url.split_once('@').expect("user@host in the URL");
        let (host_port, path) = rest.split_once('/').expect("host/database in the URL");
        let relay = CuttableRelay::start(host_port.to_owned()).await;
        let relayed = format!("{prefix}@127.0.0.1:{}/{path}", relay.port);
        (relay, relayed)
    }

    pub async fn start(upstream: String) -> CuttableRelay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let (hung, _) = watch::channel(false);
        let connections = Arc::new(std::sync::Mutex::new(JoinSet::new()));
        let (flag, set, hung_rx) = (open.clone(), connections.clone(), hung.subscribe());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the database is "down"
                }
                let upstream = upstream.clone();
                let hung = hung_rx.clone();
                set.lock().unwrap().spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        let (client_read, client_write) = client.into_split();
                        let (server_read, server_write) = server.into_split();
                        tokio::join!(
                            pump(client_read, server_write, hung.clone()),
                            pump(server_read, client_write, hung),
                        );
                    }
                });
            }
        });
        CuttableRelay {
            port,
            open,
            hung,
            connections,
        }
    }

    /// Drops every relayed connection and refuses new ones: the database is down.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.connections.lock().unwrap().abort_all();
    }

    /// Keeps every connection open and passes nothing on, old or new: the database hangs.
    pub fn hang(&self) {
        self.hung.send_replace(true);
    }

    /// Relays again: the database is back.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
        self.hung.send_replace(false);
    }
}
