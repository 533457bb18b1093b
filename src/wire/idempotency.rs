//! Stripe's idempotent requests. A POST with an `Idempotency-Key` runs at most once per tenant:
//! its response is saved in the same transaction as the mutation (see `store`), and a retry
//! with the same key and parameters gets that response back, byte for byte.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::form::ParamTree;
use super::request::ApiRequest;
use crate::AppState;
use crate::store::{
    IdempotencySave, RespondFn, SavedIdempotent, SavedResponse, Tenant, WriteCommand, WriteOutcome, WriteTarget,
};

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

fn replay_or_mismatch(saved: &SavedIdempotent, fingerprint: &str, key: &IdempotencyKey) -> Response {
    if saved.fingerprint == fingerprint {
        replay(saved)
    } else {
        ApiError::IdempotencyMismatch {
            key: key.as_str().to_owned(),
        }
        .into_response()
    }
}

/// A request whose parameters do not validate. Stripe checks the key first, so when its key has
/// a live saved result this is a retry with other parameters (an idempotency error), or the
/// same ones (a replay); otherwise the validation error, never saved. Only this error path reads
/// the key up front: a valid request finds a saved result inside its write transaction.
async fn invalid_or_saved(
    app: &AppState,
    tenant: &Tenant,
    request: &ApiRequest,
    save: Option<&IdempotencySave>,
    invalid: ApiError,
) -> Response {
    let (Some(save), Some(key)) = (save, &request.idempotency_key) else {
        return invalid.into_response();
    };
    match app.store.find_idempotent(tenant, &save.key).await {
        Ok(Some(saved)) if save.replays(&saved) => replay_or_mismatch(&saved, &save.fingerprint, key),
        Ok(_) => invalid.into_response(),
        Err(e) => app.internal_error(request.request_id(), e).into_response(),
    }
}

/// Runs one mutation the Stripe way. `build` validates the parameters into a write target and
/// a renderer; its errors are returned as they are and never saved. Everything after that
/// (success, lifecycle error, 404) is committed together with the idempotency key, if any.
/// `outcome` labels the lifecycle-transition counter when the call succeeds.
pub async fn execute(
    app: &AppState,
    tenant: Tenant,
    request: &ApiRequest,
    outcome: &'static str,
    build: impl FnOnce() -> Result<(WriteTarget, RespondFn), ApiError>,
) -> Response {
    let now = crate::unix_now();
    let retention = app.config.idempotency_retention.as_secs() as i64;
    let mut guard = None;
    let mut save = None;
    if let Some(key) = &request.idempotency_key {
        guard = match app.inflight.claim(&tenant, key) {
            Some(g) => Some(g),
            None => {
                crate::telemetry::record_conflict();
                return ApiError::IdempotencyKeyInUse {
                    key: key.as_str().to_owned(),
                }
                .into_response();
            }
        };
        save = Some(IdempotencySave {
            key: key.as_str().to_owned(),
            fingerprint: fingerprint(request.method.as_str(), &request.path, &request.params),
            request_id: request.request_id().to_owned(),
            created: now,
            expired_before: now - retention,
        });
    }
    let (target, respond) = match build() {
        Ok(built) => built,
        Err(invalid) => return invalid_or_saved(app, &tenant, request, save.as_ref(), invalid).await,
    };
    let command = WriteCommand {
        tenant,
        target,
        respond,
        idempotency: save.clone(),
    };
    let started = std::time::Instant::now();
    let written = app.store.write(command).await;
    crate::telemetry::record_db_write(started.elapsed());
    if let Some(delay) = app.config.delay_after_commit {
        tokio::time::sleep(delay).await;
    }
    drop(guard);
    match written {
        Ok(WriteOutcome::Executed(response)) => {
            if response.status == 200 {
                crate::telemetry::record_transition(outcome);
            }
            saved_response(&response)
        }
        Ok(WriteOutcome::AlreadySaved(saved)) => {
            let save = save.expect("only keyed writes find a saved result");
            replay_or_mismatch(
                &saved,
                &save.fingerprint,
                request.idempotency_key.as_ref().expect("keyed"),
            )
        }
        Err(e) => app.internal_error(request.request_id(), e).into_response(),
    }
}

/// How often expired idempotency results are deleted.
pub const IDEMPOTENCY_PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Deletes expired results in the background; requests never wait for it.
pub fn spawn_pruner(app: AppState) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(IDEMPOTENCY_PRUNE_INTERVAL);
        loop {
            ticks.tick().await;
            let cutoff = crate::unix_now() - app.config.idempotency_retention.as_secs() as i64;
            match app.store.prune_idempotent(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "pruned expired idempotency keys"),
                Err(e) => tracing::warn!(error = %e, "pruning idempotency keys failed; will retry"),
            }
        }
    });
}
