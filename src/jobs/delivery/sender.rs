//! One delivery attempt over HTTP: the event's JSON, signed the Stripe way, POSTed to the
//! endpoint; a 2xx within the timeout acknowledges it. With `--webhook-allow`, the client's
//! resolver refuses addresses outside the list, so a name cannot be pointed at a network the
//! operator did not allow.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::events::allow::AllowList;
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
    pub error: Option<String>,
    pub latency: Duration,
}

/// Resolves host names, keeping only the addresses the allow list permits.
#[derive(Debug)]
struct AllowingResolver {
    allow: AllowList,
}

impl Resolve for AllowingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let by_name = allow.allows_name(&host);
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| by_name || allow.allows_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no address --webhook-allow permits").into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client every delivery shares.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow: Option<AllowList>,
    timeout: Duration,
}

impl Sender {
    pub fn new(allow: Option<AllowList>, timeout: Duration, connections_per_endpoint: usize) -> Self {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("payrec/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(connections_per_endpoint)
            .pool_idle_timeout(IDLE_CONNECTION_TIMEOUT)
            .timeout(timeout);
        if let Some(allow) = &allow {
            builder = builder.dns_resolver(Arc::new(AllowingResolver { allow: allow.clone() }));
        }
        Sender {
            client: builder.build().expect("the HTTP client's settings are valid"),
            allow,
            timeout,
        }
    }

    /// POSTs the delivery's event, signed now.
    pub async fn attempt(&self, delivery: &ClaimedDelivery) -> Attempted {
        let started = Instant::now();
        let failed = |error: String, status: Option<u16>| Attempted {
            acknowledged: false,
            status,
            error: Some(error),
            latency: started.elapsed(),
        };
        if let Some(allow) = &self.allow {
            // A literal address never reaches the resolver.
            let host = url::Url::parse(&delivery.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            let literal = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>();
            if literal.is_ok() && !allow.allows_name(&host) {
                return failed(format!("{host} is not allowed by --webhook-allow"), None);
            }
        }
        let signature = signature_header(&delivery.secret, crate::clock::unix_now(), &delivery.body);
        let sent = self
            .client
            .post(&delivery.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .header("Stripe-Signature", signature)
            .body(delivery.body.clone())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                return failed(format!("no answer within {} s", self.timeout.as_secs_f64()), None);
            }
            Err(e) => return failed(describe(e), None),
        };
        let status = response.status();
        drain(response).await;
        if status.is_success() {
            Attempted {
                acknowledged: true,
                status: Some(status.as_u16()),
                error: None,
                latency: started.elapsed(),
            }
        } else {
            failed(format!("the endpoint answered {status}"), Some(status.as_u16()))
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

/// The error and its causes, without the URL's query (which may carry a token).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
