//! `payrec serve --seed FILE`: a test suite's fixed set-up, applied before the server listens.
//! The file (TOML, or JSON when it ends in `.json`) names accounts, each with API keys given as
//! literal strings (`sk_test_123`, the kind suites hard-code), webhook endpoints with a given
//! `whsec_` signing secret, and payments to report. Everything is checked before anything is
//! written, through the API's own declarations (an endpoint as `POST /v1/webhook_endpoints`
//! reads it, a payment as `payrec import` reads a JSON line), and applying the file again
//! changes nothing: an account, key or endpoint that exists is left as it is, and a payment's
//! id is derived from its content (or its payment reference), so it is found imported.

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::Failure;
use crate::base62::BASE62;
use crate::calls::webhook_endpoints::{CreateEndpointParams, new_endpoint};
use crate::clock::unix_now;
use crate::events::WebhookEndpoint;
use crate::events::destination::Destinations;
use crate::events::endpoint::{ENDPOINT_ID_PREFIX, SECRET_PREFIX};
use crate::import::{ReadyLine, derived_id, json_line, prepare};
use crate::store::Tenant;
use crate::store::keys::KeyKind;
use crate::wire::auth::{is_word_after, key_mode, new_key_record_of};

mod apply;

pub use apply::{Applied, apply};

