//! The integration suite: one test binary driving the real payrec server over HTTP, one module
//! per area of the API. `common` is the harness; it comes first so its macros reach every area.

#[macro_use]
mod common;

mod amounts_and_refunds;
mod auth;
mod browser;
mod cli;
mod concurrency;
mod crash_durability;
mod dashboard;
mod dashboard_cookies;
mod dashboard_overview;
mod errors_and_headers;
mod events;
mod export_cli;
mod file_hardening;
mod form_encoding;
mod group_commit;
mod hostile_clients;
mod http_fuzz;
mod idempotency;
mod import_cli;
mod lifecycle_informational_and_metadata;
mod lifecycle_outcomes_and_timestamps;
mod lifecycle_rules;
mod migrations;
mod objects_examples_and_modes;
mod objects_lists_expand;
mod objects_lists_pagination;
mod objects_params_and_metadata;
mod openapi;
mod operations;
mod outages;
mod planner_statistics;
mod query_strings;
mod rate_limits;
mod reconcile_cli;
mod replicas;
mod request_limits;
mod restricted_keys;
mod sdk_conformance;
mod slow_clients;
mod smoke;
mod stored_format;
mod tenant_isolation;
mod wal;
mod webhook_destinations;
mod webhook_durability;
mod webhook_endpoints;
mod webhook_fairness;
mod webhook_lanes;
mod webhooks;
