//! Where each saved idempotent result lives, in memory: a hash of (account, mode, key) → the
//! rowids of `idempotency_keys` rows that may hold it.
//!
//! Why not a unique index in SQLite: keys are random (the SDKs send UUIDs), so each new key
//! dirtied its own leaf page of the index, and every group commit wrote one more 4 KiB page to the
//! WAL per keyed request. Measured: with the index a keyed report_payment was 24–36% slower than
//! an unkeyed one; without it 8–16% (BENCHMARKS.md). The rows themselves are appended in rowid
//! order, so they cost a share of the pages the batch writes anyway.
//!
//! The table stays the truth: this index is rebuilt from it at start, a candidate rowid is only
//! a hint (the row is read and its account, mode and key compared), and uniqueness holds because
//! one writer thread per database claims and saves keys (`payrec serve` locks the file, and no
//! other command writes this table). New entries are published after their batch commits and
//! before any reply, so a retry never misses a key whose response it could have seen.

use std::collections::HashMap;
use std::hash::BuildHasher;

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{SavedIdempotent, SavedResponse, Tenant};

/// One saved result's place: its rowid and creation time (the latter only to drop expired
/// entries from memory; decisions read `created` from the row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyEntry {
    pub hash: u64,
    pub rowid: i64,
    pub created: i64,
}

/// A row's place in memory: its rowid and creation second (u32 until 2106; only used to drop
/// expired entries).
type Place = (i64, u32);

fn creation_second(created: i64) -> u32 {
    u32::try_from(created.max(0)).unwrap_or(u32::MAX)
}

/// The rows of one hash. Almost always one, kept inline (a bucket is 32 bytes with its hash, so a
/// live key costs ~40 bytes of memory); more after a hash collision or when an expired key was taken over
/// by a new request (the old row waits for the pruner).
#[derive(Debug)]
enum Slot {
    One(Place),
    /// Oldest first.
    Many(Vec<Place>),
}

#[derive(Debug)]
pub struct KeyIndex<S = std::collections::hash_map::RandomState> {
    /// Randomly seeded per process, so clients cannot aim keys at one bucket.
    hasher: S,
    slots: HashMap<u64, Slot>,
}

impl KeyIndex {
    pub fn new() -> Self {
        KeyIndex::with_hasher(std::collections::hash_map::RandomState::new())
    }
}

impl Default for KeyIndex {
    fn default() -> Self {
        KeyIndex::new()
    }
}

impl<S: BuildHasher> KeyIndex<S> {
    pub fn with_hasher(hasher: S) -> Self {
        KeyIndex {
            hasher,
            slots: HashMap::new(),
        }
    }

    pub fn hash(&self, tenant: &Tenant, key: &str) -> u64 {
        self.hasher.hash_one((tenant.account_id.as_str(), tenant.livemode, key))
    }

    /// Rowids that may hold `hash`, newest first.
    pub fn candidates(&self, hash: u64) -> Vec<i64> {
        match self.slots.get(&hash) {
            None => Vec::new(),
            Some(Slot::One((rowid, _))) => vec![*rowid],
            Some(Slot::Many(places)) => places.iter().rev().map(|&(rowid, _)| rowid).collect(),
        }
    }

    /// Adds entries of committed rows.
    pub fn publish(&mut self, entries: impl IntoIterator<Item = KeyEntry>) {
        for e in entries {
            let place = (e.rowid, creation_second(e.created));
            match self.slots.remove(&e.hash) {
                None => self.slots.insert(e.hash, Slot::One(place)),
                Some(Slot::One(first)) => self.slots.insert(e.hash, Slot::Many(vec![first, place])),
                Some(Slot::Many(mut places)) => {
                    places.push(place);
                    self.slots.insert(e.hash, Slot::Many(places))
                }
            };
        }
    }

    /// Forgets entries created before `cutoff` (their rows are pruned or about to be).
    pub fn forget_created_before(&mut self, cutoff: i64) {
        let cutoff = creation_second(cutoff);
        self.slots.retain(|_, slot| match slot {
            Slot::One((_, created)) => *created >= cutoff,
            Slot::Many(places) => {
                places.retain(|&(_, created)| created >= cutoff);
                !places.is_empty()
            }
        });
        self.slots.shrink_to_fit();
    }

    /// Entries held (for the start-up log and tests).
    pub fn entries(&self) -> usize {
        self.slots
            .values()
            .map(|slot| match slot {
                Slot::One(_) => 1,
                Slot::Many(places) => places.len(),
            })
            .sum()
    }

    /// Rebuilds the index from the table (at start).
    pub fn load(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let mut stmt =
            conn.prepare("SELECT rowid, account_id, livemode, key, created FROM idempotency_keys ORDER BY rowid")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let tenant = Tenant {
                account_id: row.get(1)?,
                livemode: row.get(2)?,
            };
            let key: String = row.get(3)?;
            let entry = KeyEntry {
                hash: self.hash(&tenant, &key),
                rowid: row.get(0)?,
                created: row.get(4)?,
            };
            self.publish([entry]);
        }
        Ok(())
    }
}

/// The newest saved result of `key` among `rowids` (newest first), read from the table.
pub fn saved_at(
    conn: &Connection,
    rowids: &[i64],
    tenant: &Tenant,
    key: &str,
) -> rusqlite::Result<Option<SavedIdempotent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT fingerprint, request_id, status, body, created FROM idempotency_keys \
         WHERE rowid = ?1 AND account_id = ?2 AND livemode = ?3 AND key = ?4",
    )?;
    for &rowid in rowids {
        let found = stmt
            .query_row(params![rowid, tenant.account_id, tenant.livemode, key], |r| {
                Ok(SavedIdempotent {
                    fingerprint: r.get(0)?,
                    request_id: r.get(1)?,
                    response: SavedResponse {
                        status: r.get::<_, i64>(2)? as u16,
                        body: r.get(3)?,
                    },
                    created: r.get(4)?,
                })
            })
            .optional()?;
        if let Some(saved) = found {
            return Ok(Some(saved));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
