//! The tenant of a request: its API key, looked up by digest (or, with `--accept-any-key`, an
//! account made for it on first use).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::state::AppState;
use crate::store::Tenant;
use crate::wire::auth::{KEY_CHARS_MAX, KeyKind, key_digest, key_livemode, mask_key, new_key_record, presented_key};
use crate::wire::error::ApiError;
use crate::wire::request::RequestContext;

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key("stripe-account") {
            return Err(ApiError::ConnectNotSupported);
        }
        let key = presented_key(&parts.headers).ok_or(ApiError::NoApiKey)?;
        let invalid = || ApiError::InvalidApiKey { masked: mask_key(&key) };
        if key.len() > KEY_CHARS_MAX {
            return Err(invalid());
        }
        let digest = key_digest(&key);
        let owner = match app.store.find_key(&digest).await? {
            Some(owner) => owner,
            None if app.config.accept_any_key => {
                let livemode = key_livemode(&key).ok_or_else(invalid)?;
                let hex = hex::encode(digest);
                let tenant = Tenant {
                    account_id: format!("acct_{}", &hex[..16]),
                    livemode,
                };
                let stored = new_key_record(&key, tenant, format!("key_{}", &hex[..16]), crate::clock::unix_now());
                app.store.ensure_key_account(&stored).await?
            }
            None => return Err(invalid()),
        };
        if let Some(context) = parts.extensions.get::<std::sync::Arc<RequestContext>>() {
            let _ = context.account.set(owner.tenant.account_id.clone());
        }
        // A restricted key reads: every GET, and nothing that changes anything.
        if KeyKind::of_prefix(&owner.prefix) == KeyKind::RestrictedRead && parts.method != axum::http::Method::GET {
            return Err(ApiError::PermissionDenied {
                masked: mask_key(&key),
                account: owner.tenant.account_id,
            });
        }
        Ok(owner.tenant)
    }
}
