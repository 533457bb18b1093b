//! Writing a checked seed: what exists is left as it is, so applying a file twice changes
//! nothing the second time.

use super::{PlannedAccount, Seed, key_record, tenant};
use crate::cli::Failure;
use crate::clock::unix_now;
use crate::events::EndpointCommand;
use crate::events::render::EventRequest;
use crate::import::ReadyLine;
use crate::store::{EndpointOutcome, ImportOutcome, ImportWrite, Store, Tenant, TypedWrites, Write, WriteOutcome};
use crate::wire::auth::key_digest;
use crate::wire::request::new_request_id;

/// What applying a seed did: things created, and things found as the file says.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub accounts: u64,
    pub keys: u64,
    pub endpoints: u64,
    pub payments: u64,
    pub unchanged: u64,
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} accounts, {} keys, {} webhook endpoints and {} payments created; {} found as the file says",
            self.accounts, self.keys, self.endpoints, self.payments, self.unchanged
        )
    }
}

/// Writes `seed` through `store`.
pub async fn apply(store: &dyn Store, seed: Seed) -> Result<Applied, Failure> {
    let mut applied = Applied::default();
    for account in seed.accounts {
        apply_account(store, account, &mut applied).await?;
    }
    Ok(applied)
}

async fn apply_account(store: &dyn Store, account: PlannedAccount, applied: &mut Applied) -> Result<(), Failure> {
    let now = unix_now();
    let id = account.id;
    if store.account_exists(&id).await? {
        applied.unchanged += 1;
    } else {
        store.create_account(&id, now).await?;
        applied.accounts += 1;
    }
    for (key, livemode, kind) in &account.keys {
        match store.find_key(&key_digest(key)).await? {
            Some(owner) if owner.tenant == tenant(&id, *livemode) => applied.unchanged += 1,
            Some(owner) => {
                return Err(Failure(format!(
                    "seed: key {} belongs to account {}, not {id}",
                    crate::wire::auth::mask_key(key),
                    owner.tenant.account_id
                )));
            }
            None => {
                store.create_key(&key_record(&id, key, *livemode, *kind, now)).await?;
                applied.keys += 1;
            }
        }
    }
    for endpoint in account.endpoints {
        let tenant = tenant(&id, endpoint.livemode);
        if store.get_endpoint(&tenant, &endpoint.id).await?.is_some() {
            applied.unchanged += 1;
            continue;
        }
        let endpoint_id = endpoint.id.clone();
        match store.write(write(tenant, EndpointCommand::Create(endpoint))).await? {
            WriteOutcome::Executed {
                result: EndpointOutcome::Applied(_),
                ..
            } => applied.endpoints += 1,
            other => {
                return Err(Failure(format!(
                    "seed: endpoint {endpoint_id} was not created: {other:?}"
                )));
            }
        }
    }
    for (livemode, lines) in account.payments {
        apply_payments(store, tenant(&id, livemode), lines, applied).await?;
    }
    Ok(())
}

async fn apply_payments(
    store: &dyn Store,
    tenant: Tenant,
    lines: Vec<ReadyLine>,
    applied: &mut Applied,
) -> Result<(), Failure> {
    let numbers: Vec<u64> = lines.iter().map(|l| l.line).collect();
    let payments: Vec<_> = lines.into_iter().map(|l| l.payment).collect();
    let outcomes = match store.write(write(tenant, ImportWrite::from(payments))).await? {
        WriteOutcome::Executed { result, .. } => result,
        WriteOutcome::AlreadySaved(_) => {
            return Err(Failure("seed: a payment write without a key was replayed".into()));
        }
    };
    for (line, outcome) in numbers.into_iter().zip(outcomes) {
        match outcome {
            ImportOutcome::Created => applied.payments += 1,
            ImportOutcome::Exists => applied.unchanged += 1,
            refused => return Err(Failure(format!("seed: payments[{}]: {refused:?}", line - 1))),
        }
    }
    Ok(())
}

/// A write of the seed's, as from a request without an idempotency key.
fn write<M: crate::store::Mutation>(tenant: Tenant, mutation: M) -> Write<M> {
    Write {
        tenant,
        mutation,
        idempotency: None,
        request: EventRequest {
            request_id: Some(new_request_id()),
            idempotency_key: None,
        },
        now: unix_now(),
    }
}
