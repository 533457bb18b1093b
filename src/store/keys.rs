//! What an API key may do, told by its prefix (Stripe's convention): the store keeps the
//! prefix beside the key's digest and hands back the kind.

pub const TEST_KEY_PREFIX: &str = "sk_test_";
pub const LIVE_KEY_PREFIX: &str = "sk_live_";
/// Restricted keys (Stripe's convention): every GET of the API, nothing else.
pub const RESTRICTED_TEST_KEY_PREFIX: &str = "rk_test_";
pub const RESTRICTED_LIVE_KEY_PREFIX: &str = "rk_live_";

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `sk_…`: everything.
    Secret,
    /// `rk_…` with the `read` permission: every GET, nothing else.
    RestrictedRead,
}

impl KeyKind {
    /// The prefix of a key of this kind in that mode (also stored, to list and to tell the kind).
    pub fn prefix(self, livemode: bool) -> &'static str {
        match (self, livemode) {
            (KeyKind::Secret, false) => TEST_KEY_PREFIX,
            (KeyKind::Secret, true) => LIVE_KEY_PREFIX,
            (KeyKind::RestrictedRead, false) => RESTRICTED_TEST_KEY_PREFIX,
            (KeyKind::RestrictedRead, true) => RESTRICTED_LIVE_KEY_PREFIX,
        }
    }

    /// The kind of a key with this stored prefix.
    pub fn of_prefix(prefix: &str) -> KeyKind {
        if prefix.starts_with("rk_") {
            KeyKind::RestrictedRead
        } else {
            KeyKind::Secret
        }
    }
}
