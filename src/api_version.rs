//! The one Stripe API version payrec speaks: sent as `Stripe-Version` on every response and
//! written as `api_version` into every event.

pub const API_VERSION: &str = "2026-10-28.endive";
