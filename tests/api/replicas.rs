//! Replicas (issue 6): three `payrec serve` processes on one PostgreSQL database, and fifty
//! clients spread across them reporting outcomes, new attempts and refunds on ten shared records,
//! each request with an Idempotency-Key, some sent again on another replica (afterwards or at the
//! same time). Afterwards every record keeps its invariants, every outcome and refund counted
//! once, and every retry got the first response back, replayed rather than re-executed.
//! Needs PostgreSQL: ignored without `PAYREC_TEST_DATABASE_URL`, a failure under `CI=true`.

mod checks;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::calls::{Op, borrowed};
use crate::common::child::ChildServer;
use crate::common::form::payment_with;
use crate::common::{Api, Client, Endpoint, Resp, postgres_schema};
use checks::{Checks, Figures, check_call, check_record, refund_rows};
use payrec::store::postgres::{PgOptions, PgStore};
use payrec::store::{Accounts, Tenant, Upkeep};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::sync::Barrier;

const REPLICAS: usize = 3;
const CLIENTS: usize = 50;
const REQUESTS_PER_CLIENT: usize = 40;
/// The shared records every client reports on.
const RECORDS: usize = 10;
const AMOUNT: i64 = 1_000_000;
const REFUND_VALUE_MAX: i64 = 5_000;
/// Requests sent again on another replica once answered, and requests sent twice at once.
const RETRIED_AFTER_PERCENT: u32 = 15;
const RETRIED_CONCURRENTLY_PERCENT: u32 = 10;
/// Each replica's pool: three replicas stay well inside PostgreSQL's default of 100 connections.
const REPLICA_POOL_CONNECTIONS: &str = "10";
/// A request answered 409 idempotency_key_in_use is sent again, at most this often.
const IN_USE_RESENDS_MAX: usize = 200;
const IN_USE_BACKOFF: Duration = Duration::from_millis(5);
/// A deadlock or a stalled replica shows up as this passing.
const DEADLINE: Duration = Duration::from_secs(60);

/// Per mille: guarantees are rare so records cycle through failed and canceled attempts
/// first; refunds of the remainder rarer still, so refunds go on once guaranteed.
fn random_op(rng: &mut StdRng) -> Op {
    match rng.random_range(0..1000) {
        0..50 => Op::Guaranteed,
        50..230 => Op::Failed,
        230..390 => Op::Canceled,
        390..640 => Op::NewAttempt,
        640..643 => Op::Refund(None),
        _ => Op::Refund(Some(rng.random_range(1..=REFUND_VALUE_MAX))),
    }
}

/// The replicas, as the clients see them.
struct Cluster {
    replicas: Vec<Client>,
}

/// One HTTP answer, with the headers that tell an execution from a replay.
#[derive(Debug, Clone)]
struct Reply {
    replica: usize,
    status: u16,
    body: String,
    request_id: String,
    replayed: bool,
    original_request: Option<String>,
}

