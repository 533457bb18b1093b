//! SQLite's dashboard sessions.

use crate::store::sqlite::{SqliteStore, sessions};
use crate::store::{NewSession, Session, Sessions, StoreError};
use async_trait::async_trait;

#[async_trait]
impl Sessions for SqliteStore {
    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        let session = session.clone();
        self.admin(move |conn| sessions::create(conn, &session)).await
    }
    async fn find_session(&self, digest: &[u8; 32], now: i64) -> Result<Option<Session>, StoreError> {
        self.reads.with(|conn| sessions::find(conn, digest, now))
    }
    async fn delete_session(&self, digest: &[u8; 32], now: i64) -> Result<(), StoreError> {
        let digest = *digest;
        self.admin(move |conn| sessions::delete(conn, &digest, now)).await
    }
}
