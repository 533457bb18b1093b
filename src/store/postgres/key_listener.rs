//! The PostgreSQL side of the key cache (`store::key_cache`): `revoke_key` notifies
//! `KEYS_CHANNEL` in its transaction, and each server's listener forgets every key when told,
//! so a revocation takes effect at once on every replica. The cache is used only while the
//! listener is connected; a notification it might have missed (a dropped connection) forgets
//! everything and turns the cache off until it listens again. The listener starts with the
//! first lookup.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};

use crate::store::key_cache::KeyCache;

/// The channel `revoke_key` notifies.
pub(super) const KEYS_CHANNEL: &str = "payrec_api_keys";

/// How long the listener waits before connecting again after losing its connection.
const LISTENER_RETRY: Duration = Duration::from_secs(1);

/// Starts, unless it runs already, the listener on `KEYS_CHANNEL`: for as long as the pool
/// is open it forgets every key on each notification and whenever its connection is lost.
pub(super) fn start_listening(cache: &Arc<KeyCache>, pool: &PgPool) {
    cache.watcher.get_or_init(|| {
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
            cache.set_enabled(true);
            while let Ok(Some(_)) = listener.try_recv().await {
                cache.forget();
            }
        }
        cache.set_enabled(false);
        tokio::time::sleep(LISTENER_RETRY).await;
    }
}
