//! Webhook endpoints (`we_…`): where an account's events are delivered, and the commands that
//! change them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metadata::{MetadataPatch, TooManyMetadataKeys, apply_metadata};
use crate::records::ids::new_object_id;

pub const ENDPOINT_ID_PREFIX: &str = "we_";
pub const SECRET_PREFIX: &str = "whsec_";
/// Random base62 characters of a signing secret after `whsec_` (~190 bits).
pub const SECRET_RANDOM_CHARS: usize = 32;
/// Webhook endpoints one account may have in one mode (Stripe's limit).
pub const ENDPOINTS_PER_TENANT_MAX: u64 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointStatus {
    Enabled,
    Disabled,
}

impl EndpointStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Enabled => "enabled",
            EndpointStatus::Disabled => "disabled",
        }
    }
}

/// A webhook endpoint as stored. The signing secret is stored in its own column, never in the
/// document; `secret` is set only on the endpoint a create call returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub livemode: bool,
    pub created: i64,
    pub url: String,
    /// Types of the catalogue, or `*`.
    pub enabled_events: Vec<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub api_version: Option<String>,
    pub status: EndpointStatus,
    #[serde(skip)]
    pub secret: Option<String>,
}

pub fn new_endpoint_id() -> String {
    new_object_id(ENDPOINT_ID_PREFIX)
}

pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", crate::base62::random_base62(SECRET_RANDOM_CHARS))
}

impl WebhookEndpoint {
    /// The subscription as one string the database matches types in: `*`, or `,a,b,`.
    pub fn events_filter(&self) -> String {
        if self.enabled_events.iter().any(|e| e == super::catalogue::ALL_EVENTS) {
            return super::catalogue::ALL_EVENTS.to_owned();
        }
        format!(",{},", self.enabled_events.join(","))
    }
}

/// A webhook-endpoints call as data.
#[derive(Debug, Clone)]
pub enum EndpointCommand {
    Create(WebhookEndpoint),
    Update {
        id: String,
        change: EndpointChange,
    },
    Delete {
        id: String,
    },
    /// The delivery worker's: the endpoint has failed for `health::DISABLE_AFTER_MS`; it is
    /// disabled and a `webhook_endpoint.disabled` event tells the account's other endpoints.
    DisableFailing {
        id: String,
    },
}

/// Why a change to a webhook endpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointError {
    /// The merged metadata would hold more than `METADATA_KEYS_MAX` keys.
    TooManyMetadataKeys,
}

impl From<TooManyMetadataKeys> for EndpointError {
    fn from(_: TooManyMetadataKeys) -> Self {
        Self::TooManyMetadataKeys
    }
}

impl EndpointError {
    /// The sentence a client reads.
    pub fn message(&self) -> String {
        match self {
            Self::TooManyMetadataKeys => TooManyMetadataKeys::message(),
        }
    }

    /// The request parameter at fault.
    pub fn param(&self) -> &'static str {
        match self {
            Self::TooManyMetadataKeys => TooManyMetadataKeys::PARAM,
        }
    }
}

/// An update: each `Some` replaces the field.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub enabled_events: Option<Vec<String>>,
    /// `Some(None)` unsets it.
    pub description: Option<Option<String>>,
    pub metadata: MetadataPatch,
    pub disabled: Option<bool>,
}

impl EndpointChange {
    pub fn apply(self, endpoint: &WebhookEndpoint) -> Result<WebhookEndpoint, EndpointError> {
        let mut next = endpoint.clone();
        if let Some(url) = self.url {
            next.url = url;
        }
        if let Some(events) = self.enabled_events {
            next.enabled_events = events;
        }
        if let Some(description) = self.description {
            next.description = description;
        }
        next.metadata = apply_metadata(&next.metadata, &self.metadata)?;
        if let Some(disabled) = self.disabled {
            next.status = if disabled {
                EndpointStatus::Disabled
            } else {
                EndpointStatus::Enabled
            };
        }
        Ok(next)
    }
}

#[derive(Serialize)]
pub struct EndpointView<'a> {
    id: &'a str,
    object: &'static str,
    api_version: Option<&'a str>,
    application: Option<&'a str>,
    created: i64,
    description: Option<&'a str>,
    enabled_events: &'a [String],
    livemode: bool,
    metadata: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    status: &'static str,
    url: &'a str,
}

impl EndpointView<'_> {
    /// The view as it is saved under an idempotency key: never with the secret, which is
    /// stored once, in the endpoint's row (`with_secret` puts it back into the answer).
    pub fn without_secret(self) -> Self {
        EndpointView { secret: None, ..self }
    }
}

/// An endpoint's JSON rendered `without_secret`, with `secret` put back where the rendering
/// places it: before the top-level `status` (the last `,"status":"` in the text: only `url`, a
/// JSON string whose quotes are escaped, follows it). A secret is `whsec_` and base62.
pub fn with_secret(body: &str, secret: &str) -> Option<String> {
    if !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let at = body.rfind(",\"status\":\"")?;
    Some(format!("{},\"secret\":\"{secret}\"{}", &body[..at], &body[at..]))
}

/// The event that tells an account one of its endpoints was disabled for failing (`data.object`
/// is the endpoint, without its secret; the event's `record_id` column holds its id).
pub fn endpoint_disabled(endpoint: &WebhookEndpoint) -> super::EventDraft {
    super::EventDraft {
        kind: super::EventType::EndpointDisabled,
        object: serde_json::to_string(&render_endpoint(endpoint).without_secret()).expect("views serialize"),
        previous_attributes: None,
        record_id: endpoint.id.clone(),
    }
}

/// The wire form; `secret` appears only when the endpoint carries it (the create response).
pub fn render_endpoint(e: &WebhookEndpoint) -> EndpointView<'_> {
    EndpointView {
        id: &e.id,
        object: "webhook_endpoint",
        api_version: e.api_version.as_deref(),
        application: None,
        created: e.created,
        description: e.description.as_deref(),
        enabled_events: &e.enabled_events,
        livemode: e.livemode,
        metadata: &e.metadata,
        secret: e.secret.as_deref(),
        status: e.status.as_str(),
        url: &e.url,
    }
}

#[derive(Serialize)]
pub struct DeletedView<'a> {
    id: &'a str,
    object: &'static str,
    deleted: bool,
}

pub fn render_deleted(id: &str) -> DeletedView<'_> {
    DeletedView {
        id,
        object: "webhook_endpoint",
        deleted: true,
    }
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn a_secret_put_back_gives_the_bytes_of_the_rendering_with_it() {
        let mut endpoint = WebhookEndpoint {
            id: "we_1".into(),
            livemode: false,
            created: 1,
            url: "https://example.com/h?\"status\":\"x".into(),
            enabled_events: vec!["*".into()],
            description: Some(",\"status\":\"".into()),
            metadata: [("status".to_owned(), "x".to_owned())].into(),
            api_version: None,
            status: EndpointStatus::Enabled,
            secret: Some(new_secret()),
        };
        let with = serde_json::to_string(&render_endpoint(&endpoint)).unwrap();
        let without = serde_json::to_string(&render_endpoint(&endpoint).without_secret()).unwrap();
        assert!(!without.contains("whsec_"));
        let secret = endpoint.secret.take().unwrap();
        assert_eq!(with_secret(&without, &secret).unwrap(), with);
        assert_eq!(with_secret(&without, "bad\"secret"), None);
    }
}
