//! PostgreSQL's the outbox (events and deliveries).

use crate::store::Released;
use crate::store::events::{EventRows, event_filters, events_list, in_order};
use crate::store::postgres::ops::PgOps;
use crate::store::postgres::{PgStore, events, reads};
use crate::store::write::PackedEvent;
use crate::store::{
    Backlog, Claim, ClaimedDelivery, DeliveryInfo, DueEndpoint, EventQuery, EventSummary, FailingEndpoint,
    FinishedDelivery, ListError, Outbox, Page, Resend, Resent, StoreError, Tenant,
};
use async_trait::async_trait;

#[async_trait]
impl Outbox for PgStore {
    async fn get_event(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, StoreError> {
        events::get_event(&self.pool()?, tenant, id).await
    }
    async fn list_events(&self, tenant: &Tenant, query: &EventQuery) -> Result<Page<String>, ListError> {
        if !query.can_match() {
            return Ok(Page::empty());
        }
        let filters = event_filters(query);
        let list = events_list(tenant, &filters);
        let ids = match filters.is_empty() {
            true => reads::hot_page(&*self.kept()?, &list, &query.page).await?,
            false => reads::scan_page(&self.pool()?, &self.scans, &list, &query.page).await?,
        };
        let bodies = events::events_by_id(&self.pool()?, tenant, &ids.data).await?;
        Ok(Page {
            data: in_order(&ids.data, bodies)?,
            has_more: ids.has_more,
        })
    }
    async fn record_events(&self, tenant: &Tenant, record_id: &str) -> Result<Vec<EventSummary>, StoreError> {
        events::record_events(&self.pool()?, tenant, record_id).await
    }
    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        endpoint_id: Option<&str>,
        event_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeliveryInfo>, StoreError> {
        events::list_deliveries(&self.pool()?, tenant, endpoint_id, event_id, limit).await
    }
    async fn prune_events(&self, cutoff: i64) -> Result<u64, StoreError> {
        events::prune(&self.pool()?, cutoff).await
    }
    fn deliveries_queued(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.delivery_signal.clone()
    }
    async fn due_endpoints(&self, now_ms: i64) -> Result<Vec<DueEndpoint>, StoreError> {
        events::due_endpoints(&self.pool()?, now_ms).await
    }
    async fn claim_deliveries(&self, claim: Claim) -> Result<Vec<ClaimedDelivery>, StoreError> {
        events::claim(&self.pool()?, &claim).await
    }
    async fn finish_deliveries(&self, finished: Vec<FinishedDelivery>) -> Result<Vec<FailingEndpoint>, StoreError> {
        events::finish(&self.pool()?, &finished).await
    }
    async fn release_deliveries(&self, released: Released) -> Result<u64, StoreError> {
        events::release(&self.pool()?, &released).await
    }
    async fn cap_backlogs(&self, max: u64) -> Result<u64, StoreError> {
        events::cap_backlogs(&self.pool()?, max).await
    }
    async fn delivery_backlog(&self) -> Result<Backlog, StoreError> {
        events::backlog(&self.pool()?).await
    }
    async fn resend_event(&self, resend: &Resend) -> Result<Resent, StoreError> {
        events::resend(&self.pool()?, resend).await
    }
}

#[async_trait]
impl EventRows for PgOps<'_> {
    async fn insert_events(&mut self, tenant: &Tenant, events: &[PackedEvent], now_ms: i64) -> Result<(), StoreError> {
        if let Some(group) = self.group_rows() {
            group.insert_events(tenant, events, now_ms);
            return Ok(());
        }
        events::push_events(&mut self.batch, tenant, events, now_ms);
        self.batched().await
    }
}
