//! Deliveries leased ahead of an endpoint's connections. An endpoint's connections (its lanes)
//! send one delivery after another from its queue without waiting for the worker's next turn
//! (writing results back, reading the queue, leasing again: three store calls, on SQLite
//! through the writer), so a fast endpoint is not held to `connections_per_endpoint`
//! deliveries a turn.
//!
//! Only an endpoint that answered its last attempt within `FAST_ANSWER` leases ahead: a slow
//! or dead one could not use the deliveries and would only hold them from its backlog's bound
//! and from other replicas. The queues are bounded per endpoint, per account (so one account's
//! many endpoints cannot take every other account's room) and in all. A delivery is sent only
//! if its lease outlasts the attempt. An endpoint whose attempt failed is halted: what waits
//! for it is not sent, and it leases nothing more until that failure is written back (and may
//! have paused it). What is not sent is given back unattempted (the worker releases the
//! leases: due at once, or when a pause ends).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use crate::store::ClaimedDelivery;

/// Deliveries an endpoint may hold leased ahead, per connection it may open: enough for its
/// lanes to keep sending for a few store calls' time.
pub const LEASED_AHEAD_PER_CONNECTION: usize = 4;
/// An endpoint leases ahead while its last answer came within this. A round of its lanes
/// through what waits is counted this long in the lease.
pub const FAST_ANSWER: Duration = Duration::from_secs(1);
/// Endpoints remembered as fast, at most (forgotten all at once past it; they earn it again
/// with their next answer).
pub const FAST_ENDPOINTS_MAX: usize = 10_000;

/// A leased delivery waiting for a lane.
#[derive(Debug)]
pub struct Leased {
    pub delivery: ClaimedDelivery,
    /// Its lease runs out then (milliseconds).
    pub lease_until_ms: i64,
}

#[derive(Debug)]
struct Queue {
    account: String,
    waiting: VecDeque<Leased>,
    halted: bool,
}

/// How many deliveries may wait: per endpoint, per account, in all.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub per_endpoint: usize,
    pub per_account: usize,
    pub total: usize,
}

/// What an endpoint may lease now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    /// For lanes that start at once.
    pub now: usize,
    /// To wait for a lane.
    pub ahead: usize,
}

impl Room {
    pub fn total(self) -> usize {
        self.now + self.ahead
    }
}

/// Every endpoint's queue.
#[derive(Debug)]
pub struct Ahead {
    max: Bounds,
    total: usize,
    by_account: HashMap<String, usize>,
    queues: HashMap<String, Queue>,
    fast: HashSet<String>,
}

impl Ahead {
    pub fn new(max: Bounds) -> Ahead {
        assert!(
            max.per_endpoint > 0 && max.per_account > 0 && max.total > 0,
            "bounds are positive"
        );
        Ahead {
            max,
            total: 0,
            by_account: HashMap::new(),
            queues: HashMap::new(),
            fast: HashSet::new(),
        }
    }

    pub fn waiting(&self, endpoint: &str) -> usize {
        self.queues.get(endpoint).map_or(0, |q| q.waiting.len())
    }

    /// What `endpoint` of `account` may lease now, beside `free` lanes it can start. Nothing
    /// while it is halted; nothing ahead unless it is fast, nor while its queue is more than
    /// half full (an endpoint leases in batches, not one at a time).
    pub fn room(&self, endpoint: &str, account: &str, free: usize) -> Room {
        if self.queues.get(endpoint).is_some_and(|q| q.halted) {
            return Room { now: 0, ahead: 0 };
        }
        let waiting = self.waiting(endpoint);
        let now = free.saturating_sub(waiting);
        if !self.fast.contains(endpoint) || waiting > self.max.per_endpoint / 2 {
            return Room { now, ahead: 0 };
        }
        let of_account = self.by_account.get(account).copied().unwrap_or(0);
        let ahead = (self.max.per_endpoint - waiting)
            .min(self.max.per_account.saturating_sub(of_account))
            .min(self.max.total.saturating_sub(self.total));
        Room { now, ahead }
    }

    /// Queues what was leased for `endpoint` of `account`; what is not queued because it was
    /// halted meanwhile (to give back).
    pub fn push(&mut self, endpoint: &str, account: &str, leased: Vec<Leased>) -> Vec<i64> {
        let queue = self.queue(endpoint, account);
        if queue.halted {
            return leased.iter().map(|l| l.delivery.seq).collect();
        }
        let n = leased.len();
        queue.waiting.extend(leased);
        self.total += n;
        *self.by_account.entry(account.to_owned()).or_default() += n;
        Vec::new()
    }

    /// The next delivery of `endpoint` whose lease lasts until `needed_until_ms`; those passed
    /// over because theirs would not (to give back).
    pub fn next(&mut self, endpoint: &str, needed_until_ms: i64) -> (Option<ClaimedDelivery>, Vec<i64>) {
        let Some(queue) = self.queues.get_mut(endpoint) else {
            return (None, Vec::new());
        };
        let mut expired = Vec::new();
        let mut found = None;
        while let Some(leased) = queue.waiting.pop_front() {
            if leased.lease_until_ms >= needed_until_ms {
                found = Some(leased.delivery);
                break;
            }
            expired.push(leased.delivery.seq);
        }
        let left = expired.len() + usize::from(found.is_some());
        let account = queue.account.clone();
        if queue.waiting.is_empty() && !queue.halted {
            self.queues.remove(endpoint);
        }
        self.taken(&account, left);
        (found, expired)
    }

    /// An answer from `endpoint`: whether it leases ahead from now on.
    pub fn answered(&mut self, endpoint: &str, within: Duration) {
        if within <= FAST_ANSWER {
            if self.fast.len() >= FAST_ENDPOINTS_MAX {
                self.fast.clear();
            }
            self.fast.insert(endpoint.to_owned());
        } else {
            self.fast.remove(endpoint);
        }
    }

    /// An attempt to `endpoint` failed: empties its queue (what it held, to give back) and
    /// leases it nothing until `resume`.
    pub fn halt(&mut self, endpoint: &str, account: &str) -> Vec<i64> {
        self.fast.remove(endpoint);
        let queue = self.queue(endpoint, account);
        queue.halted = true;
        let dropped: Vec<i64> = queue.waiting.drain(..).map(|l| l.delivery.seq).collect();
        let account = queue.account.clone();
        self.taken(&account, dropped.len());
        dropped
    }

    /// The failure that halted `endpoint` is written back: it may lease again.
    pub fn resume(&mut self, endpoint: &str) {
        if self
            .queues
            .get(endpoint)
            .is_some_and(|q| q.halted && q.waiting.is_empty())
        {
            self.queues.remove(endpoint);
        }
    }

    fn queue(&mut self, endpoint: &str, account: &str) -> &mut Queue {
        self.queues.entry(endpoint.to_owned()).or_insert_with(|| Queue {
            account: account.to_owned(),
            waiting: VecDeque::new(),
            halted: false,
        })
    }

    /// `n` of `account`'s deliveries left their queue.
    fn taken(&mut self, account: &str, n: usize) {
        if n == 0 {
            return;
        }
        self.total -= n;
        let of_account = self
            .by_account
            .get_mut(account)
            .expect("an account's waiting deliveries were counted");
        *of_account -= n;
        if *of_account == 0 {
            self.by_account.remove(account);
        }
    }
}

#[cfg(test)]
mod tests;
