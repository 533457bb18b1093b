//! `ApiError`: every error payrec returns, rendered in Stripe's `{"error": {...}}` shape.
//! Storage failures arrive through `From<StoreError>`; their cause rides along to the request
//! middleware, which logs it once inside the request's span, and never reaches the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::{Outage, StoreError};

/// Seconds a client is asked to wait before retrying a 503 (`Retry-After`).
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// Stripe's `parameter_invalid_*` codes: a value of the wrong form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamErrorCode {
    /// A hash was expected, or `[]` / `[0]` notation is wrong.
    InvalidArray,
    InvalidCurrency,
    /// `''` for a parameter that cannot be unset.
    InvalidEmpty,
    InvalidEnum,
    InvalidHash,
    /// Not an integer, or out of range.
    InvalidInteger,
    InvalidMetadata,
    /// A string was expected, or it holds a character it may not.
    InvalidString,
    InvalidStringLength,
}

impl ParamErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamErrorCode::InvalidArray => "parameter_invalid_array",
            ParamErrorCode::InvalidCurrency => "parameter_invalid_currency",
            ParamErrorCode::InvalidEmpty => "parameter_invalid_empty",
            ParamErrorCode::InvalidEnum => "parameter_invalid_enum",
            ParamErrorCode::InvalidHash => "parameter_invalid_hash",
            ParamErrorCode::InvalidInteger => "parameter_invalid_integer",
            ParamErrorCode::InvalidMetadata => "parameter_invalid_metadata",
            ParamErrorCode::InvalidString => "parameter_invalid_string",
            ParamErrorCode::InvalidStringLength => "parameter_invalid_string_length",
        }
    }
}

/// Stripe's `error.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    InvalidRequest,
    Idempotency,
    Api,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request_error",
            ErrorType::Idempotency => "idempotency_error",
            ErrorType::Api => "api_error",
        }
    }
}

/// What a rate limit counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitScope {
    /// Requests of one API key, or of one account.
    Requests,
    /// Failed authentications from one address: its keys are not looked at for a while.
    AuthFailures,
    /// Stripe's own rate of an account's live-mode requests (`--stripe-rate-limits`).
    StripeLive,
    /// Stripe's own rate of an account's test-mode requests.
    StripeTest,
}

impl RateLimitScope {
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitScope::Requests => "requests",
            RateLimitScope::AuthFailures => "auth_failures",
            RateLimitScope::StripeLive => "stripe_live",
            RateLimitScope::StripeTest => "stripe_test",
        }
    }

    fn message(self) -> &'static str {
        match self {
            RateLimitScope::Requests => {
                "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."
            }
            RateLimitScope::AuthFailures => {
                "Too many requests with an invalid API key came from your address: payrec does not check keys from it until its limit refills (see Retry-After)."
            }
            RateLimitScope::StripeLive => {
                "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits."
            }
            RateLimitScope::StripeTest => {
                "Testmode request rate limit exceeded, the rate limits in testmode are lower than livemode. You can learn more about rate limits here https://stripe.com/docs/rate-limits."
            }
        }
    }
}

/// Stripe's message when no key is sent.
pub const NO_API_KEY_MESSAGE: &str = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";

