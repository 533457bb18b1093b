//! Typed calls, below every face: what a request means once its parameters are read, shared by
//! the HTTP surface (`api`) and the importer (`import`). Nothing here knows HTTP.

pub mod payment_records;
