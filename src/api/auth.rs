//! The tenant of a request: its API key, looked up by digest (or, with `--accept-any-key`, an
//! account made for it on first use).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::state::AppState;
use crate::store::{KeyOwner, StoreError, Tenant};
use crate::wire::auth::{KEY_CHARS_MAX, KeyKind, key_digest, key_livemode, mask_key, new_key_record, presented_key};
use crate::wire::error::ApiError;
use crate::wire::request::RequestContext;

/// The owner of `key`: found by its digest, or, with `--accept-any-key`, a well-formed secret
/// key's account made on first use. None for a key this server does not accept. The API's
/// requests and the dashboard's sign-in both ask this.
pub async fn owner_of_key(app: &AppState, key: &str) -> Result<Option<KeyOwner>, StoreError> {
    if key.is_empty() || key.len() > KEY_CHARS_MAX {
        return Ok(None);
    }
    let digest = key_digest(key);
    if let Some(owner) = app.store.find_key(&digest).await? {
        return Ok(Some(owner));
    }
    if !app.config.accept_any_key {
        return Ok(None);
    }
    let Some(livemode) = key_livemode(key) else {
        return Ok(None);
    };
    let hex = hex::encode(digest);
    let tenant = Tenant {
        account_id: format!("acct_{}", &hex[..16]),
        livemode,
    };
    let stored = new_key_record(key, tenant, format!("key_{}", &hex[..16]), crate::clock::unix_now());
    app.store.ensure_key_account(&stored).await.map(Some)
}

/// The address the request came from: the TCP peer, or the client a trusted proxy names
/// (`server::client`).
pub fn peer_address(parts: &Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<crate::server::client::ClientAddress>()
        .map(|client| client.0)
}

/// The request's peer address, as an extractor (for the dashboard's sign-in).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(peer_address(parts)))
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key("stripe-account") {
            return Err(ApiError::ConnectNotSupported);
        }
        let key = presented_key(&parts.headers).ok_or(ApiError::NoApiKey)?;
        let peer = peer_address(parts);
        app.rate_limiter.authentication_allowed(peer)?;
        let Some(owner) = owner_of_key(app, &key).await? else {
            app.rate_limiter.authentication_failed(peer);
            return Err(ApiError::InvalidApiKey { masked: mask_key(&key) });
        };
        app.rate_limiter.request(&owner.key_id, &owner.tenant.account_id)?;
        app.rate_limiter
            .stripe_request(&owner.tenant.account_id, owner.tenant.livemode)?;
        if let Some(context) = parts.extensions.get::<std::sync::Arc<RequestContext>>() {
            let _ = context.account.set(owner.tenant.account_id.clone());
        }
        // A restricted key reads: every GET, and nothing that changes anything.
        if owner.kind == KeyKind::RestrictedRead && parts.method != axum::http::Method::GET {
            return Err(ApiError::PermissionDenied {
                masked: mask_key(&key),
                account: owner.tenant.account_id,
            });
        }
        super::simulate::apply(app, parts, &owner.tenant).await?;
        Ok(owner.tenant)
    }
}