/// Largest seed file read (a set-up, not a data import: `payrec import` takes those).
pub const SEED_FILE_BYTES_MAX: u64 = 8 << 20;
/// Longest given signing secret, `whsec_` included.
pub const SEED_SECRET_CHARS_MAX: usize = 128;
/// Longest given account or endpoint id.
pub const SEED_ID_CHARS_MAX: usize = 64;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    #[serde(default)]
    pub accounts: Vec<SeedAccount>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAccount {
    /// `acct_…`; when absent, made from the account's first key (the same file, the same id).
    pub id: Option<String>,
    /// API keys as literal strings: `sk_test_…`, `sk_live_…`, `rk_test_…`, `rk_live_…`.
    pub keys: Vec<String>,
    #[serde(default)]
    pub webhook_endpoints: Vec<SeedEndpoint>,
    /// report_payment's parameters (with `refunds`, `id`, `created`, `livemode` as `payrec
    /// import` reads a JSON line); test mode unless `livemode = true`. Also read as `records`.
    #[serde(default, alias = "records")]
    pub payments: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedEndpoint {
    /// `we_…`; when absent, made from the account, the mode and the URL.
    pub id: Option<String>,
    pub url: String,
    pub enabled_events: Vec<String>,
    /// The signing secret deliveries are signed with: `whsec_` and letters, digits or `_`.
    pub secret: String,
    pub api_version: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub livemode: bool,
}

/// A seed file checked whole: what `apply` writes.
#[derive(Debug)]
pub struct Seed {
    pub accounts: Vec<PlannedAccount>,
}

#[derive(Debug)]
pub struct PlannedAccount {
    pub id: String,
    /// Each key's literal text, and the mode and kind its prefix says.
    pub keys: Vec<(String, bool, KeyKind)>,
    pub endpoints: Vec<WebhookEndpoint>,
    /// Payments per mode, in the order they are reported (by `created`).
    pub payments: Vec<(bool, Vec<ReadyLine>)>,
}

/// Reads and checks `path`: nothing is written when any part of it is refused.
pub fn read(path: &Path, destinations: &Destinations) -> Result<Seed, Failure> {
    let named = |e: String| Failure(format!("seed file {}: {e}", path.display()));
    let size = std::fs::metadata(path).map_err(|e| named(e.to_string()))?.len();
    if size > SEED_FILE_BYTES_MAX {
        return Err(named(format!("larger than {SEED_FILE_BYTES_MAX} bytes")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| named(e.to_string()))?;
    let file: SeedFile = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        serde_json::from_str(&text).map_err(|e| named(e.to_string()))?
    } else {
        toml::from_str(&text).map_err(|e| named(e.to_string()))?
    };
    plan(file, destinations, unix_now()).map_err(named)
}

/// Checks every part of `file`; the error names the part (`accounts[0].keys[1]: …`).
pub fn plan(file: SeedFile, destinations: &Destinations, now: i64) -> Result<Seed, String> {
    let mut accounts = Vec::with_capacity(file.accounts.len());
    for (i, account) in file.accounts.into_iter().enumerate() {
        let at = format!("accounts[{i}]");
        accounts.push(plan_account(account, destinations, now).map_err(|e| format!("{at}.{e}"))?);
    }
    for (i, a) in accounts.iter().enumerate() {
        if accounts[..i].iter().any(|b| b.id == a.id) {
            return Err(format!("accounts[{i}].id: {} is named twice", a.id));
        }
    }
    Ok(Seed { accounts })
}

fn plan_account(account: SeedAccount, destinations: &Destinations, now: i64) -> Result<PlannedAccount, String> {
    let mut keys = Vec::with_capacity(account.keys.len());
    for (i, key) in account.keys.iter().enumerate() {
        let (livemode, kind) = key_mode(key).ok_or_else(|| {
            format!("keys[{i}]: not an API key (sk_test_, sk_live_, rk_test_ or rk_live_ and letters, digits or _)")
        })?;
        keys.push((key.clone(), livemode, kind));
    }
    let Some((first, _, _)) = keys.first() else {
        return Err("keys: an account needs at least one key".into());
    };
    let id = match account.id {
        Some(id) => checked_id(&id, "acct_").map_err(|e| format!("id: {e}"))?,
        None => format!("acct_{}", base62_digest(first, 16)),
    };
    let mut endpoints = Vec::with_capacity(account.webhook_endpoints.len());
    for (i, endpoint) in account.webhook_endpoints.into_iter().enumerate() {
        let planned = plan_endpoint(&id, endpoint, destinations, now);
        endpoints.push(planned.map_err(|e| format!("webhook_endpoints[{i}]: {e}"))?);
    }
    let payments = plan_payments(account.payments)?;
    Ok(PlannedAccount {
        id,
        keys,
        endpoints,
        payments,
    })
}

fn checked_id(id: &str, prefix: &str) -> Result<String, String> {
    match is_word_after(id, prefix, SEED_ID_CHARS_MAX) {
        true => Ok(id.to_owned()),
        false => Err(format!(
            "{id:?} is not {prefix} and up to {SEED_ID_CHARS_MAX} letters, digits or _"
        )),
    }
}

/// `chars` base62 characters of a SHA-256 of `text`: a stable id from the file's content.
fn base62_digest(text: &str, chars: usize) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest
        .iter()
        .take(chars)
        .map(|b| BASE62[*b as usize % BASE62.len()] as char)
        .collect()
}

fn plan_endpoint(
    account: &str,
    e: SeedEndpoint,
    destinations: &Destinations,
    now: i64,
) -> Result<WebhookEndpoint, String> {
    if !is_word_after(&e.secret, SECRET_PREFIX, SEED_SECRET_CHARS_MAX) {
        return Err(format!(
            "secret: not {SECRET_PREFIX} and up to {SEED_SECRET_CHARS_MAX} letters, digits or _ in all"
        ));
    }
    let id = match &e.id {
        Some(id) => checked_id(id, ENDPOINT_ID_PREFIX).map_err(|m| format!("id: {m}"))?,
        None => derived_id(
            ENDPOINT_ID_PREFIX,
            0,
            &format!("{account}\u{0}{}\u{0}{}", e.livemode, e.url),
        ),
    };
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("url", &e.url);
    for event in &e.enabled_events {
        form.append_pair("enabled_events[]", event);
    }
    if let Some(version) = &e.api_version {
        form.append_pair("api_version", version);
    }
    if let Some(description) = &e.description {
        form.append_pair("description", description);
    }
    for (key, value) in &e.metadata {
        form.append_pair(&format!("metadata[{key}]"), value);
    }
    let tree = crate::wire::form::decode(form.finish().as_bytes()).map_err(|err| described(&err))?;
    let params: CreateEndpointParams = crate::wire::params::read(&tree).map_err(|err| described(&err))?;
    let url = url::Url::parse(&params.url.0).map_err(|err| format!("url: {err}"))?;
    if let Some(why) = destinations.refuses_url(e.livemode, &url) {
        return Err(format!("url: {why}"));
    }
    new_endpoint(params, id, e.secret, e.livemode, now).map_err(|err| format!("{}: {}", err.param(), err.message()))
}

/// An API error as a seed file's error: the parameter it names, then its message.
fn described(error: &crate::wire::error::ApiError) -> String {
    match error.param() {
        Some(param) => format!("{param}: {error}"),
        None => error.to_string(),
    }
}

/// The payments, each through `payrec import`'s reading of a JSON line, grouped by mode and
/// put in the order of their `created`.
fn plan_payments(payments: Vec<serde_json::Value>) -> Result<Vec<(bool, Vec<ReadyLine>)>, String> {
    let mut by_mode: Vec<(bool, Vec<ReadyLine>)> = vec![(false, Vec::new()), (true, Vec::new())];
    for (i, payment) in payments.into_iter().enumerate() {
        let at = |e: String| format!("payments[{i}]: {e}");
        let text = serde_json::to_string(&payment).map_err(|e| at(e.to_string()))?;
        let input = json_line::line(&text, i as u64 + 1).map_err(|e| at(e.to_string()))?;
        let livemode = input.livemode.unwrap_or(false);
        let ready = prepare(input, livemode).map_err(|e| at(e.to_string()))?;
        by_mode[usize::from(livemode)].1.push(ready);
    }
    for (_, lines) in &mut by_mode {
        lines.sort_by_key(|l| l.created);
    }
    by_mode.retain(|(_, lines)| !lines.is_empty());
    Ok(by_mode)
}

/// The tenant of a planned account in a mode.
fn tenant(account: &str, livemode: bool) -> Tenant {
    Tenant {
        account_id: account.to_owned(),
        livemode,
    }
}

/// The stored record of a literal key.
fn key_record(account: &str, key: &str, livemode: bool, kind: KeyKind, now: i64) -> crate::store::NewKey {
    let key_id = format!("key_{}", base62_digest(key, 16));
    new_key_record_of(kind, key, tenant(account, livemode), key_id, now)
}

#[cfg(test)]
mod tests;
