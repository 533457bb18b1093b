//! payrec: a self-hostable, Stripe-compatible Payment Records server.
//!
//! Layers, each importing only those below it:
//! - the process: `main`, `cli` (the commands) and `app` with `server` (the HTTP application and
//!   its accept loop);
//! - the faces: `api` (the HTTP surface, one folder per resource), `dashboard` (the same data as
//!   pages), `openapi` (the API's description), and `jobs` (the background work, supervised);
//! - the data tools: `import` and `export` (the ledger in and out);
//! - `state` (what the faces share: the store, the settings, the rate limiters);
//! - `calls` (the report calls as typed requests, read the same way by `api` and `import`);
//! - `wire` (Stripe's protocol) and `ratelimit`;
//! - `store` (persistence, by backend);
//! - the domain: `records` (payment records and their lifecycle), `events` (events and webhook
//!   endpoints), `reconcile`, and `metadata` (the rule every object's metadata follows).
//!
//! `telemetry`, `throttle`, `clock` and `base62` are used at every layer.

pub mod api;
pub mod api_version;
pub mod app;
pub mod base62;
pub mod calls;
pub mod cli;
pub mod clock;
pub mod dashboard;
pub mod events;
pub mod export;
pub mod import;
pub mod jobs;
pub mod metadata;
pub mod openapi;
pub mod ratelimit;
pub mod reconcile;
pub mod records;
pub mod server;
pub mod state;
pub mod statements;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod wire;

pub use app::{app, serve};
pub use state::{AppState, ServerConfig};
