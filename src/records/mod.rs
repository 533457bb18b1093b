//! The Payment Records domain: the model, the pure lifecycle and its invariants, ids,
//! currencies, commands, and the objects' API representation (`render`, which HTTP responses
//! and, later, events share). No I/O and no HTTP here.

pub mod command;
pub mod currency;
pub mod ids;
pub mod invariants;
pub mod lifecycle;
pub mod model;
pub mod render;
pub mod totals;
