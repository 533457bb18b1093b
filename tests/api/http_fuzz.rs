//! Hostile input over HTTP (issue 7): at least ten thousand random and malformed requests,
//! written byte by byte on raw TCP so nothing is tidied by a client library: odd methods,
//! path tricks, invalid UTF-8 and percent escapes, deep nesting, huge numbers, long values,
//! many parameters, JSON and random bytes, odd content types, giant headers, broken auth.
//! Zero 5xx; every error payrec writes is in Stripe's shape. Both backends: PostgreSQL refuses
//! some strings SQLite stores (NUL), so hostile values must be stopped before either.

use crate::common::backend_test;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::form::VALID_PAYMENT;
use crate::common::{Api, Backend, TestServer, encode, id_of};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const REQUESTS: usize = 10_240;
/// PostgreSQL gets an eighth as many: the same decoder runs before either store.
const REQUESTS_POSTGRES: usize = REQUESTS / 8;
const CONNECTIONS: usize = 8;
const SEED: u64 = 0xF022_0007;
/// A request that gets no complete answer in this time counts as hung.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
const BODY_BYTES_MAX: usize = payrec::wire::form::REQUEST_BODY_BYTES_MAX;

/// Request methods, `|`-separated.
const METHODS: &str = "GET|POST|PUT|PATCH|DELETE|OPTIONS|HEAD|TRACE|FOO|get|M-SEARCH|PROPFIND";
/// The report endpoints after `/v1/payment_records/{id}/`.
const ENDS: &str = "report_payment_attempt|report_payment_attempt_guaranteed|report_payment_attempt_failed|\
    report_payment_attempt_canceled|report_payment_attempt_informational|report_refund";
/// Parameter names, real and broken.
const NAMES: &str = "amount_requested[value]|amount_requested[currency]|amount_requested|initiated_at|\
    payment_method_details[type]|payment_method_details[billing_details][address][city]|\
    payment_method_details[billing_details][email]|customer_details[email]|customer_presence|\
    description|metadata[k]|metadata|outcome|guaranteed[guaranteed_at]|failed[failed_at]|\
    shipping_details|shipping_details[address][country]|processor_details[custom][payment_reference]|\
    processor_details[custom][refund_reference]|amount[value]|expand[]|expand[0]|limit|starting_after|\
    ending_before|payment_record|created_after|guaranteed_at|a[]|a[][b]|[x]|a]b|a[b|a[[b]]|\
    metadata[k][j]";
/// Values: empty, signs, floats, overflows, bounds, non-ASCII, NUL, stray escapes.
const VALUES: &str = "|0|-1|1|1000|12.5|1e3|0x10| 1|+1|NaN|usd|USD|xxx|custom|guaranteed|refunded|on_session|\
    9223372036854775807|9223372036854775808|-9223372036854775808|99999999999999999999999999999999999999|\
    999999999999|1000000000000|253402300799|253402300800|1730211300|１２３|é|💳|\u{0}|a\u{0}b|%|%zz|%FF|\
    latest_payment_attempt_record|data.latest_payment_attempt_record|payment_record|pr_|par_x";

/// One request as bytes, and what the server may fairly do with it.
struct RawRequest {
    bytes: Vec<u8>,
    /// Oversized: the server may answer early and reset the connection.
    may_reset: bool,
}

struct Fuzzer {
    rng: StdRng,
    keys: Vec<String>,
    ids: Vec<String>,
}

