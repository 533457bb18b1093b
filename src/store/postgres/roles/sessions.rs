//! PostgreSQL's dashboard sessions.

use crate::store::postgres::{PgStore, sessions};
use crate::store::{NewSession, Session, Sessions, StoreError};
use async_trait::async_trait;

#[async_trait]
impl Sessions for PgStore {
    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        sessions::create(&self.pool()?, session).await
    }
    async fn find_session(&self, digest: &[u8; 32], now: i64) -> Result<Option<Session>, StoreError> {
        sessions::find(&self.pool()?, digest, now).await
    }
    async fn delete_session(&self, digest: &[u8; 32], now: i64) -> Result<(), StoreError> {
        sessions::delete(&self.pool()?, digest, now).await
    }
}
