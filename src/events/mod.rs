//! Events and webhook endpoints, as domain data: the event catalogue (`catalogue`), which events a
//! report call emits (`derive`, pure), an event's wire form (`render`), webhook endpoints and the
//! commands that change them (`endpoint`), Stripe's signature scheme (`signature`) and the retry
//! schedules (`schedule`). Storage writes events in the transaction of the change they describe;
//! delivery is a job (`jobs::delivery`).

pub mod allow;
pub mod catalogue;
pub mod derive;
pub mod destination;
pub mod endpoint;
pub mod failure;
pub mod health;
pub mod render;
pub mod schedule;
pub mod signature;

pub use catalogue::EventType;
pub use derive::{EventDraft, record_events};
pub use endpoint::{EndpointChange, EndpointCommand, EndpointStatus, WebhookEndpoint};

/// How long events are kept (Stripe keeps them 30 days).
pub const EVENT_RETENTION_SECS: i64 = 30 * 24 * 60 * 60;
