//! How every mutation runs, the Stripe way: claim the idempotency key in this process, read the
//! declared parameters, hand the store one `Write` (command + key), and answer with the result
//! rendered by the resource's one function: the saved bytes when the request was keyed, the
//! same rendering otherwise.

use axum::response::Response;

use crate::events::render::EventRequest;
use crate::state::AppState;
use crate::store::idempotency::IdempotencyRow;
use crate::store::{IdempotencySave, Mutation, RenderSaved, Tenant, TypedWrites, Write, WriteOutcome};
use crate::wire::error::ApiError;
use crate::wire::idempotency::{IdempotencyKey, fingerprint, replay_or_mismatch, saved_response};
use crate::wire::params::ParamObject;
use crate::wire::request::ApiRequest;

/// A validated call of one resource, ready for the store.
#[derive(Debug)]
pub struct Call<M: Mutation> {
    pub mutation: M,
    /// Renders the result (saved under the key when there is one).
    pub render: RenderSaved<M::Done>,
    /// The `expand[]` paths asked for.
    pub expand: Vec<&'static str>,
    /// Labels the lifecycle-transition counter when the call succeeds.
    pub label: &'static str,
}

/// A request whose parameters do not validate. Stripe checks the key first, so when its key has
/// a live saved result this is a retry with other parameters (an idempotency error), or the
/// same ones (a replay); otherwise the validation error, never saved. Only this error path reads
/// the key up front: a valid request finds a saved result inside its write transaction.
async fn invalid_or_saved(
    app: &AppState,
    tenant: &Tenant,
    keyed: Option<&(&IdempotencyKey, String)>,
    expired_before: i64,
    invalid: ApiError,
) -> Result<Response, ApiError> {
    let Some((key, fingerprint)) = keyed else {
        return Err(invalid);
    };
    match app.store.find_idempotent(tenant, key.as_str()).await? {
        Some(saved) if saved.live(expired_before) => Ok(replay_or_mismatch(&saved, fingerprint, key)),
        _ => Err(invalid),
    }
}

/// Runs one call. `build` turns the declared parameters `P` into a `Call`; errors from reading
/// or building are returned as they are and never saved. Everything after that (success, a
/// broken rule, a missing object) is committed together with the idempotency key.
pub async fn execute<P: ParamObject, M: Mutation>(
    app: &AppState,
    tenant: Tenant,
    request: &ApiRequest,
    build: impl FnOnce(P) -> Result<Call<M>, ApiError>,
) -> Result<Response, ApiError> {
    let now = crate::clock::unix_now();
    let expired_before = now - app.config.idempotency_retention.as_secs() as i64;
    let mut guard = None;
    let mut keyed = None;
    if let Some(key) = &request.idempotency_key {
        let Some(claimed) = app.inflight.claim(&tenant, key) else {
            crate::telemetry::record_conflict();
            return Err(ApiError::IdempotencyKeyInUse {
                key: key.as_str().to_owned(),
            });
        };
        guard = Some(claimed);
        keyed = Some((
            key,
            fingerprint(request.method.as_str(), &request.path, &request.params),
        ));
    }
    let call = match request.read::<P>().and_then(build) {
        Ok(call) => call,
        Err(invalid) => return invalid_or_saved(app, &tenant, keyed.as_ref(), expired_before, invalid).await,
    };
    let save = keyed.as_ref().map(|(key, fingerprint)| IdempotencySave {
        row: IdempotencyRow {
            key: key.as_str().to_owned(),
            fingerprint: fingerprint.clone(),
            request_id: request.request_id().to_owned(),
            created: now,
            expired_before,
        },
        render: call.render,
        expand: call.expand.clone(),
    });
    let written = write(app, tenant, request, call.mutation, save, now).await;
    drop(guard);
    match written? {
        WriteOutcome::Executed { result, saved } => {
            let response = saved.unwrap_or_else(|| (call.render)(&result, &call.expand));
            if response.status == 200 {
                crate::telemetry::record_transition(call.label);
            }
            Ok(saved_response(&response))
        }
        WriteOutcome::AlreadySaved(saved) => {
            let (key, fingerprint) = keyed.expect("only keyed writes find a saved result");
            Ok(replay_or_mismatch(&saved, &fingerprint, key))
        }
    }
}

/// Hands the store one write, timed (and held after its commit when a test asks).
async fn write<M: Mutation>(
    app: &AppState,
    tenant: Tenant,
    request: &ApiRequest,
    mutation: M,
    idempotency: Option<IdempotencySave<M::Done>>,
    now: i64,
) -> Result<WriteOutcome<M::Done>, crate::store::StoreError> {
    let started = std::time::Instant::now();
    let written = app
        .store
        .write(Write {
            tenant,
            mutation,
            idempotency,
            request: EventRequest {
                request_id: Some(request.request_id().to_owned()),
                idempotency_key: request.idempotency_key.as_ref().map(|k| k.as_str().to_owned()),
            },
            now,
        })
        .await;
    crate::telemetry::record_db_write(started.elapsed());
    if let Some(delay) = app.config.delay_after_commit {
        tokio::time::sleep(delay).await;
    }
    written
}
