//! Crash durability (issue 7): the real server runs as a child process while several clients
//! report payments, outcomes, new attempts and refunds with Idempotency-Keys; it is killed
//! with SIGKILL at random moments and restarted on the same database. A client that loses a
//! response retries with the same key, as the SDKs do. At the end every write that was
//! acknowledged with a 2xx must be there, intact, and every record must keep its invariants.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::common::child::ChildServer;
use crate::common::{Api, Backend, Endpoint, Report, postgres_schema};
use payrec::records::lifecycle::invariant_violations;
use payrec::store::postgres::{PgOptions, PgStore};
use payrec::store::sqlite::{SqliteOptions, SqliteStore};
use payrec::store::{ListQuery, Store, Tenant};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const CLIENTS: usize = 4;
const KILLS: usize = 20;
/// How long the server lives between kills, in milliseconds.
const UPTIME_MS: std::ops::Range<u64> = 20..300;
/// Longest a client keeps retrying one request before giving it up.
const RETRY_DEADLINE: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const RETRY_PAUSE: Duration = Duration::from_millis(10);
const SEED: u64 = 0x5EED_0007;
const INITIATED_AT: &str = "1730211300";
const OUTCOME_AT: &str = "1730211400";

/// The server now, as the clients' key sees it: None while it is down. `stop` ends the
/// clients' work.
struct Live {
    server: RwLock<Option<crate::common::Client>>,
    stop: AtomicBool,
}

/// One record a client created, and every acknowledged response about it.
#[derive(Debug, Default)]
struct Tracked {
    id: String,
    amount: i64,
    /// Raw bodies of the 2xx responses, in order.
    acked: Vec<String>,
    /// Metadata entries that acknowledged calls set (none is ever removed).
    metadata: BTreeMap<String, String>,
    /// A call on it was given up without an answer: its last state is unknown.
    abandoned: bool,
}

#[derive(Debug, Default)]
struct ClientLog {
    records: Vec<Tracked>,
    acked: usize,
    replays: usize,
    resent: usize,
    unexpected: Vec<String>,
}

struct Client {
    n: usize,
    seq: usize,
    live: Arc<Live>,
    rng: StdRng,
    log: ClientLog,
}

