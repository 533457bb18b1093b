//! Writers for the failover tests: each reports payments one after another with a fresh
//! Idempotency-Key, and retries a 503 with the same key, as Stripe's SDKs do; every answer is
//! counted, and every acknowledged record remembered.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::encode;
use crate::common::form::{FORM, VALID_PAYMENT};

/// How long a writer waits before retrying a 503.
const RETRY_AFTER: Duration = Duration::from_millis(50);
/// A request not answered within this is a client timeout (counted as status 0).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct Report {
    pub statuses: BTreeMap<u16, u64>,
    /// 503s without `Stripe-Should-Retry: true`.
    pub unretryable_503s: u64,
    /// Ids of the records whose report was answered 200.
    pub acknowledged: Vec<String>,
    /// When each 200 was received.
    successes: Vec<Instant>,
}

impl Report {
    /// The first success at or after `at`.
    pub fn first_success_after(&self, at: Instant) -> Option<Instant> {
        self.successes.iter().copied().filter(|s| *s >= at).min()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "statuses {:?}, {} acknowledged, {} 503s without Stripe-Should-Retry",
            self.statuses,
            self.acknowledged.len(),
            self.unretryable_503s
        )
    }
}

pub struct Load {
    stop: Arc<AtomicBool>,
    report: Arc<Mutex<Report>>,
    writers: tokio::task::JoinSet<()>,
}

impl Load {
    pub fn start(base: &str, key: &str, writers: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let report = Arc::new(Mutex::new(Report::default()));
        let mut set = tokio::task::JoinSet::new();
        for w in 0..writers {
            let (stop, report) = (stop.clone(), report.clone());
            let (base, key) = (base.to_owned(), key.to_owned());
            set.spawn(async move { write(w, &base, &key, &stop, &report).await });
        }
        Load {
            stop,
            report,
            writers: set,
        }
    }

    pub async fn stop(mut self) -> Report {
        self.stop.store(true, Ordering::Release);
        while self.writers.join_next().await.is_some() {}
        std::mem::take(&mut *self.report.lock().unwrap())
    }
}

async fn write(writer: usize, base: &str, key: &str, stop: &AtomicBool, report: &Mutex<Report>) {
    let http = reqwest::Client::builder().timeout(CLIENT_TIMEOUT).build().unwrap();
    let url = format!("{base}/v1/payment_records/report_payment");
    let body = encode(&VALID_PAYMENT);
    let mut n = 0u64;
    while !stop.load(Ordering::Acquire) {
        n += 1;
        let idempotency_key = format!("failover-{writer}-{n}-{}", payrec::base62::random_base62(8));
        loop {
            let sent = http
                .post(&url)
                .basic_auth(key, Some(""))
                .header("content-type", FORM)
                .header("idempotency-key", &idempotency_key)
                .body(body.clone())
                .send()
                .await;
            let (status, retry, id) = match sent {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let retry = r.headers().get("stripe-should-retry").is_some_and(|v| v == "true");
                    let json: serde_json::Value = r.json().await.unwrap_or_default();
                    (status, retry, json["id"].as_str().map(str::to_owned))
                }
                Err(_) => (0, false, None),
            };
            {
                let mut report = report.lock().unwrap();
                *report.statuses.entry(status).or_default() += 1;
                if status == 200 {
                    report.acknowledged.push(id.expect("a record's id"));
                    report.successes.push(Instant::now());
                }
                if status == 503 && !retry {
                    report.unretryable_503s += 1;
                }
            }
            if status != 503 || stop.load(Ordering::Acquire) {
                break;
            }
            tokio::time::sleep(RETRY_AFTER).await;
        }
    }
}
