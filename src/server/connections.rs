//! The table of open connections: how many there are in all and per peer address, and which
//! are idle (no request in flight), so that a full server closes the idlest connection to make
//! room for a new one instead of leaving new clients in the listen backlog.
//!
//! A connection is *busy* from the moment hyper hands its request to payrec until hyper has
//! dropped the response body (all of it written); otherwise it is *idle*: a keep-alive
//! connection between requests, or one whose request headers have not all arrived. Only idle
//! connections are ever closed to make room, so no request is cut off.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

const IDLE: u8 = 0;
const BUSY: u8 = 1;

/// One open connection's shared state.
#[derive(Debug)]
pub struct Connection {
    id: u64,
    address: IpAddr,
    state: AtomicU8,
    /// Microseconds since the table's epoch at which the connection last became idle.
    idle_since_us: AtomicU64,
    /// Told when the connection should close (to make room, or at shutdown).
    pub close: Notify,
}

impl Connection {
    pub fn is_idle(&self) -> bool {
        self.state.load(Ordering::Acquire) == IDLE
    }
}

/// Held while a request is in flight on its connection; dropping it makes the connection idle.
#[derive(Debug)]
pub struct Busy {
    connection: Arc<Connection>,
    epoch: Instant,
}

impl Busy {
    pub fn begin(connection: &Arc<Connection>, epoch: Instant) -> Busy {
        connection.state.store(BUSY, Ordering::Release);
        Busy {
            connection: connection.clone(),
            epoch,
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let now = self.epoch.elapsed().as_micros() as u64;
        self.connection.idle_since_us.store(now, Ordering::Relaxed);
        self.connection.state.store(IDLE, Ordering::Release);
    }
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    open: HashMap<u64, Arc<Connection>>,
    per_address: HashMap<IpAddr, usize>,
}

impl Table {
    fn forget(&mut self, connection: &Connection) -> bool {
        if self.open.remove(&connection.id).is_none() {
            return false;
        }
        let count = self
            .per_address
            .get_mut(&connection.address)
            .expect("an open connection's address is counted");
        *count -= 1;
        if *count == 0 {
            self.per_address.remove(&connection.address);
        }
        true
    }

    /// The connection idle for longest, among those `from` `address` (or all); of two idle
    /// since the same instant, the older connection (the table is a hash map, so without the
    /// tie-break the choice would be arbitrary).
    fn idlest(&self, address: Option<IpAddr>) -> Option<Arc<Connection>> {
        self.open
            .values()
            .filter(|c| address.is_none_or(|a| c.address == a) && c.is_idle())
            .min_by_key(|c| (c.idle_since_us.load(Ordering::Relaxed), c.id))
            .cloned()
    }
}

/// What admitting a new connection came to.
#[derive(Debug)]
pub enum Admission {
    /// Served; the connection leaves the table when the ticket is dropped.
    Admitted(Ticket),
    /// Its address holds its share of connections, all busy: closed at once.
    AddressFull,
}

/// A connection's place in the table.
#[derive(Debug)]
pub struct Ticket {
    pub connection: Arc<Connection>,
    table: Arc<Connections>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.table.lock().forget(&self.connection) {
            self.table.freed.notify_one();
        }
    }
}

/// Every open connection of one listener.
#[derive(Debug)]
pub struct Connections {
    table: Mutex<Table>,
    /// Told each time a connection leaves the table.
    freed: Notify,
    pub epoch: Instant,
    max: usize,
    per_address_max: usize,
}

impl Connections {
    pub fn new(max: usize, per_address_max: usize) -> Arc<Connections> {
        assert!(max > 0 && per_address_max > 0, "connection caps are positive");
        Arc::new(Connections {
            table: Mutex::new(Table::default()),
            freed: Notify::new(),
            epoch: Instant::now(),
            max,
            per_address_max,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().expect("connection table lock")
    }

    pub fn open(&self) -> usize {
        self.lock().open.len()
    }

    /// Admits a connection from `address`. Past its address's share, that address's idlest
    /// connection is closed to make room, or, when all of them are busy, the new one is refused.
    /// Past the cap in all, the idlest connection is closed, or, when every one is busy, this
    /// waits for one to finish. (A connection closed to make room leaves the table at once.) A
    /// trusted proxy's connections carry many clients: only the cap in all applies to them.
    pub async fn admit(self: &Arc<Self>, address: IpAddr, trusted_proxy: bool) -> Admission {
        if !trusted_proxy {
            let mut table = self.lock();
            let from_address = table.per_address.get(&address).copied().unwrap_or(0);
            if from_address >= self.per_address_max {
                let Some(idle) = table.idlest(Some(address)) else {
                    metrics::counter!("payrec_connections_refused_total", "reason" => "per_address_max").increment(1);
                    return Admission::AddressFull;
                };
                table.forget(&idle);
                evicted(&idle, "per_address_max");
            }
        }
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut table = self.lock();
                if table.open.len() >= self.max
                    && let Some(idle) = table.idlest(None)
                {
                    table.forget(&idle);
                    evicted(&idle, "connections_max");
                }
                if table.open.len() < self.max {
                    return Admission::Admitted(self.enter(&mut table, address));
                }
            }
            // Every connection is busy: wait for one to finish.
            freed.await;
        }
    }

