//! The PostgreSQL side of the key cache (`store::key_cache`): `revoke_key` notifies
//! `KEYS_CHANNEL` in its transaction, and each server's listener forgets every key when told,
//! so a revocation takes effect at once on every replica. The cache is used only while the
//! listener is connected; a notification it might have missed (a dropped connection) forgets
//! everything and turns the cache off until it listens again. The listener starts with the
//! first lookup.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::PgListener;

use super::primary::Primary;

use crate::store::key_cache::KeyCache;

/// The channel `revoke_key` notifies.
pub(super) const KEYS_CHANNEL: &str = "payrec_api_keys";

/// How long the listener waits before connecting again after losing its connection.
const LISTENER_RETRY: Duration = Duration::from_secs(1);

/// Starts, unless it runs already, the listener on `KEYS_CHANNEL`: for as long as the store is
/// open it forgets every key on each notification and whenever its connection is lost.
pub(super) fn start_listening(cache: &Arc<KeyCache>, primary: &Arc<Primary>) {
    cache.watcher.get_or_init(|| {
        let (cache, primary) = (cache.clone(), Arc::downgrade(primary));
        tokio::spawn(listen(cache, primary));
    });
}

/// Listens on the current primary, and again on the next one after a failover, for as long as
/// the store is open.
async fn listen(cache: Arc<KeyCache>, primary: Weak<Primary>) {
    loop {
        let Some(current) = primary.upgrade() else { return };
        if current.is_closed() {
            return;
        }
        let mut changes = current.changes();
        let pool = current.serving().map(|s| s.pool.clone());
        drop(current);
        if let Ok(pool) = pool
            && let Ok(mut listener) = PgListener::connect_with(&pool).await
            && listener.listen(KEYS_CHANNEL).await.is_ok()
        {
            // Whatever was revoked while nobody listened is forgotten with the rest.
            cache.set_enabled(true);
            loop {
                tokio::select! {
                    heard = listener.try_recv() => match heard {
                        Ok(Some(_)) => cache.forget(),
                        _ => break,
                    },
                    // Another primary: listen there (a hung one would say nothing).
                    _ = changes.changed() => break,
                }
            }
        }
        cache.set_enabled(false);
        cache.forget();
        tokio::time::sleep(LISTENER_RETRY).await;
    }
}