impl Fuzzer {
    /// One of the `|`-separated items of `list`.
    fn pick(&mut self, list: &'static str) -> &'static str {
        let items: Vec<&'static str> = list.split('|').collect();
        items[self.rng.random_range(0..items.len())]
    }

    fn value(&mut self) -> String {
        match self.rng.random_range(0..10) {
            0 => "x".repeat(self.rng.random_range(1..12_000)),
            1 => self.rng.random_range(i64::MIN..i64::MAX).to_string(),
            2 => self.ids[self.rng.random_range(0..self.ids.len())].clone(),
            _ => self.pick(VALUES).to_owned(),
        }
    }

    fn name(&mut self) -> String {
        match self.rng.random_range(0..12) {
            0 => format!("a{}", "[a]".repeat(self.rng.random_range(1..40))),
            1 => format!("metadata[{}]", "k".repeat(self.rng.random_range(1..80))),
            2 => "n".repeat(self.rng.random_range(1..800)),
            _ => self.pick(NAMES).to_owned(),
        }
    }

    /// A form body or query: a valid report with random changes, or random pairs.
    fn form(&mut self) -> Vec<u8> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if self.rng.random_bool(0.5) {
            for (k, v) in VALID_PAYMENT {
                pairs.push((k.into(), v.into()));
            }
        }
        let extra = match self.rng.random_range(0..20) {
            0 => self.rng.random_range(1000..1200),
            1 => 60,
            _ => self.rng.random_range(0..4),
        };
        for i in 0..extra {
            let name = if extra >= 60 {
                format!("metadata[k{i}]")
            } else {
                self.name()
            };
            pairs.push((name, self.value()));
        }
        if !pairs.is_empty() && self.rng.random_bool(0.3) {
            let i = self.rng.random_range(0..pairs.len());
            pairs.remove(i);
        }
        let encoded: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut body = match self.rng.random_bool(0.7) {
            true => encode(&encoded).into_bytes(),
            false => pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes(),
        };
        if self.rng.random_bool(0.1) {
            let at = self.rng.random_range(0..=body.len());
            let junk: &[u8] =
                [&b"%"[..], b"%C3%28", b"\xff\xfe", b"&&&", b"=", b"%00", b"\0", b"[]"][self.rng.random_range(0..8)];
            body.splice(at..at, junk.iter().copied());
        }
        body
    }

    fn body(&mut self) -> Vec<u8> {
        match self.rng.random_range(0..20) {
            0 | 1 => (0..self.rng.random_range(0..2_000))
                .map(|_| self.rng.random::<u8>())
                .collect(),
            2 | 3 => br#"{"amount_requested":{"currency":"usd","value":1000},"initiated_at":1730211300}"#.to_vec(),
            4 | 5 => {
                let n = self.rng.random_range(1..300);
                format!("{}1{}", "[".repeat(n), "]".repeat(n)).into_bytes()
            }
            6 => vec![b'x'; BODY_BYTES_MAX + self.rng.random_range(1..1_000)],
            _ => self.form(),
        }
    }

    /// A target and the method its route takes.
    fn path(&mut self) -> (String, &'static str) {
        let id = match self.rng.random_range(0..10) {
            0 => "i".repeat(self.rng.random_range(100..20_000)),
            1 => self.pick("..|.|%2e%2e|%2F|%00|%ZZ|%|%FF%FE|%C3%A9|pr_%20x").to_owned(),
            2 => String::new(),
            _ => self.ids[self.rng.random_range(0..self.ids.len())].clone(),
        };
        let end = self.pick(ENDS);
        let junk = self.pick("/|*|/v1|/v2/payment_records|/healthz|/v1/%|/V1/PAYMENT_RECORDS");
        match self.rng.random_range(0..20) {
            0..4 => ("/v1/payment_records/report_payment".into(), "POST"),
            4 => ("/v1/payment_records".into(), "GET"),
            5 => (format!("/v1/payment_attempt_records/{id}"), "GET"),
            6 => ("/v1/payment_attempt_records".into(), "GET"),
            7 => (format!("/v1/payment_records/{id}"), "GET"),
            8 => (format!("/v1/payment_records/../payment_records/{id}"), "GET"),
            9 => (format!("//v1//payment_records//{id}/{end}"), "POST"),
            10 => (format!("/v1/payment_records/{id}/{end}/extra"), "POST"),
            11 => (junk.into(), "GET"),
            12 => (format!("http://127.0.0.1/v1/payment_records/{id}"), "GET"),
            _ => (format!("/v1/payment_records/{id}/{end}"), "POST"),
        }
    }

    fn auth(&mut self) -> Option<String> {
        use base64::Engine;
        let key = self.keys[self.rng.random_range(0..self.keys.len())].clone();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        match self.rng.random_range(0..12) {
            0 => None,
            1 => Some("Bearer ".into()),
            2 => Some("Basic !!!not-base64".into()),
            3 => Some(format!("Basic {}", b64(":"))),
            4 => Some(format!(
                "Bearer sk_test_{}",
                "z".repeat(self.rng.random_range(1..5_000))
            )),
            5 => Some(format!("Digest {key}")),
            6 => Some(format!("Basic {}", b64(&format!("{key}:")))),
            _ => Some(format!("Bearer {key}")),
        }
    }