impl Reply {
    fn new(replica: usize, r: Resp) -> Reply {
        let header = |name: &str| r.header(name).map(str::to_owned);
        Reply {
            replica,
            status: r.status,
            request_id: header("request-id").expect("every response has a Request-Id"),
            replayed: r.header("idempotent-replayed") == Some("true"),
            original_request: header("original-request"),
            body: r.body,
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn is_key_in_use(&self) -> bool {
        self.status == 409 && self.json()["error"]["code"] == "idempotency_key_in_use"
    }
}

impl Cluster {
    async fn post(&self, replica: usize, endpoint: &Endpoint, form: &[(&str, &str)], key: &str) -> Reply {
        let r = self.replicas[replica].call(endpoint, form, Some(key)).await;
        Reply::new(replica, r)
    }

    /// Posts until the answer is not a 409 idempotency_key_in_use (the key's first request
    /// was still running on that replica); returns the answer and how many 409s came first.
    async fn post_answered(
        &self,
        mut replica: usize,
        endpoint: &Endpoint,
        form: &[(&str, &str)],
        key: &str,
    ) -> (Reply, usize) {
        for in_use in 0..=IN_USE_RESENDS_MAX {
            let reply = self.post(replica, endpoint, form, key).await;
            if !reply.is_key_in_use() {
                return (reply, in_use);
            }
            replica = (replica + 1) % REPLICAS;
            tokio::time::sleep(IN_USE_BACKOFF).await;
        }
        panic!("{key}: still in use after {IN_USE_RESENDS_MAX} resends");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    Never,
    /// Sent again on another replica once the first answer came back.
    After,
    /// Sent twice at once, to two replicas picked at random (possibly the same one).
    Concurrently,
}

/// One logical request: the answers to every copy sent (409s resent and counted, not kept).
#[derive(Debug)]
struct Call {
    record: usize,
    op: Op,
    key: String,
    reference: String,
    retry: Retry,
    replies: Vec<Reply>,
    in_use: usize,
}

impl Call {
    /// The one answer that executed; the others replayed it.
    fn executed(&self) -> &Reply {
        self.replies
            .iter()
            .find(|r| !r.replayed)
            .expect("checked: one execution")
    }

    fn succeeded(&self) -> bool {
        self.executed().status == 200
    }
}

async fn client(cluster: Arc<Cluster>, ids: Arc<Vec<String>>, n: usize, seed: u64, start: Arc<Barrier>) -> Vec<Call> {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(n as u64));
    let mut calls = Vec::with_capacity(REQUESTS_PER_CLIENT);
    start.wait().await;
    for i in 0..REQUESTS_PER_CLIENT {
        let record = rng.random_range(0..RECORDS);
        let op = random_op(&mut rng);
        let (key, reference) = (format!("replicas-c{n}-{i}"), format!("ref-c{n}-{i}"));
        let (call, form) = op.request(&reference);
        let (endpoint, form) = (Endpoint::Report(ids[record].clone(), call), borrowed(&form));
        let first = rng.random_range(0..REPLICAS);
        let other = (first + rng.random_range(1..REPLICAS)) % REPLICAS;
        let any = rng.random_range(0..REPLICAS);
        let retry = match rng.random_range(0..100) {
            p if p < RETRIED_AFTER_PERCENT => Retry::After,
            p if p < RETRIED_AFTER_PERCENT + RETRIED_CONCURRENTLY_PERCENT => Retry::Concurrently,
            _ => Retry::Never,
        };
        let send = |replica| cluster.post_answered(replica, &endpoint, &form, &key);
        let answers = match retry {
            Retry::Never => vec![send(first).await],
            Retry::After => vec![send(first).await, send(other).await],
            Retry::Concurrently => {
                let (a, b) = tokio::join!(send(first), send(any));
                vec![a, b]
            }
        };
        calls.push(Call {
            record,
            op,
            key,
            reference,
            retry,
            in_use: answers.iter().map(|(_, in_use)| in_use).sum(),
            replies: answers.into_iter().map(|(reply, _)| reply).collect(),
        });
    }
    calls
}

/// Starts the replicas on `url`: the first creates the account and prints its keys, the
/// others find it.
async fn start_replicas(url: &str) -> (Vec<ChildServer>, Arc<Cluster>) {
    let pool_env = [("PAYREC_PG_MAX_CONNECTIONS", REPLICA_POOL_CONNECTIONS)];
    let mut children = vec![ChildServer::spawn(url, &pool_env).await];
    let key = children[0].test_key.clone().expect("the first replica prints the keys");
    for _ in 1..REPLICAS {
        let child = ChildServer::spawn(url, &pool_env).await;
        assert!(child.test_key.is_none(), "only the first replica creates an account");
        children.push(child);
    }
    let cluster = Cluster {
        replicas: children.iter().map(|c| c.with_key(&key)).collect(),
    };
    (children, Arc::new(cluster))
}

/// The shared records, each created on one replica and its creation replayed on the next.
async fn create_records(cluster: &Cluster) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..RECORDS {
        let amount = AMOUNT.to_string();
        let form = payment_with(&[("amount_requested[value]", &amount)]);
        let key = format!("replicas-create-{n}");
        let created = cluster.post(n % REPLICAS, &Endpoint::ReportPayment, &form, &key).await;
        assert_eq!(created.status, 200, "{}", created.body);
        let again = cluster
            .post((n + 1) % REPLICAS, &Endpoint::ReportPayment, &form, &key)
            .await;
        assert!(
            again.replayed && again.body == created.body,
            "creation replayed: {again:?}"
        );
        ids.push(created.json()["id"].as_str().expect("id").to_owned());
    }
    ids
}

/// Runs every client at once; returns their calls and how long they took.
async fn run_clients(cluster: &Arc<Cluster>, ids: Vec<String>) -> (Vec<Call>, Duration) {
    let seed: u64 = std::env::var("PAYREC_REPLICAS_SEED").map_or_else(|_| rand::random(), |s| s.parse().expect("seed"));
    println!("replicas: seed {seed} (PAYREC_REPLICAS_SEED={seed} repeats this run)");
    let (ids, start, began) = (Arc::new(ids), Arc::new(Barrier::new(CLIENTS)), Instant::now());
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(client(cluster.clone(), ids.clone(), n, seed, start.clone())))
        .collect();
    let calls: Vec<Call> = tokio::time::timeout(DEADLINE, futures_util::future::join_all(tasks))
        .await
        .expect("no deadlock: every client finished in time")
        .into_iter()
        .flat_map(|r| r.expect("client task"))
        .collect();
    (calls, began.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn replicas_on_one_database_never_double_count_and_replay_retries() {
    let schema = postgres_schema().await;
    let url = schema.url();
    let (mut children, cluster) = start_replicas(url).await;
    let options = PgOptions {
        max_connections: 4,
        ..PgOptions::default()
    };
    let store = PgStore::open(url, &options).await.expect("open the replicas' database");
    let keys = store.list_keys().await.expect("keys");
    let tenant = Tenant {
        account_id: keys[0].account_id.clone(),
        livemode: false,
    };
    assert!(
        keys.iter().all(|k| k.account_id == tenant.account_id),
        "one account: {keys:?}"
    );
    let ids = create_records(&cluster).await;
    let (calls, elapsed) = run_clients(&cluster, ids.clone()).await;

    if let Some(call) = calls.iter().find(|c| c.replies.iter().any(|r| r.status >= 500)) {
        let logs: Vec<String> = children.iter().map(ChildServer::logs).collect();
        panic!(
            "{} got a 5xx: {:?}\nreplica logs:\n{}",
            call.key,
            call.replies,
            logs.join("\n---\n")
        );
    }
    let mut checks = Checks::default();
    for call in &calls {
        check_call(call, &mut checks);
    }
    let mut refunds = refund_rows(&store, &tenant).await;
    for (n, id) in ids.iter().enumerate() {
        let mine: Vec<&Call> = calls.iter().filter(|c| c.record == n).collect();
        let rows = refunds.remove(id).unwrap_or_default();
        check_record(&cluster, &store, &tenant, id, &mine, &rows, &mut checks).await;
    }
    checks.hold(refunds.is_empty(), || {
        format!("refunds on unknown records: {refunds:?}")
    });
    let saved: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM idempotency_keys WHERE account_id = $1 AND livemode = $2")
            .bind(&tenant.account_id)
            .bind(tenant.livemode)
            .fetch_one(&store.pool().expect("a primary"))
            .await
            .expect("count keys");
    let expected = calls.len() + RECORDS;
    checks.hold(saved as usize == expected, || {
        format!("{saved} idempotency keys saved, {expected} sent")
    });
    Figures::count(&calls).print(calls.len(), elapsed, &checks);

    store.close().await.expect("closed");
    for child in &mut children {
        child.kill9().await;
    }
}
