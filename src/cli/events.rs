//! `payrec events resend`: an operator's way to deliver an event again (Stripe's CLI has the
//! same command). It queues the deliveries in the database; the server's worker sends them.

use super::args::{EventsCommand, ServeArgs};
use super::{Failure, open_store};
use crate::store::{Resend, Resent};

/// `payrec events …`.
pub async fn events(database_url: &str, command: &EventsCommand) -> Result<(), Failure> {
    let store = open_store(database_url, &ServeArgs::default()).await?;
    match command {
        EventsCommand::Resend { event_id, endpoint } => {
            let resend = Resend {
                event_id: event_id.clone(),
                endpoint_id: endpoint.clone(),
                now_ms: crate::clock::unix_now_millis() as i64,
            };
            match store.resend_event(&resend).await? {
                Resent::Queued(0) => Err(Failure(format!(
                    "{event_id} was delivered to no endpoint; name one with --endpoint we_…"
                ))),
                Resent::Queued(n) => {
                    println!(
                        "queued {n} delivery(ies) of {event_id}; a running payrec server sends them within a second"
                    );
                    Ok(())
                }
                Resent::EventMissing => Err(Failure(format!("no event {event_id} (events are kept 30 days)"))),
                Resent::EndpointMissing => Err(Failure(format!(
                    "no webhook endpoint {} in the account and mode of {event_id}",
                    endpoint.as_deref().unwrap_or_default()
                ))),
            }
        }
    }
}
