//! PostgreSQL's writes: every resource's, on one path.

use crate::store::postgres::{PgStore, ops};
use crate::store::write::{AnyDone, AnyWrite};
use crate::store::{StoreError, WriteOutcome, Writes};
use async_trait::async_trait;

#[async_trait]
impl Writes for PgStore {
    async fn write_any(&self, write: Box<dyn AnyWrite>) -> Result<WriteOutcome<AnyDone>, StoreError> {
        let serving = self.primary.serving()?;
        let to = ops::Target {
            primary: &self.primary,
            pool: &serving.pool,
            kept: &serving.kept,
            committer: &self.committer,
        };
        let written = serving.run(ops::write(&to, &*write)).await.map(|(outcome, queued)| {
            if queued > 0 {
                self.delivery_signal.notify_one();
            }
            outcome
        });
        self.health.observe(&written);
        written
    }
}
