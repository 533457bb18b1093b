//! `payrec keys create | list | revoke`.

use super::args::ServeArgs;
use super::args::{KeysCommand, Permission};
use super::{Failure, new_account_id, open_store};
use crate::clock::unix_now;
use crate::store::{Store, Tenant};
use crate::wire::auth::{KeyKind, generate_key_of};

/// `payrec keys …`.
pub async fn keys(database_url: &str, command: &KeysCommand) -> Result<(), Failure> {
    let store = open_store(database_url, &ServeArgs::default()).await?;
    match command {
        KeysCommand::Create {
            live,
            restricted,
            account,
        } => {
            let kind = match restricted {
                Some(Permission::Read) => KeyKind::RestrictedRead,
                None => KeyKind::Secret,
            };
            create_key(store.as_ref(), kind, *live, account.as_deref()).await
        }
        KeysCommand::List => {
            let keys = store.list_keys().await?;
            println!(
                "{:<22} {:<22} {:<5} {:<16} {:<20} {:<8}",
                "KEY ID", "ACCOUNT", "MODE", "TYPE", "KEY", "STATUS"
            );
            for k in keys {
                let status = if k.revoked_at.is_some() { "revoked" } else { "active" };
                let mode = if k.livemode { "live" } else { "test" };
                let shown = format!("{}…{}", k.prefix, k.last4);
                let kind = match KeyKind::of_prefix(&k.prefix) {
                    KeyKind::Secret => "secret",
                    KeyKind::RestrictedRead => "restricted read",
                };
                println!(
                    "{:<22} {:<22} {:<5} {:<16} {:<20} {:<8}",
                    k.key_id, k.account_id, mode, kind, shown, status
                );
            }
            Ok(())
        }
        KeysCommand::Revoke { key_id } => {
            if store.revoke_key(key_id, unix_now()).await? {
                println!("revoked {key_id}");
                Ok(())
            } else {
                Err(Failure(format!(
                    "no active key with id {key_id} (see `payrec keys list`)"
                )))
            }
        }
    }
}

async fn create_key(store: &dyn Store, kind: KeyKind, live: bool, account: Option<&str>) -> Result<(), Failure> {
    let now = unix_now();
    let account_id = match account {
        Some(id) if store.account_exists(id).await? => id.to_owned(),
        Some(id) => return Err(Failure(format!("no account {id} (see `payrec keys list`)"))),
        None => default_account(store, now).await?,
    };
    let key = generate_key_of(
        kind,
        Tenant {
            account_id: account_id.clone(),
            livemode: live,
        },
        now,
    );
    store.create_key(&key.stored).await?;
    println!(
        "created {} for account {account_id}; shown only this once:",
        key.stored.key_id
    );
    println!("{}", key.secret);
    Ok(())
}

/// The only account, or a new one on an empty database.
async fn default_account(store: &dyn Store, now: i64) -> Result<String, Failure> {
    let keys = store.list_keys().await?;
    let mut accounts: Vec<&str> = keys.iter().map(|k| k.account_id.as_str()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    match accounts.as_slice() {
        [] if store.count_accounts().await? == 0 => {
            let id = new_account_id();
            store.create_account(&id, now).await?;
            Ok(id)
        }
        [only] => Ok((*only).to_owned()),
        _ => Err(Failure("several accounts exist: pass --account acct_…".into())),
    }
}
