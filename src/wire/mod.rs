//! Stripe's HTTP protocol, independent of any resource and of the application's state: form
//! decoding, declared parameters, errors, API keys, request ids and headers, lists, expand and
//! the parts of idempotency.

pub mod auth;
pub mod body;
pub mod error;
pub mod expand;
pub mod form;
pub mod idempotency;
pub mod list;
pub mod params;
pub mod request;
pub mod request_log;
