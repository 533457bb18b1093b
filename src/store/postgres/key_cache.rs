//! API keys remembered by digest, so that a request does not spend a round trip on its key
//! (issue 18: a retrieve was two round trips, the key's and the record's). Revocation still
//! takes effect at once on every replica: `revoke_key` notifies `KEYS_CHANNEL` in its
//! transaction, and each server's listener forgets every key when told. The cache is used
//! only while the listener is connected; a notification it might have missed (a dropped
//! connection) forgets everything and turns the cache off until it listens again. Entries also
//! age out after `KEY_CACHE_TTL`, a bound should a notification never arrive. The listener
//! starts with the first lookup.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgListener, PgPool};

use crate::store::KeyOwner;

/// The channel `revoke_key` notifies.
pub(super) const KEYS_CHANNEL: &str = "payrec_api_keys";

/// How long a found key is trusted without asking the database again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(60);

/// Keys remembered at most (about 200 bytes each); past it the cache starts over.
pub const KEY_CACHE_ENTRIES_MAX: usize = 10_000;

/// How long the listener waits before connecting again after losing its connection.
const LISTENER_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Entries {
    owners: HashMap<[u8; 32], (KeyOwner, Instant)>,
    /// Bumped by every `forget`: a lookup that began before it must not store what it found.
    generation: u64,
    /// Whether the listener is connected (nothing is cached otherwise).
    listening: bool,
}

/// A lookup's ticket: the generation it began in, if caching is on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticket(Option<u64>);

#[derive(Debug, Default)]
pub(super) struct KeyCache {
    entries: RwLock<Entries>,
    /// Set once the listener is spawned: on the first lookup, so commands that never look a
    /// key up (export, import, migrate) never hold its connection.
    listener: OnceLock<()>,
}

impl KeyCache {
    pub fn get(&self, digest: &[u8; 32]) -> Option<KeyOwner> {
        let entries = self.entries.read().expect("key cache lock");
        if !entries.listening {
            return None;
        }
        let (owner, found) = entries.owners.get(digest)?;
        (found.elapsed() < KEY_CACHE_TTL).then(|| owner.clone())
    }

    /// Taken before asking the database, handed to `put` with the answer.
    pub fn ticket(&self) -> Ticket {
        let entries = self.entries.read().expect("key cache lock");
        Ticket(entries.listening.then_some(entries.generation))
    }

    /// Remembers `owner`, unless the cache was cleared since `ticket` (a revocation may have
    /// come between the database's answer and now).
    pub fn put(&self, digest: [u8; 32], owner: KeyOwner, ticket: Ticket) {
        let mut entries = self.entries.write().expect("key cache lock");
        if ticket.0 != Some(entries.generation) || !entries.listening {
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

    /// The listener connected (caching may start) or lost its connection (it stops); either
    /// way every key is forgotten.
    pub fn listening(&self, on: bool) {
        self.forget();
        self.entries.write().expect("key cache lock").listening = on;
    }
}

/// Starts, unless it runs already, the listener on `KEYS_CHANNEL`: for as long as the pool
/// is open it forgets every key on each notification and whenever its connection is lost.
pub(super) fn start_listening(cache: &Arc<KeyCache>, pool: &PgPool) {
    cache.listener.get_or_init(|| {
        let (cache, pool) = (cache.clone(), pool.clone());
        tokio::spawn(listen(cache, pool));
    });
}

async fn listen(cache: Arc<KeyCache>, pool: PgPool) {
    while !pool.is_closed() {
        if let Ok(mut listener) = PgListener::connect_with(&pool).await
            && listener.listen(KEYS_CHANNEL).await.is_ok()
        {
            // Whatever was revoked while nobody listened is forgotten with the rest.
            cache.listening(true);
            while let Ok(Some(_)) = listener.try_recv().await {
                cache.forget();
            }
        }
        cache.listening(false);
        tokio::time::sleep(LISTENER_RETRY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Tenant;

    fn owner() -> KeyOwner {
        KeyOwner {
            key_id: "key_1".into(),
            tenant: Tenant {
                account_id: "acct_1".into(),
                livemode: false,
            },
            prefix: "sk_test_".into(),
        }
    }

    #[test]
    fn nothing_is_cached_until_the_listener_listens() {
        let cache = KeyCache::default();
        cache.put([1; 32], owner(), cache.ticket());
        assert_eq!(cache.get(&[1; 32]), None);
        cache.listening(true);
        cache.put([1; 32], owner(), cache.ticket());
        assert_eq!(cache.get(&[1; 32]), Some(owner()));
    }

    #[test]
    fn a_lookup_that_began_before_a_revocation_is_not_remembered() {
        let cache = KeyCache::default();
        cache.listening(true);
        let ticket = cache.ticket();
        cache.forget();
        cache.put([1; 32], owner(), ticket);
        assert_eq!(cache.get(&[1; 32]), None);
    }

    #[test]
    fn losing_the_listener_forgets_and_stops_caching() {
        let cache = KeyCache::default();
        cache.listening(true);
        cache.put([1; 32], owner(), cache.ticket());
        cache.listening(false);
        assert_eq!(cache.get(&[1; 32]), None);
        cache.put([1; 32], owner(), cache.ticket());
        assert_eq!(cache.get(&[1; 32]), None);
    }

    #[test]
    fn a_full_cache_starts_over_rather_than_grow() {
        let cache = KeyCache::default();
        cache.listening(true);
        for i in 0..=KEY_CACHE_ENTRIES_MAX {
            let mut digest = [0; 32];
            digest[..8].copy_from_slice(&(i as u64).to_le_bytes());
            cache.put(digest, owner(), cache.ticket());
        }
        assert_eq!(cache.entries.read().unwrap().owners.len(), 1);
    }
}
