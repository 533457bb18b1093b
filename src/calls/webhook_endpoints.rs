//! The webhook endpoints' parameters, read by the API's handlers and by the seed file
//! (`payrec serve --seed`), so that an endpoint is checked the same way wherever it comes from.

use url::Url;

use crate::events::catalogue::{ALL_EVENTS, EventType, is_subscribable};
use crate::events::endpoint::EndpointError;
use crate::events::{EndpointStatus, WebhookEndpoint};
use crate::metadata::apply_metadata;
use crate::records::model::MetadataPatch;
use crate::wire::error::ApiError;
use crate::wire::list::ListLimit;
use crate::wire::params::{Flag, FromParam, LookupId, Params, Shape, Strings, Text, TextMax, UnsettableText, params};

/// Longest endpoint URL accepted.
pub const URL_CHARS_MAX: usize = 2048;
/// Most entries in `enabled_events[]`.
pub const ENABLED_EVENTS_MAX: usize = 64;

/// An endpoint's `api_version`: one of the versions payrec knows (`api_version::API_VERSIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointApiVersion(pub &'static str);

impl FromParam for EndpointApiVersion {
    const SHAPE: Shape = Shape::Enum(crate::api_version::API_VERSIONS);
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        let versions: Vec<(&str, &'static str)> = crate::api_version::API_VERSIONS.iter().map(|v| (*v, *v)).collect();
        let version = parent.one_of(key, &versions)?.ok_or_else(|| parent.missing(key))?;
        Ok(EndpointApiVersion(version))
    }
}

/// An `http://` or `https://` URL with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(pub String);

impl FromParam for EndpointUrl {
    const SHAPE: Shape = Shape::ScalarMax(URL_CHARS_MAX);
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        let TextMax(text) = TextMax::<URL_CHARS_MAX>::read(parent, key)?;
        let param = parent.path(key);
        let invalid = || ApiError::Invalid {
            message: format!("Invalid URL: {text}. URLs must begin with http:// or https:// and name a host."),
            param: Some(param.clone()),
        };
        let url = Url::parse(&text).map_err(|_| invalid())?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(invalid());
        }
        Ok(EndpointUrl(text))
    }
}

/// `enabled_events[]`: types of the catalogue, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnabledEvents(pub Vec<String>);

impl FromParam for EnabledEvents {
    const SHAPE: Shape = Shape::StringList(None);
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        let Strings(events) = Strings::<ENABLED_EVENTS_MAX>::read(parent, key)?;
        let param = parent.path(key);
        if events.is_empty() {
            return Err(ApiError::Invalid {
                message: format!("Invalid {param}: at least one event type, or *, is required."),
                param: Some(param),
            });
        }
        if let Some((i, unknown)) = events.iter().enumerate().find(|(_, e)| !is_subscribable(e)) {
            let allowed: Vec<&str> = std::iter::once(ALL_EVENTS)
                .chain(EventType::ALL.iter().map(|t| t.as_str()))
                .collect();
            return Err(ApiError::Invalid {
                message: format!(
                    "Invalid {param}[{i}]: '{unknown}' is not an event type payrec emits; must be one of {}",
                    allowed.join(", ")
                ),
                param: Some(param),
            });
        }
        Ok(EnabledEvents(events))
    }
}

params! {
    pub struct CreateEndpointParams {
        pub api_version: Option<EndpointApiVersion>,
        pub description: Option<Text>,
        pub enabled_events: EnabledEvents,
        pub metadata: MetadataPatch,
        pub url: EndpointUrl,
    }
}

params! {
    pub struct UpdateEndpointParams {
        pub description: Option<UnsettableText>,
        pub disabled: Option<Flag>,
        pub enabled_events: Option<EnabledEvents>,
        pub metadata: MetadataPatch,
        pub url: Option<EndpointUrl>,
    }
}

params! {
    pub struct ListEndpointsParams {
        pub ending_before: Option<LookupId>,
        pub limit: Option<ListLimit>,
        pub starting_after: Option<LookupId>,
    }
}

params! {
    pub struct RetrieveEndpointParams {}
}

params! {
    pub struct DeleteEndpointParams {}
}

/// The endpoint a create call makes: `id` and `secret` new for the API, given by a seed file.
pub fn new_endpoint(
    p: CreateEndpointParams,
    id: String,
    secret: String,
    livemode: bool,
    now: i64,
) -> Result<WebhookEndpoint, EndpointError> {
    Ok(WebhookEndpoint {
        id,
        livemode,
        created: now,
        url: p.url.0,
        enabled_events: p.enabled_events.0,
        description: p.description.map(|d| d.0),
        metadata: apply_metadata(&Default::default(), &p.metadata)?,
        api_version: p.api_version.map(|v| v.0.to_owned()),
        status: EndpointStatus::Enabled,
        secret: Some(secret),
    })
}
