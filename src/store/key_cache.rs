//! API keys remembered by digest, so that a request does not spend a database read on its key
//! (issue 18: on PostgreSQL a retrieve was two round trips, the key's and the record's; on
//! SQLite two read transactions). Each backend tells the cache when a key may have been
//! revoked, by any process: PostgreSQL by a notification (`postgres::key_listener`), SQLite by
//! a signal file beside the database (`sqlite::key_signal`). The cache is used only while that
//! signal can be trusted (`set_enabled`); entries also age out after `KEY_CACHE_TTL`, a bound
//! should a signal never arrive. Only keys found are remembered: a key made a moment ago is
//! looked up in the database until it is found.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

use crate::store::KeyOwner;

/// How long a found key is trusted without asking the database again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(60);

/// Keys remembered at most (about 200 bytes each); past it the cache starts over.
pub const KEY_CACHE_ENTRIES_MAX: usize = 10_000;

#[derive(Debug, Default)]
struct Entries {
    owners: HashMap<[u8; 32], (KeyOwner, Instant)>,
    /// Bumped by every `forget`: a lookup that began before it must not store what it found.
    generation: u64,
    /// Whether the backend's revocation signal is being watched (nothing is cached otherwise).
    enabled: bool,
}

/// A lookup's ticket: the generation it began in, if caching is on.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(Option<u64>);

#[derive(Debug, Default)]
pub struct KeyCache {
    entries: RwLock<Entries>,
    /// Set once the backend starts watching for revocations: on the first lookup, so commands
    /// that never look a key up (export, import, migrate) never watch.
    pub(super) watcher: OnceLock<()>,
}

impl KeyCache {
    pub fn get(&self, digest: &[u8; 32]) -> Option<KeyOwner> {
        let entries = self.entries.read().expect("key cache lock");
        if !entries.enabled {
            return None;
        }
        let (owner, found) = entries.owners.get(digest)?;
        (found.elapsed() < KEY_CACHE_TTL).then(|| owner.clone())
    }

    /// The owner of `digest`: from the cache, or else from `lookup` (a database read, run only
    /// on a miss), remembered when found.
    pub async fn find<E>(
        &self,
        digest: &[u8; 32],
        lookup: impl Future<Output = Result<Option<KeyOwner>, E>>,
    ) -> Result<Option<KeyOwner>, E> {
        if let Some(owner) = self.get(digest) {
            return Ok(Some(owner));
        }
        let ticket = self.ticket();
        let owner = lookup.await?;
        if let Some(owner) = &owner {
            self.put(*digest, owner.clone(), ticket);
        }
        Ok(owner)
    }

    /// Taken before asking the database, handed to `put` with the answer.
    pub fn ticket(&self) -> Ticket {
        let entries = self.entries.read().expect("key cache lock");
        Ticket(entries.enabled.then_some(entries.generation))
    }

    /// Remembers `owner`, unless the cache was cleared since `ticket` (a revocation may have
    /// come between the database's answer and now).
    pub fn put(&self, digest: [u8; 32], owner: KeyOwner, ticket: Ticket) {
        let mut entries = self.entries.write().expect("key cache lock");
        if ticket.0 != Some(entries.generation) || !entries.enabled {
            return;
        }
        if entries.owners.len() >= KEY_CACHE_ENTRIES_MAX {
            entries.owners.clear();
        }
        entries.owners.insert(digest, (owner, Instant::now()));
    }

    /// Forgets every key (a key was revoked).
    pub fn forget(&self) {
        let mut entries = self.entries.write().expect("key cache lock");
        entries.owners.clear();
        entries.generation += 1;
    }

    /// The revocation signal is watched (caching may start) or lost (it stops); either way
    /// every key is forgotten.
    pub fn set_enabled(&self, on: bool) {
        self.forget();
        self.entries.write().expect("key cache lock").enabled = on;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::Tenant;

    /// A key's owner, for the cache's tests and its backends'.
    pub(crate) fn owner() -> KeyOwner {
        KeyOwner {
            key_id: "key_1".into(),
            tenant: Tenant {
                account_id: "acct_1".into(),
                livemode: false,
            },
            kind: crate::store::KeyKind::Secret,
        }
    }

    #[test]
    fn nothing_is_cached_until_the_signal_is_watched() {
        let cache = KeyCache::default();
        cache.put([1; 32], owner(), cache.ticket());
        assert_eq!(cache.get(&[1; 32]), None);
        cache.set_enabled(true);
        cache.put([1; 32], owner(), cache.ticket());
        assert_eq!(cache.get(&[1; 32]), Some(owner()));
    }

    #[test]
    fn a_lookup_that_began_before_a_revocation_is_not_remembered() {
        let cache = KeyCache::default();
        cache.set_enabled(true);
        let ticket = cache.ticket();
        cache.forget();
        cache.put([1; 32], owner(), ticket);
        assert_eq!(cache.get(&[1; 32]), None);
    }

    #[test]
    fn losing_the_signal_forgets_and_stops_caching() {
        let cache = KeyCache::default();
        cache.set_enabled(true);
        cache.put([1; 32], owner(), cache.ticket());
        cache.set_enabled(false);
        assert_eq!(cache.get(&[1; 32]), None);
        cache.put([1; 32], owner(), cache.ticket());
        assert_eq!(cache.get(&[1; 32]), None);
    }

    #[test]
    fn a_full_cache_starts_over_rather_than_grow() {
        let cache = KeyCache::default();
        cache.set_enabled(true);
        for i in 0..=KEY_CACHE_ENTRIES_MAX {
            let mut digest = [0; 32];
            digest[..8].copy_from_slice(&(i as u64).to_le_bytes());
            cache.put(digest, owner(), cache.ticket());
        }
        assert_eq!(cache.entries.read().unwrap().owners.len(), 1);
    }
}
