//! Stripe's HTTP protocol, independent of any resource: form decoding, typed params, errors,
//! auth, request ids and headers, lists, expand and idempotency.

pub mod auth;
pub mod error;
pub mod expand;
pub mod form;
pub mod idempotency;
pub mod list;
pub mod params;
pub mod request;
