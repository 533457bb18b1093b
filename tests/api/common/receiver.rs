//! A webhook receiver for the tests: a real HTTP server on 127.0.0.1:0 that records every
//! delivery (headers and body) and answers as the test tells it (a status, or never).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

/// How long `wait_for` waits before the test fails.
pub const DELIVERY_WAIT_MAX: Duration = Duration::from_secs(30);

/// How the receiver answers one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Status(u16),
    /// Holds the request open this long, then answers 200.
    Slow(Duration),
    /// Never answers.
    Hang,
}

/// One POST the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub signature: String,
    pub content_type: String,
    pub user_agent: String,
    pub body: String,
    pub received: Instant,
    /// When it was answered (None while held or never).
    pub answered: Option<Instant>,
}

impl Delivery {
    pub fn event(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a delivery's body is JSON")
    }

    pub fn event_id(&self) -> String {
        self.event()["id"].as_str().expect("event id").to_owned()
    }
}

#[derive(Default)]
struct Inner {
    deliveries: Vec<Delivery>,
    /// Answers for the next deliveries, in order; then `default`.
    next: VecDeque<Answer>,
    default: Option<Answer>,
    in_flight: usize,
    in_flight_max: usize,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

async fn receive(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (answer, index) = {
        let mut inner = inner.lock().expect("receiver lock");
        let answer = inner.next.pop_front().or(inner.default).unwrap_or(Answer::Status(200));
        inner.deliveries.push(Delivery {
            signature: header("stripe-signature"),
            content_type: header("content-type"),
            user_agent: header("user-agent"),
            body: String::from_utf8_lossy(&body).into_owned(),
            received: Instant::now(),
            answered: None,
        });
        inner.in_flight += 1;
        inner.in_flight_max = inner.in_flight_max.max(inner.in_flight);
        (answer, inner.deliveries.len() - 1)
    };
    let status = match answer {
        Answer::Status(code) => StatusCode::from_u16(code).expect("a valid status"),
        Answer::Slow(hold) => {
            tokio::time::sleep(hold).await;
            StatusCode::OK
        }
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK
        }
    };
    let mut inner = inner.lock().expect("receiver lock");
    inner.in_flight -= 1;
    inner.deliveries[index].answered = Some(Instant::now());
    status
}

impl Receiver {
    /// A receiver answering `default` (200 when None) unless told otherwise.
    pub async fn start(default: Option<Answer>) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}/hooks", listener.local_addr().expect("receiver address"));
        let inner = Arc::new(Mutex::new(Inner {
            default,
            ..Inner::default()
        }));
        let app = Router::new().route("/hooks", post(receive)).with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, inner }
    }

    /// The next deliveries get these answers, in order.
    pub fn answer_next(&self, answers: &[Answer]) {
        self.inner.lock().expect("receiver lock").next.extend(answers);
    }

    /// From now on, deliveries get `answer` (after any queued by `answer_next`).
    pub fn answer_from_now(&self, answer: Answer) {
        self.inner.lock().expect("receiver lock").default = Some(answer);
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.lock().expect("receiver lock").deliveries.clone()
    }

    /// Most deliveries held open at once.
    pub fn in_flight_max(&self) -> usize {
        self.inner.lock().expect("receiver lock").in_flight_max
    }

    /// Waits until at least `n` deliveries arrived; fails the test after `DELIVERY_WAIT_MAX`.
    pub async fn wait_for(&self, n: usize) -> Vec<Delivery> {
        self.wait_until(|d| d.len() >= n, &format!("{n} deliveries")).await
    }

    /// Waits until `done` holds for the deliveries so far.
    pub async fn wait_until(&self, done: impl Fn(&[Delivery]) -> bool, what: &str) -> Vec<Delivery> {
        let started = Instant::now();
        loop {
            let deliveries = self.deliveries();
            if done(&deliveries) {
                return deliveries;
            }
            assert!(
                started.elapsed() < DELIVERY_WAIT_MAX,
                "waited {DELIVERY_WAIT_MAX:?} for {what}; got {} deliveries",
                deliveries.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
