//! payrec: a self-hostable, Stripe-compatible Payment Records server.
//!
//! Layers, each importing only those below it: `app` and `cli` (the process) → `api` (HTTP
//! surface, one folder per resource), `dashboard` (the same data as pages) and `openapi` (the
//! API's description) → `export` (the ledger streamed out) → `wire` (Stripe's protocol) →
//! `store` (persistence) → `events`, `reconcile` and `records` (the domain). `jobs` (pruning,
//! webhook delivery) run in the background.

pub mod api;
pub mod api_version;
pub mod app;
pub mod base62;
pub mod cli;
pub mod clock;
pub mod dashboard;
pub mod events;
pub mod export;
pub mod import;
pub mod jobs;
pub mod openapi;
pub mod ratelimit;
pub mod reconcile;
pub mod records;
pub mod server;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod wire;

pub use app::{app, serve};
pub use state::{AppState, ServerConfig};
