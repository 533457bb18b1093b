//! payrec's test-data reset **[payrec, beyond Stripe]**: `POST /payrec/v1/test_data/reset`
//! erases the calling account's test-mode data, for a suite that starts each test from nothing.
//! Under `/payrec/`, payrec's own path namespace, so that it can never shadow a Stripe path. The
//! secret test key names the account; a live key is refused, and nothing of live mode or of
//! another account is touched (`store::reset`).

use axum::extract::State;
use axum::response::Response;
use axum::routing::on;
use serde_json::{Map, Value, json};

use super::payment_records::respond::ok_json;
use super::route::{Returns, Route};
use crate::events::render::EventRequest;
use crate::state::AppState;
use crate::store::reset::{Erased, ResetTestData};
use crate::store::{Tenant, TypedWrites, Write, WriteOutcome};
use crate::wire::error::ApiError;
use crate::wire::params::{Flag, ParamObject, params};
use crate::wire::request::ApiRequest;

params! {
    /// POST /payrec/v1/test_data/reset
    pub struct ResetParams {
        pub webhook_endpoints: Option<Flag>,
    }
}

pub const RESET_TEST_DATA: Route = Route::post(
    "/payrec/v1/test_data/reset",
    "Erase the account's test-mode data: records, attempts, refunds, events, deliveries and \
     idempotency keys (and its webhook endpoints with webhook_endpoints=true). Test keys only.",
    ResetParams::FIELDS,
    Returns {
        schema: "test_data_reset",
        description: "What was erased, per kind of object.",
    },
    |m| on(m, reset),
);

pub const ROUTES: &[&Route] = &[&RESET_TEST_DATA];

/// The refusal of a live key: a reset erases test-mode data only.
pub const LIVE_KEY_MESSAGE: &str =
    "A reset erases test-mode data only: call it with a secret test key (sk_test_…), never a live one.";

/// POST /payrec/v1/test_data/reset. Not idempotent by key: it erases the saved keys it would be
/// saved among, and a second reset erases nothing more.
async fn reset(State(app): State<AppState>, tenant: Tenant, request: ApiRequest) -> Result<Response, ApiError> {
    let p: ResetParams = request.read()?;
    if tenant.livemode {
        return Err(ApiError::Invalid {
            message: LIVE_KEY_MESSAGE.into(),
            param: None,
        });
    }
    let account = tenant.account_id.clone();
    let write = Write {
        tenant,
        mutation: ResetTestData {
            webhook_endpoints: p.webhook_endpoints.is_some_and(|f| f.0),
        },
        idempotency: None,
        request: EventRequest {
            request_id: Some(request.request_id().to_owned()),
            idempotency_key: None,
        },
        now: crate::clock::unix_now(),
    };
    match app.store.write(write).await? {
        WriteOutcome::Executed { result, .. } => Ok(ok_json(&render(&account, &result))),
        WriteOutcome::AlreadySaved(_) => Err(ApiError::Internal {
            cause: "a reset without a key was answered as a replay".into(),
        }),
    }
}

/// `{"object": "test_data_reset", "account": …, "livemode": false, "erased": {table: n, …}}`.
fn render(account: &str, erased: &Erased) -> Value {
    let counts: Map<String, Value> = erased
        .0
        .iter()
        .map(|(table, n)| ((*table).to_owned(), json!(n)))
        .collect();
    json!({
        "object": "test_data_reset",
        "account": account,
        "livemode": false,
        "erased": counts,
    })
}
