//! `payrec listen --forward-to URL`: Stripe CLI's `stripe listen` against payrec. It makes a
//! webhook endpoint for the session (disabled, so that payrec itself never delivers to it: its
//! signing secret is the session's), prints that secret, then reads the account's new events
//! through the API and sends each to the URL signed with it, printing one line per event as
//! it goes out and one with the receiver's answer and latency. Ctrl-C (or SIGTERM) removes the
//! endpoint. Lines are in UTC.

use std::time::{Duration, Instant};

use reqwest::Method;

use super::Failure;
use super::args::ListenArgs;
use super::remote::Remote;
use crate::events::signature::signature_header;

/// How often the account's events are read.
pub const LISTEN_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Events read per page.
const EVENTS_PAGE: &str = "100";
/// Longest wait for the receiver's answer.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// `payrec listen`.
pub async fn listen(args: &ListenArgs) -> Result<(), Failure> {
    let remote = Remote::new(&args.remote)?;
    let (endpoint_id, secret, newest) = open_session(&remote, args).await?;
    let forwarded = tokio::select! {
        result = forward_events(&remote, args, &secret, newest) => result,
        () = super::serve::shutdown_signal() => Ok(()),
    };
    let path = format!("/v1/webhook_endpoints/{endpoint_id}");
    let removed = remote.call(Method::DELETE, &path, &[]).await;
    match &removed {
        Ok(_) => println!("payrec listen: removed webhook endpoint {endpoint_id}"),
        Err(e) => eprintln!(
            "payrec listen: could not remove webhook endpoint {endpoint_id}: {}",
            e.0
        ),
    }
    forwarded.and(removed.map(|_| ()))
}

/// The session's endpoint, made and disabled; its id and signing secret, and the newest event
/// before the session was ready (every later one is forwarded).
async fn open_session(remote: &Remote, args: &ListenArgs) -> Result<(String, String, Option<String>), Failure> {
    let mut form = vec![("url", args.forward_to.as_str()), ("description", "payrec listen")];
    match args.events.is_empty() {
        true => form.push(("enabled_events[]", "*")),
        false => form.extend(args.events.iter().map(|e| ("enabled_events[]", e.as_str()))),
    }
    let endpoint = remote.call(Method::POST, "/v1/webhook_endpoints", &form).await?;
    let id = endpoint["id"].as_str().unwrap_or_default().to_owned();
    let secret = endpoint["secret"].as_str().unwrap_or_default().to_owned();
    let path = format!("/v1/webhook_endpoints/{id}");
    remote.call(Method::POST, &path, &[("disabled", "true")]).await?;
    // Read before "Ready!": an event made as soon as it is printed is after this one.
    let first = remote.call(Method::GET, "/v1/events", &[("limit", "1")]).await?;
    let newest = first["data"][0]["id"].as_str().map(str::to_owned);
    let version = endpoint["api_version"]
        .as_str()
        .unwrap_or(crate::api_version::API_VERSION);
    println!(
        "Ready! You are using Stripe API Version [{version}]. Your webhook signing secret is {secret} (^C to quit)"
    );
    Ok((id, secret, newest))
}

/// Reads new events and forwards each, oldest first, until stopped or the server fails.
async fn forward_events(
    remote: &Remote,
    args: &ListenArgs,
    secret: &str,
    mut newest: Option<String>,
) -> Result<(), Failure> {
    let http = reqwest::Client::builder().timeout(FORWARD_TIMEOUT).build()?;
    loop {
        for id in new_events(remote, &mut newest).await? {
            let event = remote.send(Method::GET, &format!("/v1/events/{id}"), &[]).await?;
            let kind = event.json()["type"].as_str().unwrap_or_default().to_owned();
            if args.events.is_empty() || args.events.contains(&kind) {
                forward(&http, args, secret, &id, &kind, &event.text).await;
            }
        }
        tokio::time::sleep(LISTEN_POLL_INTERVAL).await;
    }
}

/// Ids of the events after `newest`, oldest first; moves `newest` on.
async fn new_events(remote: &Remote, newest: &mut Option<String>) -> Result<Vec<String>, Failure> {
    let mut ids = Vec::new();
    loop {
        let mut query = vec![("limit", EVENTS_PAGE)];
        if let Some(cursor) = newest.as_deref() {
            query.push(("ending_before", cursor));
        }
        let page = remote.call(Method::GET, "/v1/events", &query).await?;
        let data: Vec<String> = page["data"]
            .as_array()
            .map(|d| d.iter().filter_map(|e| e["id"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        // A page is newest first; the page before the cursor is the one just after it.
        let Some(top) = data.first().cloned() else { break };
        ids.extend(data.into_iter().rev());
        let more = page["has_more"].as_bool().unwrap_or(false) && newest.is_some();
        *newest = Some(top);
        if !more {
            break;
        }
    }
    Ok(ids)
}

/// Sends one event as a signed delivery and prints what came of it.
async fn forward(http: &reqwest::Client, args: &ListenArgs, secret: &str, id: &str, kind: &str, body: &str) {
    println!("{}   --> {kind} [{id}]", now_utc());
    let started = Instant::now();
    let signature = signature_header(secret, crate::clock::unix_now(), body);
    let sent = http
        .post(args.forward_to.clone())
        .header("content-type", "application/json; charset=utf-8")
        .header("stripe-signature", signature)
        .header("user-agent", concat!("payrec-listen/", env!("CARGO_PKG_VERSION")))
        .body(body.to_owned())
        .send()
        .await;
    let ms = started.elapsed().as_millis();
    match sent {
        Ok(answer) => println!(
            "{}  <--  [{}] POST {} [{id}] {ms} ms",
            now_utc(),
            answer.status().as_u16(),
            args.forward_to
        ),
        Err(e) => println!("{}            [ERROR] Failed to POST: {e}", now_utc()),
    }
}

/// `2026-12-07 19:00:00`, as the Stripe CLI prints times (in UTC here).
fn now_utc() -> String {
    let ((year, month, day), (h, m, s)) = crate::clock::utc(crate::clock::unix_now());
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}")
}