    fn enter(self: &Arc<Self>, table: &mut Table, address: IpAddr) -> Ticket {
        table.next_id += 1;
        let connection = Arc::new(Connection {
            id: table.next_id,
            address,
            state: AtomicU8::new(IDLE),
            idle_since_us: AtomicU64::new(self.epoch.elapsed().as_micros() as u64),
            close: Notify::new(),
        });
        table.open.insert(connection.id, connection.clone());
        *table.per_address.entry(address).or_default() += 1;
        debug_assert!(table.open.len() <= self.max);
        Ticket {
            connection,
            table: self.clone(),
        }
    }

    /// Asks every open connection to close (the server is stopping).
    pub fn close_all(&self) {
        for connection in self.lock().open.values() {
            connection.close.notify_one();
        }
    }

    /// Resolves once every connection has left the table.
    pub async fn drained(&self) {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if self.lock().open.is_empty() {
                return;
            }
            freed.await;
        }
    }
}

fn evicted(connection: &Connection, reason: &'static str) {
    metrics::counter!("payrec_connections_closed_idle_total", "reason" => reason).increment(1);
    connection.close.notify_one();
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 3));

    async fn admitted(table: &Arc<Connections>, address: IpAddr) -> Ticket {
        match table.admit(address, false).await {
            Admission::Admitted(ticket) => ticket,
            Admission::AddressFull => panic!("refused"),
        }
    }

    #[tokio::test]
    async fn past_its_share_an_address_loses_its_idlest_connection_or_is_refused_when_all_are_busy() {
        let table = Connections::new(10, 2);
        let first = admitted(&table, A).await;
        let second = admitted(&table, A).await;
        let _busy = Busy::begin(&second.connection, table.epoch);
        let third = admitted(&table, A).await;
        assert_eq!(table.open(), 2, "the idle first connection made room");
        assert!(!table.lock().open.contains_key(&first.connection.id));
        let _busy_too = Busy::begin(&third.connection, table.epoch);
        assert!(matches!(table.admit(A, false).await, Admission::AddressFull));
        let _other = admitted(&table, B).await;
        assert_eq!(table.open(), 3, "another address is not limited by A's share");
        drop(first);
        assert_eq!(table.open(), 3, "a connection closed to make room is forgotten once");
    }

    #[tokio::test]
    async fn of_connections_idle_since_the_same_instant_the_oldest_is_closed_first() {
        let table = Connections::new(4, 4);
        let mut tickets = Vec::new();
        for _ in 0..4 {
            tickets.push(admitted(&table, A).await);
        }
        let same_instant = tickets[0].connection.idle_since_us.load(Ordering::Relaxed);
        for ticket in &tickets {
            ticket.connection.idle_since_us.store(same_instant, Ordering::Relaxed);
        }
        let _fifth = admitted(&table, B).await;
        let lock = table.lock();
        assert!(
            !lock.open.contains_key(&tickets[0].connection.id),
            "the oldest made room"
        );
        assert!(tickets[1..].iter().all(|t| lock.open.contains_key(&t.connection.id)));
    }

    #[tokio::test]
    async fn a_full_table_closes_its_idlest_connection_and_waits_when_all_are_busy() {
        let table = Connections::new(2, 2);
        let first = admitted(&table, A).await;
        let second = admitted(&table, B).await;
        let busy = Busy::begin(&first.connection, table.epoch);
        let third = admitted(&table, B).await;
        assert_eq!(table.open(), 2, "the idle connection of B was closed for the third");
        assert!(!table.lock().open.contains_key(&second.connection.id));
        let _busy = Busy::begin(&third.connection, table.epoch);
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), table.admit(B, false)).await;
        assert!(waiting.is_err(), "both connections are busy: the fourth waits");
        drop(busy);
        let fourth = tokio::time::timeout(std::time::Duration::from_secs(1), table.admit(A, false)).await;
        assert!(
            matches!(fourth, Ok(Admission::Admitted(_))),
            "admitted once a request finished"
        );
    }
}
