//! Typed calls, below every face: what a request means once its parameters are read, shared by
//! the HTTP surface (`api`), the importer (`import`) and the seed file (`cli::seed`). Nothing here knows HTTP.

pub mod payment_records;
pub mod webhook_endpoints;