    fn request(&mut self) -> RawRequest {
        let mut may_reset = false;
        let (target, natural) = self.path();
        let method = match self.rng.random_range(0..20) {
            0 => "X".repeat(self.rng.random_range(1..200)),
            1..4 => self.pick(METHODS).into(),
            _ => natural.into(),
        };
        let mut target = target.into_bytes();
        if self.rng.random_bool(0.3) {
            target.push(b'?');
            target.extend(self.form());
        }
        if self.rng.random_bool(0.02) {
            target.extend("/é\0 x".as_bytes());
        }
        let mut head: Vec<(String, Vec<u8>)> = Vec::new();
        if let Some(auth) = self.auth() {
            head.push(("Authorization".into(), auth.into_bytes()));
        }
        let content_type = match self.rng.random_range(0..12) {
            0 => None,
            1 => Some("application/json"),
            2 => Some("text/plain"),
            3 => Some("multipart/form-data; boundary=x"),
            4 => Some("application/x-www-form-urlencoded; charset=latin1"),
            5 => Some(";;;"),
            _ => Some("application/x-www-form-urlencoded"),
        };
        if let Some(ct) = content_type {
            head.push(("Content-Type".into(), ct.into()));
        }
        match self.rng.random_range(0..25) {
            0 => head.push((
                "Idempotency-Key".into(),
                "k".repeat(self.rng.random_range(200..400)).into(),
            )),
            1 => head.push(("Idempotency-Key".into(), b"\xff\xfe-key".to_vec())),
            2 => head.push(("Idempotency-Key".into(), Vec::new())),
            3 => head.push(("Stripe-Account".into(), b"acct_123".to_vec())),
            4 => head.push(("Stripe-Version".into(), b"\x80\x81 nonsense".to_vec())),
            5 => {
                may_reset = true;
                head.push(("X-Giant".into(), vec![b'g'; self.rng.random_range(10_000..70_000)]));
            }
            6 => {
                may_reset = true;
                for i in 0..self.rng.random_range(50..150) {
                    head.push((format!("X-Many-{i}"), b"v".to_vec()));
                }
            }
            7 => head.push(("Content-Type".into(), b"application/json".to_vec())),
            8..13 => head.push((
                "Idempotency-Key".into(),
                format!("fuzz-{}", self.rng.random_range(0..50)).into(),
            )),
            _ => {}
        }
        let body = if method == "GET" && self.rng.random_bool(0.9) {
            Vec::new()
        } else {
            self.body()
        };
        may_reset |= body.len() > BODY_BYTES_MAX || target.len() > 8_000;
        let chunked = self.rng.random_bool(0.05);
        RawRequest {
            bytes: assemble(&method, &target, &head, &body, chunked),
            may_reset,
        }
    }
}

fn assemble(method: &str, target: &[u8], head: &[(String, Vec<u8>)], body: &[u8], chunked: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 512);
    out.extend(method.as_bytes());
    out.push(b' ');
    out.extend(target);
    out.extend(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in head {
        out.extend(name.as_bytes());
        out.extend(b": ");
        out.extend(value);
        out.extend(b"\r\n");
    }
    if chunked {
        out.extend(b"Transfer-Encoding: chunked\r\n\r\n");
        for chunk in body.chunks(777) {
            out.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
            out.extend(chunk);
            out.extend(b"\r\n");
        }
        out.extend(b"0\r\n\r\n");
    } else {
        out.extend(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        out.extend(body);
    }
    out
}

/// An answer as read off the wire.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Sends one request on a fresh connection and reads until the server closes it. Reading runs
/// alongside writing, so an early answer to an oversized request is not lost.
async fn exchange(addr: &str, bytes: Vec<u8>) -> Option<RawResponse> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let write = tokio::spawn(async move {
        let _ = writer.write_all(&bytes).await;
        writer
    });
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(ANSWER_TIMEOUT, reader.read_to_end(&mut raw)).await;
    drop(write.await);
    parse(&raw)
}

