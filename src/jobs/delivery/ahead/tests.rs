use std::time::Duration;

use super::*;
use crate::store::Tenant;

fn leased(seq: i64, lease_until_ms: i64) -> Leased {
    Leased {
        delivery: ClaimedDelivery {
            seq,
            tenant: Tenant {
                account_id: "acct_1".into(),
                livemode: false,
            },
            event_id: format!("evt_{seq}"),
            endpoint_id: "we_1".into(),
            url: "http://127.0.0.1:1/".into(),
            secret: "whsec_x".into(),
            attempts: 0,
            body: "{}".into(),
        },
        lease_until_ms,
    }
}

fn leases(n: i64) -> Vec<Leased> {
    (0..n).map(|seq| leased(seq, 100)).collect()
}

fn bounds(per_endpoint: usize, per_account: usize, total: usize) -> Bounds {
    Bounds {
        per_endpoint,
        per_account,
        total,
    }
}

fn room(now: usize, ahead: usize) -> Room {
    Room { now, ahead }
}

/// `endpoints`, each answered fast.
fn fast(mut ahead: Ahead, endpoints: &[&str]) -> Ahead {
    for endpoint in endpoints {
        ahead.answered(endpoint, Duration::from_millis(2));
    }
    ahead
}

fn seqs(ahead: &mut Ahead, endpoint: &str, needed_until_ms: i64) -> Vec<i64> {
    std::iter::from_fn(|| ahead.next(endpoint, needed_until_ms).0.map(|d| d.seq)).collect()
}

#[test]
fn a_fast_endpoint_leases_for_its_free_connections_and_its_queue_then_waits_until_half_is_sent() {
    let mut ahead = fast(Ahead::new(bounds(32, 256, 256)), &["we_1"]);
    assert_eq!(
        ahead.room("we_1", "acct_1", 8),
        room(8, 32),
        "8 to send at once, 32 to wait"
    );
    ahead.push("we_1", "acct_1", leases(40));
    assert_eq!(
        ahead.room("we_1", "acct_1", 0),
        room(0, 0),
        "a full queue leases nothing"
    );
    for _ in 0..23 {
        ahead.next("we_1", 50);
    }
    assert_eq!(ahead.waiting("we_1"), 17);
    assert_eq!(ahead.room("we_1", "acct_1", 0).total(), 0, "more than half still waits");
    ahead.next("we_1", 50);
    assert_eq!(
        ahead.room("we_1", "acct_1", 0),
        room(0, 16),
        "half sent: lease the rest again"
    );
    assert_eq!(
        ahead.room("we_1", "acct_1", 8),
        room(0, 16),
        "free connections are fed from the queue first"
    );
}

#[test]
fn a_slow_or_new_endpoint_leases_only_for_its_free_connections() {
    let mut ahead = Ahead::new(bounds(32, 256, 256));
    assert_eq!(ahead.room("we_1", "acct_1", 8), room(8, 0), "not answered yet");
    ahead.answered("we_1", FAST_ANSWER + Duration::from_millis(1));
    assert_eq!(ahead.room("we_1", "acct_1", 8), room(8, 0), "answered slowly");
    ahead.answered("we_1", FAST_ANSWER);
    assert_eq!(ahead.room("we_1", "acct_1", 8), room(8, 32));
    ahead.answered("we_1", Duration::from_secs(9));
    assert_eq!(ahead.room("we_1", "acct_1", 8), room(8, 0), "slow again");
}

#[test]
fn the_queues_together_never_pass_their_bound() {
    let mut ahead = fast(Ahead::new(bounds(32, 256, 40)), &["we_1", "we_2", "we_3"]);
    ahead.push("we_1", "acct_1", leases(32));
    assert_eq!(
        ahead.room("we_2", "acct_1", 0),
        room(0, 8),
        "what is left of the bound in all"
    );
    ahead.push("we_2", "acct_1", leases(8));
    assert_eq!(ahead.room("we_3", "acct_1", 0), room(0, 0));
    assert_eq!(
        ahead.room("we_3", "acct_1", 4),
        room(4, 0),
        "free connections still start at once"
    );
}

#[test]
fn an_account_leases_ahead_only_its_share_however_many_endpoints_it_has() {
    let mut ahead = fast(Ahead::new(bounds(32, 64, 256)), &["we_1", "we_2", "we_3", "we_9"]);
    for endpoint in ["we_1", "we_2"] {
        assert_eq!(ahead.room(endpoint, "acct_tarpit", 0), room(0, 32));
        ahead.push(endpoint, "acct_tarpit", leases(32));
    }
    assert_eq!(ahead.room("we_3", "acct_tarpit", 0), room(0, 0), "its share is taken");
    assert_eq!(
        ahead.room("we_9", "acct_other", 0),
        room(0, 32),
        "another account's is not"
    );
    ahead.next("we_1", 0);
    assert_eq!(ahead.room("we_3", "acct_tarpit", 0), room(0, 1));
}

#[test]
fn a_delivery_whose_lease_would_run_out_during_its_attempt_is_not_sent() {
    let mut ahead = Ahead::new(bounds(32, 256, 256));
    ahead.push("we_1", "acct_1", vec![leased(1, 100), leased(2, 200), leased(3, 300)]);
    let (next, expired) = ahead.next("we_1", 250);
    assert_eq!(next.map(|d| d.seq), Some(3), "its lease outlasts the attempt");
    assert_eq!(expired, vec![1, 2], "the others are given back");
    assert_eq!(ahead.waiting("we_1"), 0);
    assert_eq!(ahead.total, 0);
    assert!(ahead.by_account.is_empty());
}

#[test]
fn a_failed_attempt_halts_its_endpoint_until_the_failure_is_written_back() {
    let mut ahead = fast(Ahead::new(bounds(32, 256, 256)), &["we_1", "we_2"]);
    ahead.push("we_1", "acct_1", leases(10));
    ahead.push("we_2", "acct_1", leases(3));
    assert_eq!(
        ahead.halt("we_1", "acct_1"),
        (0..10).collect::<Vec<_>>(),
        "what was leased for it is given back, not sent"
    );
    assert_eq!(seqs(&mut ahead, "we_1", 0), Vec::<i64>::new());
    assert_eq!(ahead.room("we_1", "acct_1", 8), room(0, 0), "nor is it leased more");
    assert_eq!(
        ahead.push("we_1", "acct_1", leases(1)),
        vec![0],
        "a lease taken meanwhile too"
    );
    assert_eq!(seqs(&mut ahead, "we_2", 0), vec![0, 1, 2], "other endpoints go on");
    ahead.resume("we_1");
    assert_eq!(
        ahead.room("we_1", "acct_1", 8),
        room(8, 0),
        "it leases again, and ahead once it answers fast"
    );
    assert_eq!(ahead.total, 0);
    assert!(ahead.by_account.is_empty());
}