/// Every error a client can see. Each variant has one status, one type and one code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("Missing required param: {param}.")]
    ParameterMissing { param: String },
    #[error("Received unknown parameter: {param}")]
    ParameterUnknown { param: String },
    /// A value of the wrong form: not an integer, bad enum, too long, empty, wrong shape.
    #[error("{message}")]
    InvalidParam {
        code: ParamErrorCode,
        param: String,
        message: String,
    },
    /// A request that breaks a rule about how parameters go together **[payrec: no code]**.
    #[error("{message}")]
    Invalid { message: String, param: Option<String> },
    #[error("This property cannot be expanded ({path}).")]
    InvalidExpand { path: String },
    /// A `Stripe-Version` header naming no version payrec knows (`api_version::API_VERSIONS`).
    #[error("Invalid Stripe API version: {version}")]
    InvalidApiVersion { version: String },
    /// `starting_after` and `ending_before` together, and the like.
    #[error("{message}")]
    ParametersExclusive { param: String, message: String },
    #[error("No such {object}: '{id}'")]
    ResourceMissing {
        object: &'static str,
        id: String,
        param: &'static str,
    },
    /// A lifecycle rule was broken **[payrec: no code]**.
    #[error("{message}")]
    Lifecycle { message: String, param: Option<String> },
    #[error("{NO_API_KEY_MESSAGE}")]
    NoApiKey,
    #[error("Invalid API Key provided: {masked}")]
    InvalidApiKey { masked: String },
    /// A restricted (read-only) key on a call that changes something.
    #[error(
        "The provided key '{masked}' does not have the required permissions for this endpoint on account '{account}'. Having the 'write' permission would allow this request to continue: use a secret key (sk_…) for it."
    )]
    PermissionDenied { masked: String, account: String },
    #[error(
        "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
    )]
    UnrecognizedUrl { method: String, path: String },
    #[error(
        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
    )]
    IdempotencyMismatch { key: String },
    #[error(
        "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): {key}. Please try again later."
    )]
    IdempotencyKeyInUse { key: String },
    #[error("{message}")]
    IdempotencyKeyInvalid { message: String },
    /// Too many requests (Stripe's 429 `rate_limit`).
    #[error("{}", .scope.message())]
    RateLimited {
        scope: RateLimitScope,
        retry_after_seconds: u64,
    },
    #[error("The request body is larger than the limit of {limit_bytes} bytes.")]
    BodyTooLarge { limit_bytes: usize },
    #[error("The request body did not arrive within {seconds} seconds.")]
    RequestTimeout { seconds: u64 },
    /// A body or query that cannot be decoded at all (bad encoding, too deep, too many params).
    #[error("{message}")]
    MalformedRequest { message: String },
    #[error(
        "payrec does not serve Stripe Connect: the Stripe-Account header is not supported. Remove it, or use the API key of the account you mean."
    )]
    ConnectNotSupported,
    /// The database cannot take the request right now (its disk is full, it is unreachable or
    /// restarting). Nothing was stored; the client retries (`Stripe-Should-Retry: true`).
    #[error(
        "payrec cannot process this request right now: {}. Nothing was stored; retry the request later, with the same Idempotency-Key.",
        .outage.describe()
    )]
    Unavailable { outage: Outage, cause: String },
    /// A request not answered within the request deadline (its database did not answer): it
    /// may have been applied, so the client retries with its Idempotency-Key.
    #[error(
        "payrec could not answer within {seconds} s: its database did not. The request may have been applied; retry it with the same Idempotency-Key."
    )]
    DeadlineExceeded { seconds: u64 },
    /// Another request holds the object: Stripe's `lock_timeout` (payrec answers it only when
    /// asked by `Payrec-Simulate`; its own writes wait for locks instead).
    #[error(
        "This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request. If you see this error frequently and are making multiple concurrent requests to a single object, make your requests serially or at a lower rate."
    )]
    LockTimeout,
    /// The failure `Payrec-Simulate: api_error` asks for: nothing was stored.
    #[error("A simulated API error (Payrec-Simulate: api_error): nothing was stored, and the request can be retried.")]
    SimulatedApiError,
    /// Anything payrec did not expect. `cause` is for the log, never the client.
    #[error("An unexpected error occurred on payrec's side. The request id identifies it in the server log.")]
    Internal { cause: String },
}