fn parse(raw: &[u8]) -> Option<RawResponse> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Some(RawResponse { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 || data.len() < eol + 2 + size {
            break;
        }
        out.extend(&data[eol + 2..eol + 2 + size]);
        data = &data[(eol + 4 + size).min(data.len())..];
    }
    out
}

/// What one answer breaks, if anything.
fn problem(r: &RawResponse) -> Option<String> {
    let text = String::from_utf8_lossy(&r.body);
    if r.status >= 500 {
        return Some(format!("{}: {text}", r.status));
    }
    let from_payrec = r.headers.iter().any(|(k, _)| k == "request-id");
    let json: Option<Value> = serde_json::from_slice(&r.body).ok();
    let is_error = json.as_ref().is_some_and(|j| j.get("error").is_some());
    if (is_error || (from_payrec && r.status >= 400)) && !r.body.is_empty() {
        let Some(j) = &json else {
            return Some(format!("{}: payrec error that is not JSON: {text}", r.status));
        };
        if !j["error"]["type"].is_string() || !j["error"]["message"].is_string() {
            return Some(format!("{}: error not in Stripe's shape: {text}", r.status));
        }
    }
    None
}

#[backend_test]
async fn hostile_requests_get_no_5xx_and_only_stripe_shaped_errors(server: TestServer) {
    let started = Instant::now();
    let record = server.pending_payment(5_000).await;
    let mut ids = vec![
        record["id"].as_str().unwrap().to_owned(),
        record["latest_payment_attempt_record"].as_str().unwrap().to_owned(),
        "pr_000000000000000000000000".to_owned(),
    ];
    for _ in 0..3 {
        ids.push(id_of(&server.pending_payment(7_000).await));
    }
    let (test, live) = (server.test_key.clone(), server.live_key.clone());
    let keys = vec![
        test.clone(),
        test.clone(),
        test,
        live,
        "sk_test_123".into(),
        "pk_test_x".into(),
    ];
    let addr = server.address().to_owned();
    let requests = match server.backend {
        Backend::Sqlite => REQUESTS,
        Backend::Postgres => REQUESTS_POSTGRES,
    };
    let tally = Arc::new(std::sync::Mutex::new((
        BTreeMap::<String, usize>::new(),
        Vec::<String>::new(),
    )));
    let mut tasks = Vec::new();
    for connection in 0..CONNECTIONS {
        let mut fuzzer = Fuzzer {
            rng: StdRng::seed_from_u64(SEED + connection as u64),
            keys: keys.clone(),
            ids: ids.clone(),
        };
        let (addr, tally) = (addr.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..requests / CONNECTIONS {
                let request = fuzzer.request();
                let sent = String::from_utf8_lossy(&request.bytes[..request.bytes.len().min(300)]).into_owned();
                let answer = exchange(&addr, request.bytes).await;
                let mut tally = tally.lock().expect("tally");
                let (label, trouble) = match &answer {
                    // hyper answers requests it cannot parse itself: no Request-Id, no body.
                    Some(r) if !r.headers.iter().any(|(k, _)| k == "request-id") => {
                        (format!("{} from hyper", r.status), problem(r))
                    }
                    Some(r) => (r.status.to_string(), problem(r)),
                    None if request.may_reset => ("reset (oversized)".into(), None),
                    None => ("no answer".into(), Some("no answer".into())),
                };
                *tally.0.entry(label).or_default() += 1;
                if let Some(trouble) = trouble {
                    tally.1.push(format!("{trouble}\n  request: {sent:?}"));
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("fuzz connection");
    }
    let health = server.healthz().await;
    let (histogram, problems) = std::mem::take(&mut *tally.lock().expect("tally"));
    let total: usize = histogram.values().sum();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{:?}: {total} requests in {seconds:.1} s; status histogram: {histogram:?}",
        server.backend
    );
    assert_eq!(health.status, 200, "the server is still up");
    assert_eq!(total, requests);
    assert!(
        histogram.get("200").is_some_and(|n| *n > 0),
        "some requests got through to the handlers"
    );
    let shown: Vec<&String> = problems.iter().take(10).collect();
    assert!(
        problems.is_empty(),
        "{} problems, the first: {shown:#?}",
        problems.len()
    );
}
