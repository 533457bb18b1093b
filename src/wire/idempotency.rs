//! Stripe's idempotent requests. A POST with an `Idempotency-Key` runs at most once per tenant:
//! its response is saved in the same transaction as the mutation (see `store::write`), and a
//! retry with the same key and parameters gets that response back, byte for byte. This module
//! holds the protocol's parts (the key, the request fingerprint, in-flight keys, replays);
//! `api::execute` runs a mutation with them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::form::ParamTree;
use crate::store::{SavedIdempotent, SavedResponse, Tenant};

/// Longest key accepted (Stripe's limit).
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 255;
/// How long a saved result is replayed (Stripe keeps keys at least 24 hours).
pub const IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// A validated `Idempotency-Key` header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &HeaderValue) -> Result<Self, ApiError> {
        let key = value.to_str().map_err(|_| ApiError::IdempotencyKeyInvalid {
            message: "Invalid Idempotency-Key: keys must be printable ASCII.".into(),
        })?;
        if key.is_empty() {
            return Err(ApiError::IdempotencyKeyInvalid {
                message: "Invalid Idempotency-Key: the key must not be empty.".into(),
            });
        }
        if key.chars().count() > IDEMPOTENCY_KEY_CHARS_MAX {
            return Err(ApiError::IdempotencyKeyInvalid {
                message: format!(
                    "Invalid Idempotency-Key: keys must be at most {IDEMPOTENCY_KEY_CHARS_MAX} characters long."
                ),
            });
        }
        Ok(IdempotencyKey(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What identifies "the same request": method, path and the decoded parameters. The tree's
/// hashes are ordered maps, so the fingerprint does not depend on parameter order.
pub fn fingerprint(method: &str, path: &str, params: &ParamTree) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    serde_json::to_writer(HashWriter(&mut hasher), params).expect("param trees serialize");
    hex::encode(hasher.finalize())
}

/// Feeds serialized bytes straight into the hash (no intermediate buffer per request).
struct HashWriter<'h>(&'h mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keys whose first request is executing in this process; a second arrival gets a 409 at
/// once instead of waiting (which could deadlock a client that retries in parallel).
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<Mutex<HashSet<(Tenant, IdempotencyKey)>>>);

#[derive(Debug)]
pub struct InFlightGuard {
    set: InFlight,
    entry: Option<(Tenant, IdempotencyKey)>,
}

impl InFlight {
    pub fn claim(&self, tenant: &Tenant, key: &IdempotencyKey) -> Option<InFlightGuard> {
        let entry = (tenant.clone(), key.clone());
        let inserted = self.0.lock().expect("in-flight set lock").insert(entry.clone());
        inserted.then(|| InFlightGuard {
            set: self.clone(),
            entry: Some(entry),
        })
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Some(entry) = self.entry.take() {
            self.set.0.lock().expect("in-flight set lock").remove(&entry);
        }
    }
}

/// A response as saved: status and JSON body.
pub fn saved_response(saved: &SavedResponse) -> Response {
    let status = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, saved.body.clone()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if saved.status >= 400
        && let Ok(body) = serde_json::from_str::<serde_json::Value>(&saved.body)
    {
        let error = &body["error"];
        let code = error["code"].as_str().or(error["type"].as_str()).unwrap_or("unknown");
        response.extensions_mut().insert(SavedErrorCode(code.to_owned()));
    }
    response
}

/// The Stripe error code (or type) of a saved error response, for the error counter.
#[derive(Debug, Clone)]
pub struct SavedErrorCode(pub String);

fn replay(saved: &SavedIdempotent) -> Response {
    crate::telemetry::record_replay();
    let mut response = saved_response(&saved.response);
    let headers = response.headers_mut();
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    if let Ok(original) = HeaderValue::from_str(&saved.request_id) {
        headers.insert("original-request", original);
    }
    response
}

/// The saved response when the parameters are the same as the first request's, else Stripe's
/// idempotency error.
pub fn replay_or_mismatch(saved: &SavedIdempotent, fingerprint: &str, key: &IdempotencyKey) -> Response {
    if saved.fingerprint == fingerprint {
        replay(saved)
    } else {
        ApiError::IdempotencyMismatch {
            key: key.as_str().to_owned(),
        }
        .into_response()
    }
}
