//! A TCP relay in front of PostgreSQL, for tests of the database going away and coming back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// A TCP relay to PostgreSQL that can be cut (every connection dropped, nothing accepted) and
/// restored on the same port: the database becoming unreachable and coming back.
pub struct CuttableRelay {
    pub port: u16,
    open: Arc<AtomicBool>,
    connections: Arc<std::sync::Mutex<JoinSet<()>>>,
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
        let connections = Arc::new(std::sync::Mutex::new(JoinSet::new()));
        let (flag, set) = (open.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the database is "down"
                }
                let upstream = upstream.clone();
                set.lock().unwrap().spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        CuttableRelay {
            port,
            open,
            connections,
        }
    }

    /// Drops every relayed connection and refuses new ones: the database is down.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.connections.lock().unwrap().abort_all();
    }

    /// Relays again: the database is back.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}
