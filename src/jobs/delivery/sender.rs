//! One delivery attempt over HTTP: the event's JSON, signed the Stripe way, POSTed to the
//! endpoint; a 2xx within the timeout acknowledges it. The destination rule
//! (`events::destination`) is applied where the connection is made: each mode has its own
//! client whose resolver keeps only the addresses the rule allows, a URL that names an address
//! is checked before sending, no redirect is followed, and no proxy from the environment is
//! used (a proxy would resolve the name itself, out of the rule's sight).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::events::destination::Destinations;
use crate::events::failure::Failure;
use crate::events::signature::signature_header;
use crate::store::ClaimedDelivery;

/// Bytes of an endpoint's answer read (and then dropped) so its connection can be reused.
pub const RESPONSE_BYTES_READ_MAX: usize = 64 * 1024;
/// How long an idle connection to an endpoint is kept for the next delivery.
pub const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempted {
    pub acknowledged: bool,
    pub status: Option<u16>,
    pub failure: Option<Failure>,
    /// The transport's own words, for the operator's log only.
    pub detail: Option<String>,
    pub latency: Duration,
}

/// The resolver's refusal, found again in the error's causes to tell `Blocked` from `Dns`.
#[derive(Debug)]
struct BlockedDestination(String);

impl std::fmt::Display for BlockedDestination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} resolves to no address webhooks may be delivered to", self.0)
    }
}

impl std::error::Error for BlockedDestination {}

/// Resolves host names, keeping only the addresses the rule allows in one mode.
#[derive(Debug)]
struct RuledResolver {
    rule: Destinations,
    livemode: bool,
}

impl Resolve for RuledResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let rule = self.rule.clone();
        let livemode = self.livemode;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let by_name = rule.allows_name(&host);
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| by_name || rule.allows_ip(livemode, a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(BlockedDestination(host)) as _);
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP clients every delivery shares, one per mode.
#[derive(Debug, Clone)]
pub struct Sender {
    live: reqwest::Client,
    test: reqwest::Client,
    rule: Destinations,
    timeout: Duration,
}

impl Sender {
    pub fn new(rule: Destinations, timeout: Duration, connections_per_endpoint: usize) -> Self {
        let client = |livemode| {
            reqwest::Client::builder()
                .user_agent(concat!("payrec/", env!("CARGO_PKG_VERSION")))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .pool_max_idle_per_host(connections_per_endpoint)
                .pool_idle_timeout(IDLE_CONNECTION_TIMEOUT)
                .timeout(timeout)
                .dns_resolver(Arc::new(RuledResolver {
                    rule: rule.clone(),
                    livemode,
                }))
                .build()
                .expect("the HTTP client's settings are valid")
        };
        Sender {
            live: client(true),
            test: client(false),
            rule,
            timeout,
        }
    }

    /// Whether the rule refuses the URL before anything is sent: a live endpoint's plain http
    /// (one made before the rule), or an address written in the URL (which never reaches the
    /// resolver).
    fn refused(&self, livemode: bool, url: &str) -> Option<String> {
        match url::Url::parse(url) {
            Ok(parsed) => self.rule.refuses_url(livemode, &parsed),
            Err(_) => Some("the URL does not parse".into()),
        }
    }

    /// POSTs the delivery's event, signed now.
    pub async fn attempt(&self, delivery: &ClaimedDelivery) -> Attempted {
        let started = Instant::now();
        let failed = |failure: Failure, detail: String| Attempted {
            acknowledged: false,
            status: None,
            failure: Some(failure),
            detail: Some(detail),
            latency: started.elapsed(),
        };
        let livemode = delivery.tenant.livemode;
        if let Some(why) = self.refused(livemode, &delivery.url) {
            return failed(Failure::Blocked, why);
        }
        let client = if livemode { &self.live } else { &self.test };
        let signature = signature_header(&delivery.secret, crate::clock::unix_now(), &delivery.body);
        let sent = client
            .post(&delivery.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .header("Stripe-Signature", signature)
            .body(delivery.body.clone())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                return failed(
                    Failure::Timeout,
                    format!("no answer within {} s", self.timeout.as_secs_f64()),
                );
            }
            Err(e) => {
                let (failure, detail) = classify(e);
                return failed(failure, detail);
            }
        };
        let status = response.status();
        drain(response).await;
        Attempted {
            acknowledged: status.is_success(),
            status: Some(status.as_u16()),
            failure: None,
            detail: (!status.is_success()).then(|| format!("the endpoint answered {status}")),
            latency: started.elapsed(),
        }
    }
}

/// Reads a little of the answer, so the connection can serve the next delivery.
async fn drain(mut response: reqwest::Response) {
    let mut read = 0;
    while read < RESPONSE_BYTES_READ_MAX {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            _ => break,
        }
    }
}

/// The failure's category, and its causes in words (without the URL's query, which may carry
/// a token) for the log.
fn classify(e: reqwest::Error) -> (Failure, String) {
    let e = e.without_url();
    let connect = e.is_connect();
    let mut text = e.to_string();
    let mut blocked = false;
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        blocked |= cause.downcast_ref::<BlockedDestination>().is_some();
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    let lower = text.to_ascii_lowercase();
    let failure = if blocked {
        Failure::Blocked
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        Failure::Tls
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        Failure::Dns
    } else if connect {
        Failure::Refused
    } else {
        Failure::Other
    };
    (failure, text)
}
