//! SQLite's writes: every resource's, on one path.

use crate::store::sqlite::{SqliteStore, writer};
use crate::store::write::{AnyDone, AnyWrite};
use crate::store::{StoreError, WriteOutcome, Writes};
use async_trait::async_trait;
use tokio::sync::oneshot;

#[async_trait]
impl Writes for SqliteStore {
    async fn write_any(&self, mut write: Box<dyn AnyWrite>) -> Result<WriteOutcome<AnyDone>, StoreError> {
        let (reply, result) = oneshot::channel();
        // Here, on the request's task, so the single writer does not.
        write.prepare();
        self.writes
            .send(writer::WriteRequest::Write(write, reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }
}
