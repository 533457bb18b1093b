//! API keys: `Authorization: Bearer sk_…` or Basic with the key as user name. The key decides
//! the tenant (account + livemode) of everything downstream (`api::auth` looks it up). Keys are
//! stored only as SHA-256 digests and looked up by digest, so a lookup's timing does not depend
//! on how much of a wrong key matches a real one.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};

use crate::base62::random_base62;
use crate::store::{NewKey, Tenant};

pub use crate::store::keys::{
    KeyKind, LIVE_KEY_PREFIX, RESTRICTED_LIVE_KEY_PREFIX, RESTRICTED_TEST_KEY_PREFIX, TEST_KEY_PREFIX,
};

/// Random base62 characters in a generated key.
pub const KEY_RANDOM_CHARS: usize = 32;
/// Longest key accepted for lookup; longer ones are rejected without hashing.
pub const KEY_CHARS_MAX: usize = 255;

pub fn key_digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// `sk_test_****abcd`: the mode prefix and the last four characters, never more.
pub fn mask_key(key: &str) -> String {
    let prefix = [
        TEST_KEY_PREFIX,
        LIVE_KEY_PREFIX,
        RESTRICTED_TEST_KEY_PREFIX,
        RESTRICTED_LIVE_KEY_PREFIX,
        "sk_",
        "rk_",
        "pk_",
    ]
    .into_iter()
    .find(|p| key.starts_with(p))
    .unwrap_or("");
    let rest: Vec<char> = key[prefix.len()..].chars().collect();
    let last4: String = rest[rest.len().saturating_sub(4)..].iter().collect();
    format!("{prefix}****{last4}")
}

/// Whether `text` is `prefix` and then one or more letters, digits or `_`, at most `chars_max`
/// characters in all: the shape of API keys, and of the secrets and ids a seed file gives.
pub fn is_word_after(text: &str, prefix: &str, chars_max: usize) -> bool {
    text.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty() && text.len() <= chars_max && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// The mode and kind a well-formed key's prefix says (`sk_test_`, `sk_live_`, `rk_test_`,
/// `rk_live_`, then letters, digits or `_`), or None.
pub fn key_mode(key: &str) -> Option<(bool, KeyKind)> {
    [KeyKind::Secret, KeyKind::RestrictedRead]
        .into_iter()
        .flat_map(|kind| [(false, kind), (true, kind)])
        .find(|(livemode, kind)| is_word_after(key, kind.prefix(*livemode), KEY_CHARS_MAX))
}

/// The mode of a well-formed secret key (`sk_test_`/`sk_live_` + base62), or None.
pub fn key_livemode(key: &str) -> Option<bool> {
    key_mode(key).and_then(|(livemode, kind)| (kind == KeyKind::Secret).then_some(livemode))
}

/// A freshly generated key and what is stored of it.
#[derive(Debug)]
pub struct GeneratedKey {
    pub secret: String,
    pub stored: NewKey,
}

pub fn new_key_record(secret: &str, tenant: Tenant, key_id: String, now: i64) -> NewKey {
    new_key_record_of(KeyKind::Secret, secret, tenant, key_id, now)
}

pub fn new_key_record_of(kind: KeyKind, secret: &str, tenant: Tenant, key_id: String, now: i64) -> NewKey {
    let prefix = kind.prefix(tenant.livemode);
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
    generate_key_of(KeyKind::Secret, tenant, now)
}

pub fn generate_key_of(kind: KeyKind, tenant: Tenant, now: i64) -> GeneratedKey {
    let prefix = kind.prefix(tenant.livemode);
    let secret = format!("{prefix}{}", random_base62(KEY_RANDOM_CHARS));
    let stored = new_key_record_of(kind, &secret, tenant, format!("key_{}", random_base62(16)), now);
    GeneratedKey { secret, stored }
}

/// The key sent with a request, from Bearer or Basic auth.
pub fn presented_key(headers: &HeaderMap) -> Option<String> {
    let header = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_keys_have_a_mode() {
        assert_eq!(key_mode("sk_test_123"), Some((false, KeyKind::Secret)));
        assert_eq!(key_mode("rk_live_a_b"), Some((true, KeyKind::RestrictedRead)));
        for bad in ["sk_test_", "sk_123", "pk_test_1", "sk_test_a-b", "sk_test_é"] {
            assert_eq!(key_mode(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_secret_keys_have_a_livemode_for_accept_any_key() {
        assert_eq!(key_livemode("sk_live_1"), Some(true));
        assert_eq!(key_livemode("rk_test_1"), None);
        assert_eq!(
            key_livemode(&format!("sk_test_{}", "a".repeat(KEY_CHARS_MAX))),
            None,
            "too long"
        );
    }
}
