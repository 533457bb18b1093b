//! API keys: `Authorization: Bearer sk_…` or Basic with the key as user name. The key decides
//! the tenant (account + livemode) of everything downstream. Keys are stored only as SHA-256
//! digests and looked up by digest, so a lookup's timing does not depend on how much of a
//! wrong key matches a real one.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rand::Rng;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::request::RequestContext;
use crate::AppState;
use crate::store::{NewKey, Tenant};

pub const TEST_KEY_PREFIX: &str = "sk_test_";
pub const LIVE_KEY_PREFIX: &str = "sk_live_";
/// Random base62 characters in a generated key.
pub const KEY_RANDOM_CHARS: usize = 32;
/// Longest key accepted for lookup; longer ones are rejected without hashing.
pub const KEY_CHARS_MAX: usize = 255;

/// The base62 alphabet, in ASCII order: fixed-width base62 text sorts as its number
/// (object ids rely on it, `records::ids`).
pub const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` random base62 characters from the OS-seeded CSPRNG.
pub fn random_base62(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| BASE62[rng.random_range(0..BASE62.len())] as char)
        .collect()
}

pub fn key_digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// `sk_test_****abcd`: the mode prefix and the last four characters, never more.
pub fn mask_key(key: &str) -> String {
    let prefix = [TEST_KEY_PREFIX, LIVE_KEY_PREFIX, "sk_", "rk_", "pk_"]
        .into_iter()
        .find(|p| key.starts_with(p))
        .unwrap_or("");
    let rest: Vec<char> = key[prefix.len()..].chars().collect();
    let last4: String = rest[rest.len().saturating_sub(4)..].iter().collect();
    format!("{prefix}****{last4}")
}

/// The mode of a well-formed secret key (`sk_test_`/`sk_live_` + base62), or None.
pub fn key_livemode(key: &str) -> Option<bool> {
    let (livemode, rest) = if let Some(rest) = key.strip_prefix(TEST_KEY_PREFIX) {
        (false, rest)
    } else {
        (true, key.strip_prefix(LIVE_KEY_PREFIX)?)
    };
    let well_formed =
        !rest.is_empty() && key.len() <= KEY_CHARS_MAX && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    well_formed.then_some(livemode)
}

/// A freshly generated key and what is stored of it.
#[derive(Debug)]
pub struct GeneratedKey {
    pub secret: String,
    pub stored: NewKey,
}

pub fn new_key_record(secret: &str, tenant: Tenant, key_id: String, now: i64) -> NewKey {
    let prefix = if tenant.livemode {
        LIVE_KEY_PREFIX
    } else {
        TEST_KEY_PREFIX
    };
    let chars: Vec<char> = secret.chars().collect();
    NewKey {
        key_id,
        tenant,
        digest: key_digest(secret),
        prefix: prefix.to_owned(),
        last4: chars[chars.len().saturating_sub(4)..].iter().collect(),
        created: now,
    }
}

pub fn generate_key(tenant: Tenant, now: i64) -> GeneratedKey {
    let prefix = if tenant.livemode {
        LIVE_KEY_PREFIX
    } else {
        TEST_KEY_PREFIX
    };
    let secret = format!("{prefix}{}", random_base62(KEY_RANDOM_CHARS));
    let stored = new_key_record(&secret, tenant, format!("key_{}", random_base62(16)), now);
    GeneratedKey { secret, stored }
}

/// The key sent with a request, from Bearer or Basic auth.
fn presented_key(parts: &Parts) -> Option<String> {
    let header = parts.headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, value) = header.split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return (!value.is_empty()).then(|| value.to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD.decode(value).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let user = decoded.split_once(':').map_or(decoded.as_str(), |(u, _)| u);
        return (!user.is_empty()).then(|| user.to_owned());
    }
    None
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key("stripe-account") {
            return Err(ApiError::ConnectNotSupported);
        }
        let key = presented_key(parts).ok_or(ApiError::NoApiKey)?;
        let invalid = || ApiError::InvalidApiKey { masked: mask_key(&key) };
        if key.len() > KEY_CHARS_MAX {
            return Err(invalid());
        }
        let digest = key_digest(&key);
        let owner = match app.store.find_key(&digest).await.map_err(|e| app.internal(parts, e))? {
            Some(owner) => owner,
            None if app.config.accept_any_key => {
                let livemode = key_livemode(&key).ok_or_else(invalid)?;
                let tenant = Tenant {
                    account_id: format!("acct_{}", &hex::encode(digest)[..16]),
                    livemode,
                };
                let now = crate::unix_now();
                let stored = new_key_record(&key, tenant, format!("key_{}", &hex::encode(digest)[..16]), now);
                app.store
                    .ensure_key_account(&stored)
                    .await
                    .map_err(|e| app.internal(parts, e))?
            }
            None => return Err(invalid()),
        };
        if let Some(context) = parts.extensions.get::<std::sync::Arc<RequestContext>>() {
            let _ = context.account.set(owner.tenant.account_id.clone());
        }
        Ok(owner.tenant)
    }
}