impl ApiError {
    /// The error as a response to save under an idempotency key (or answer as is).
    pub fn saved(&self) -> crate::store::SavedResponse {
        crate::store::SavedResponse {
            status: self.status().as_u16(),
            body: self.to_body(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::ParameterMissing { .. }
            | ApiError::ParameterUnknown { .. }
            | ApiError::InvalidParam { .. }
            | ApiError::ParametersExclusive { .. }
            | ApiError::Lifecycle { .. }
            | ApiError::Invalid { .. }
            | ApiError::InvalidExpand { .. }
            | ApiError::InvalidApiVersion { .. }
            | ApiError::IdempotencyMismatch { .. }
            | ApiError::IdempotencyKeyInvalid { .. }
            | ApiError::MalformedRequest { .. }
            | ApiError::ConnectNotSupported => StatusCode::BAD_REQUEST,
            ApiError::NoApiKey | ApiError::InvalidApiKey { .. } => StatusCode::UNAUTHORIZED,
            ApiError::PermissionDenied { .. } => StatusCode::FORBIDDEN,
            ApiError::ResourceMissing { .. } | ApiError::UnrecognizedUrl { .. } => StatusCode::NOT_FOUND,
            ApiError::IdempotencyKeyInUse { .. } => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } | ApiError::LockTimeout => StatusCode::TOO_MANY_REQUESTS,
            ApiError::SimulatedApiError => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unavailable { .. } | ApiError::DeadlineExceeded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn error_type(&self) -> ErrorType {
        match self {
            ApiError::IdempotencyMismatch { .. } => ErrorType::Idempotency,
            ApiError::Internal { .. }
            | ApiError::Unavailable { .. }
            | ApiError::DeadlineExceeded { .. }
            | ApiError::SimulatedApiError => ErrorType::Api,
            _ => ErrorType::InvalidRequest,
        }
    }

    pub fn code(&self) -> Option<&'static str> {
        match self {
            ApiError::ParameterMissing { .. } => Some("parameter_missing"),
            ApiError::ParameterUnknown { .. } => Some("parameter_unknown"),
            ApiError::InvalidParam { code, .. } => Some(code.as_str()),
            ApiError::ParametersExclusive { .. } => Some("parameters_exclusive"),
            ApiError::ResourceMissing { .. } => Some("resource_missing"),
            ApiError::IdempotencyKeyInUse { .. } => Some("idempotency_key_in_use"),
            ApiError::RateLimited { .. } => Some("rate_limit"),
            ApiError::LockTimeout => Some("lock_timeout"),
            ApiError::Lifecycle { .. }
            | ApiError::Invalid { .. }
            | ApiError::InvalidExpand { .. }
            | ApiError::InvalidApiVersion { .. }
            | ApiError::NoApiKey
            | ApiError::InvalidApiKey { .. }
            | ApiError::PermissionDenied { .. }
            | ApiError::UnrecognizedUrl { .. }
            | ApiError::IdempotencyMismatch { .. }
            | ApiError::IdempotencyKeyInvalid { .. }
            | ApiError::BodyTooLarge { .. }
            | ApiError::RequestTimeout { .. }
            | ApiError::MalformedRequest { .. }
            | ApiError::ConnectNotSupported
            | ApiError::Unavailable { .. }
            | ApiError::DeadlineExceeded { .. }
            | ApiError::SimulatedApiError
            | ApiError::Internal { .. } => None,
        }
    }

    pub fn param(&self) -> Option<&str> {
        match self {
            ApiError::ParameterMissing { param }
            | ApiError::ParameterUnknown { param }
            | ApiError::InvalidParam { param, .. }
            | ApiError::ParametersExclusive { param, .. } => Some(param),
            ApiError::ResourceMissing { param, .. } => Some(param),
            ApiError::Lifecycle { param, .. } | ApiError::Invalid { param, .. } => param.as_deref(),
            ApiError::InvalidExpand { .. } => Some("expand"),
            _ => None,
        }
    }

    /// A `parameter_invalid_*` error.
    pub fn invalid(code: ParamErrorCode, param: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::InvalidParam {
            code,
            param: param.into(),
            message: message.into(),
        }
    }

    /// The JSON body, `{"error": {code, doc_url, message, param, type}}` with nulls omitted.
    pub fn to_body(&self) -> String {
        let code = self.code();
        let body = ErrorBody {
            error: ErrorFields {
                code,
                doc_url: code.map(|c| format!("https://stripe.com/docs/error-codes/{}", c.replace('_', "-"))),
                message: self.to_string(),
                param: self.param(),
                kind: self.error_type().as_str(),
            },
        };
        serde_json::to_string(&body).expect("error body serializes")
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorFields<'a>,
}

#[derive(Serialize)]
struct ErrorFields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    doc_url: Option<String>,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    param: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// The answer to a search or filtered list stopped at its deadline.
pub const NARROW_YOUR_SEARCH: &str = "This search or filtered list would read too much of the account's data to answer at once: narrow it (a created range, an id or a reference, fewer filters).";

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e == StoreError::ScanTooLong {
            return ApiError::Invalid {
                message: NARROW_YOUR_SEARCH.into(),
                param: None,
            };
        }
        match e.outage() {
            Some(outage) => ApiError::Unavailable {
                outage,
                cause: e.to_string(),
            },
            None => ApiError::Internal { cause: e.to_string() },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), self.to_body()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        match &self {
            ApiError::Unavailable { .. } | ApiError::DeadlineExceeded { .. } => {
                // The official SDKs retry on this header, with the same Idempotency-Key.
                headers.insert("stripe-should-retry", HeaderValue::from_static("true"));
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            ApiError::LockTimeout | ApiError::SimulatedApiError => {
                headers.insert("stripe-should-retry", HeaderValue::from_static("true"));
            }
            ApiError::RateLimited {
                scope,
                retry_after_seconds,
            } => {
                // A request's limit passes: the SDKs retry, with backoff. Retrying a key that
                // failed would only fail again.
                let retry = if *scope == RateLimitScope::AuthFailures {
                    "false"
                } else {
                    "true"
                };
                headers.insert("stripe-should-retry", HeaderValue::from_static(retry));
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            }
            _ => {}
        }
        // Lets the request middleware count errors by code without re-parsing the body, and
        // log an internal error's cause once.
        response.extensions_mut().insert(self);
        response
    }
}
