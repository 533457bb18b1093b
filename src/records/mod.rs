//! The Payment Records domain: model, pure lifecycle, wire rendering, params and endpoints.

pub mod currency;
pub mod endpoints;
pub mod errors;
pub mod http;
pub mod ids;
pub mod invariants;
pub mod lifecycle;
pub mod model;
pub mod openapi;
pub mod params;
pub mod render;
