//! SQLite's the outbox (events and deliveries).

use crate::store::Released;
use crate::store::events::{EventRows, event_filters, events_list, in_order};
use crate::store::sqlite::ops::SqliteOps;
use crate::store::sqlite::writer::{DeliveryAnswer, DeliveryJob};
use crate::store::sqlite::{SqliteStore, events};
use crate::store::write::PackedEvent;
use crate::store::{
    Backlog, Claim, ClaimedDelivery, DeliveryInfo, DueEndpoint, EventQuery, EventSummary, FailingEndpoint,
    FinishedDelivery, ListError, Outbox, Page, Resend, Resent, StoreError, Tenant,
};
use async_trait::async_trait;
use std::sync::Arc;

#[async_trait]
impl Outbox for SqliteStore {
    async fn get_event(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        self.reads.with(|conn| Ok(events::get_event(conn, tenant, id)))?
    }
    async fn list_events(&self, tenant: &Tenant, query: &EventQuery) -> Result<Page<String>, ListError> {
        if !query.can_match() {
            return Ok(Page::empty());
        }
        let filters = event_filters(query);
        let list = events_list(tenant, &filters);
        let ids = match filters.is_empty() {
            true => self.reads.page(&list, &query.page)?,
            false => self.reads.scan(|reads| reads.page(&list, &query.page)).await?,
        };
        let bodies = self
            .reads
            .with(|conn| Ok(events::events_by_id(conn, tenant, &ids.data)))??;
        Ok(Page {
            data: in_order(&ids.data, bodies)?,
            has_more: ids.has_more,
        })
    }
    async fn record_events(&self, tenant: &Tenant, record_id: &str) -> Result<Vec<EventSummary>, StoreError> {
        self.reads.with(|conn| events::record_events(conn, tenant, record_id))
    }
    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        endpoint_id: Option<&str>,
        event_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeliveryInfo>, StoreError> {
        self.reads
            .with(|conn| events::list_deliveries(conn, tenant, endpoint_id, event_id, limit))
    }
    async fn prune_events(&self, cutoff: i64) -> Result<u64, StoreError> {
        self.admin(move |conn| events::prune(conn, cutoff)).await
    }
    async fn release_dead_leases(&self) -> Result<u64, StoreError> {
        let now = crate::clock::unix_now_millis() as i64;
        self.admin(move |conn| events::release_leases(conn, now)).await
    }
    fn deliveries_queued(&self) -> Arc<tokio::sync::Notify> {
        self.delivery_signal.clone()
    }
    async fn due_endpoints(&self, now_ms: i64) -> Result<Vec<DueEndpoint>, StoreError> {
        self.reads.with(|conn| events::due_endpoints(conn, now_ms))
    }
    async fn claim_deliveries(&self, claim: Claim) -> Result<Vec<ClaimedDelivery>, StoreError> {
        match self.deliveries(DeliveryJob::Claim(claim)).await? {
            DeliveryAnswer::Claimed(claimed) => Ok(claimed),
            _ => unreachable!("a claim is answered with deliveries"),
        }
    }
    async fn finish_deliveries(&self, finished: Vec<FinishedDelivery>) -> Result<Vec<FailingEndpoint>, StoreError> {
        match self.deliveries(DeliveryJob::Finish(finished)).await? {
            DeliveryAnswer::Finished(failing) => Ok(failing),
            _ => unreachable!("a finish is answered Finished"),
        }
    }
    async fn release_deliveries(&self, released: Released) -> Result<u64, StoreError> {
        match self.deliveries(DeliveryJob::Release(released)).await? {
            DeliveryAnswer::Released(n) => Ok(n),
            _ => unreachable!("a release is answered Released"),
        }
    }
    async fn cap_backlogs(&self, max: u64) -> Result<u64, StoreError> {
        match self.deliveries(DeliveryJob::CapBacklogs(max)).await? {
            DeliveryAnswer::Capped(n) => Ok(n),
            _ => unreachable!("a cap is answered Capped"),
        }
    }
    async fn delivery_backlog(&self) -> Result<Backlog, StoreError> {
        self.reads.with(events::backlog)
    }
    async fn resend_event(&self, resend: &Resend) -> Result<Resent, StoreError> {
        let resend = resend.clone();
        self.admin(move |conn| events::resend(conn, &resend)).await
    }
}

#[async_trait]
impl EventRows for SqliteOps<'_> {
    async fn insert_events(&mut self, tenant: &Tenant, events: &[PackedEvent], now_ms: i64) -> Result<(), StoreError> {
        *self.deliveries_queued += events::insert_events(self.conn, self.subscriptions, tenant, events, now_ms)?;
        Ok(())
    }
}