impl Client {
    /// POSTs until a response arrives, with one Idempotency-Key for every try.
    async fn call(&mut self, endpoint: Endpoint, form: &[(String, String)]) -> Option<String> {
        self.seq += 1;
        let idempotency_key = format!("crash-c{}-{}", self.n, self.seq);
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let started = Instant::now();
        let mut tries = 0;
        while started.elapsed() < RETRY_DEADLINE {
            let Some(server) = self.live.server.read().expect("server").clone() else {
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            };
            tries += 1;
            let sent = server.try_call(&endpoint, &pairs, Some(&idempotency_key)).await;
            let Ok(r) = sent else {
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            };
            if r.status == 409 {
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
            if !(200..300).contains(&r.status) {
                let sent = if tries > 1 { " (after a lost response)" } else { "" };
                let path = endpoint.path();
                self.log
                    .unexpected
                    .push(format!("POST {path}{sent}: {} {}", r.status, r.body));
                return None;
            }
            self.log.acked += 1;
            self.log.resent += tries - 1;
            self.log.replays += usize::from(r.header("idempotent-replayed").is_some());
            return Some(r.body);
        }
        None
    }

    /// One report call on the record at `idx`, setting a metadata entry of its own.
    async fn step(&mut self, idx: usize, call: Report, mut form: Vec<(String, String)>) -> bool {
        let entry = (format!("s{}", self.seq + 1), format!("{call:?}-{}", self.seq + 1));
        form.push((format!("metadata[{}]", entry.0), entry.1.clone()));
        let endpoint = Endpoint::Report(self.log.records[idx].id.clone(), call);
        let answer = self.call(endpoint, &form).await;
        let tracked = &mut self.log.records[idx];
        match answer {
            Some(body) => {
                tracked.acked.push(body);
                tracked.metadata.insert(entry.0, entry.1);
                true
            }
            None => {
                tracked.abandoned = true;
                false
            }
        }
    }

    fn stopping(&self) -> bool {
        self.live.stop.load(Ordering::Relaxed)
    }

    /// One payment's life: created, attempts that fail or are canceled, a guarantee, refunds.
    async fn payment(&mut self) {
        let amount = self.rng.random_range(1..=1_000) * 100;
        let mut form = pairs(&[
            ("amount_requested[currency]", "usd"),
            ("amount_requested[value]", &amount.to_string()),
            ("initiated_at", INITIATED_AT),
            ("payment_method_details[type]", "custom"),
            ("metadata[client]", &self.n.to_string()),
        ]);
        if self.rng.random_bool(0.2) {
            form.extend(pairs(&[("outcome", "failed"), ("failed[failed_at]", OUTCOME_AT)]));
        }
        let Some(body) = self.call(Endpoint::ReportPayment, &form).await else {
            return;
        };
        let json: Value = serde_json::from_str(&body).expect("a JSON record");
        let mut tracked = Tracked {
            id: json["id"].as_str().expect("id").to_owned(),
            amount,
            acked: vec![body],
            ..Tracked::default()
        };
        tracked.metadata.insert("client".into(), self.n.to_string());
        let idx = self.log.records.len();
        self.log.records.push(tracked);
        let mut pending = json["amount_failed"]["value"] == 0;
        for attempt in 0..3 {
            if self.stopping() {
                return;
            }
            if !pending {
                let form = pairs(&[("initiated_at", INITIATED_AT)]);
                if !self.step(idx, Report::Attempt, form).await {
                    return;
                }
            }
            let outcome = match self.rng.random_range(0..4) {
                _ if attempt == 2 => "guaranteed",
                0 | 1 => "guaranteed",
                2 => "failed",
                _ => "canceled",
            };
            let form = pairs(&[(&format!("{outcome}_at"), OUTCOME_AT)]);
            if !self.step(idx, Report::outcome(outcome), form).await {
                return;
            }
            if outcome == "guaranteed" {
                break;
            }
            pending = false;
        }
        self.refunds(idx, amount).await;
    }

    /// Partial refunds of a quarter each, then sometimes the remainder.
    async fn refunds(&mut self, idx: usize, amount: i64) {
        for i in 0..self.rng.random_range(0..=4) {
            if self.stopping() {
                return;
            }
            let reference = format!("ref-c{}-{}-{i}", self.n, self.seq);
            let mut form = pairs(&[
                ("outcome", "refunded"),
                ("processor_details[type]", "custom"),
                ("processor_details[custom][refund_reference]", &reference),
            ]);
            if i < 3 {
                form.extend(pairs(&[
                    ("amount[currency]", "usd"),
                    ("amount[value]", &(amount / 4).to_string()),
                ]));
            }
            if !self.step(idx, Report::Refund, form).await {
                return;
            }
        }
    }
}

fn pairs(form: &[(&str, &str)]) -> Vec<(String, String)> {
    form.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Half the restarts hold each response back after its commit, widening the window in which
/// a kill loses the answer to a committed write.
fn restart_envs(kill: usize) -> Vec<(&'static str, &'static str)> {
    if kill % 2 == 1 {
        vec![("PAYREC_TEST_DELAY_AFTER_COMMIT_MS", "30")]
    } else {
        Vec::new()
    }
}

async fn spawn(url: &str, kill: usize) -> ChildServer {
    ChildServer::spawn(url, &restart_envs(kill)).await
}

/// Every acknowledged response's facts are in the restarted server's answers.
async fn check_acknowledged(server: &crate::common::Client, t: &Tracked) -> Vec<String> {
    let r = server.retrieve_record(&t.id, &[]).await;
    let (status, text) = (r.status, r.body);
    if status != 200 {
        return vec![format!("{}: acknowledged record is missing ({status} {text})", t.id)];
    }
    let stored: Value = serde_json::from_str(&text).expect("JSON");
    let mut problems = Vec::new();
    if stored["amount_requested"]["value"] != t.amount {
        problems.push(format!("{}: amount changed: {}", t.id, stored["amount_requested"]));
    }
    for (k, v) in &t.metadata {
        if stored["metadata"][k] != v.as_str() {
            problems.push(format!("{}: acknowledged metadata[{k}]={v} lost", t.id));
        }
    }
    for body in &t.acked {
        let acked: Value = serde_json::from_str(body).expect("JSON");
        let refunded = |v: &Value| v["amount_refunded"]["value"].as_i64().unwrap_or(-1);
        if refunded(&stored) < refunded(&acked) {
            problems.push(format!("{}: acknowledged refunds lost", t.id));
        }
        let attempt = acked["latest_payment_attempt_record"].as_str().unwrap_or_default();
        let r = server.retrieve_attempt(attempt, &[]).await;
        let (status, attempt_json) = (r.status, r.json);
        if status != 200 || attempt_json["payment_record"] != t.id.as_str() {
            problems.push(format!("{}: acknowledged attempt {attempt} lost ({status})", t.id));
        }
        for portion in ["amount_guaranteed", "amount_failed", "amount_canceled"] {
            if acked[portion]["value"].as_i64() > Some(0) && attempt_json[portion] != acked[portion] {
                problems.push(format!("{}: {attempt}'s acknowledged {portion} lost", t.id));
            }
        }
    }
    if !t.abandoned && t.acked.last() != Some(&text) {
        problems.push(format!(
            "{}: differs from the last acknowledged response:\n{text}",
            t.id
        ));
    }
    problems
}

/// Invariants of every record in the database, read with the store's own code.
async fn check_invariants(store: &dyn Store) -> (usize, Vec<String>) {
    let keys = store.list_keys().await.expect("keys");
    let tenant = Tenant {
        account_id: keys[0].account_id.clone(),
        livemode: false,
    };
    let (mut checked, mut problems) = (0, Vec::new());
    let mut query = ListQuery {
        limit: 100,
        ..ListQuery::default()
    };
    loop {
        let page = store.list_records(&tenant, &query).await.expect("list records");
        for record in &page.data {
            let all = ListQuery {
                limit: 100,
                ..ListQuery::default()
            };
            let mut attempts = store
                .list_attempts(&tenant, record.id.as_str(), &all)
                .await
                .expect("attempts")
                .data;
            attempts.reverse();
            for v in invariant_violations(record, &attempts) {
                problems.push(format!("{}: {v}", record.id));
            }
            checked += 1;
        }
        match page.data.last() {
            Some(last) if page.has_more => query.starting_after = Some(last.id.as_str().to_owned()),
            _ => break,
        }
    }
    (checked, problems)
}

/// The database the child server used, opened with payrec's own store code.
async fn open_store(backend: Backend, url: &str) -> Arc<dyn Store> {
    match backend {
        Backend::Sqlite => Arc::new(
            SqliteStore::open(url, &SqliteOptions::default())
                .await
                .expect("open SQLite"),
        ),
        Backend::Postgres => Arc::new(
            PgStore::open(url, &PgOptions::default())
                .await
                .expect("open PostgreSQL"),
        ),
    }
}

async fn kill_and_restart_under_load(backend: Backend, url: &str) {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut server = spawn(url, 0).await;
    let key = server.test_key.clone().expect("first start prints keys");
    let as_key = |server: &ChildServer| server.with_key(&key).with_timeout(REQUEST_TIMEOUT);
    let live = Arc::new(Live {
        server: RwLock::new(Some(as_key(&server))),
        stop: AtomicBool::new(false),
    });
    let mut clients = Vec::new();
    for n in 0..CLIENTS {
        let mut client = Client {
            n,
            seq: 0,
            live: live.clone(),
            rng: StdRng::seed_from_u64(SEED + 1 + n as u64),
            log: ClientLog::default(),
        };
        clients.push(tokio::spawn(async move {
            while !client.stopping() {
                client.payment().await;
            }
            client.log
        }));
    }
    for kill in 1..=KILLS {
        tokio::time::sleep(Duration::from_millis(rng.random_range(UPTIME_MS))).await;
        *live.server.write().expect("server") = None;
        server.kill9().await;
        server = spawn(url, kill).await;
        *live.server.write().expect("server") = Some(as_key(&server));
    }
    live.stop.store(true, Ordering::Relaxed);
    let logs: Vec<ClientLog> = tokio::time::timeout(Duration::from_secs(60), futures_util::future::join_all(clients))
        .await
        .expect("clients finish")
        .into_iter()
        .map(|r| r.expect("client task"))
        .collect();
    server.kill9().await;
    let mut server = ChildServer::spawn(url, &[]).await;

    let mut problems: Vec<String> = logs.iter().flat_map(|l| l.unexpected.clone()).collect();
    let tracked: Vec<&Tracked> = logs.iter().flat_map(|l| &l.records).collect();
    for t in &tracked {
        problems.extend(check_acknowledged(&as_key(&server), t).await);
    }
    let (in_database, violations) = check_invariants(open_store(backend, url).await.as_ref()).await;
    problems.extend(violations);
    let sum = |f: fn(&ClientLog) -> usize| logs.iter().map(f).sum::<usize>();
    println!(
        "{backend:?}: {} kills, {} requests acknowledged ({} after a resend, {} replayed), {} records acknowledged \
         and checked ({} abandoned), {in_database} records checked for invariants, {:.1} s",
        KILLS + 1,
        sum(|l| l.acked),
        sum(|l| l.resent),
        sum(|l| l.replays),
        tracked.len(),
        tracked.iter().filter(|t| t.abandoned).count(),
        started.elapsed().as_secs_f64()
    );
    server.kill9().await;
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        in_database >= tracked.len(),
        "every acknowledged record is in the database"
    );
    assert!(tracked.len() >= CLIENTS, "the clients made progress");
    assert!(sum(|l| l.resent) > 0, "some kills interrupted requests in flight");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_write_through_kill_9() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    kill_and_restart_under_load(Backend::Sqlite, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn postgres_keeps_every_acknowledged_write_through_kill_9() {
    let schema = postgres_schema().await;
    kill_and_restart_under_load(Backend::Postgres, schema.url()).await;
}
