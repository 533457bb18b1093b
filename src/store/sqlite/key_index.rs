//! Where each saved idempotent result lives, in memory: a keyed hash of (account, mode, key) →
//! the rowids of `idempotency_keys` rows that may hold it, in about 6.6 bytes per live key.
//!
//! Why not a unique index in SQLite: keys are random (the SDKs send UUIDs), so each new key
//! dirties its own leaf page of the index, one 4 KiB WAL page per keyed request. Measured: with
//! the index a keyed report_payment was 23% slower than an unkeyed one, without it 8%
//! (docs/decisions.md). The rows themselves are appended in rowid order.
//!
//! The index is a cache of the database: its persisted form is `key_log` (the hashes of each
//! run of keyed writes, appended in the same transaction as the rows), so a restart reloads it
//! without reading the rows. A candidate rowid is only a hint: the row is read and its account,
//! mode and key compared. Uniqueness holds because one writer thread per database claims and
//! saves keys (`payrec serve` locks the file, and no other command writes this table).
//!
//! Layout: keys are kept in generations of `GENERATION_SLOTS` slots, filled in rowid order and
//! never resized (a full generation is sealed and a new one started). Expiry follows rowid order
//! too, so pruning drops whole old generations. A slot is a 16-bit tag and a 32-bit offset from
//! its generation's first rowid (0: empty), side by side, found by linear probing from the hash.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{SavedIdempotent, SavedResponse, Tenant};

/// Slots of one generation: 6 MiB each, 8 MiB of address space per million keys at worst.
pub const GENERATION_SLOTS: usize = 1 << 20;
/// Keys a generation takes before it is sealed: at most 7/8 full, so probes stay short.
pub const GENERATION_KEYS_MAX: usize = GENERATION_SLOTS / 8 * 7;
const _: () = assert!(GENERATION_SLOTS.is_power_of_two());

/// One saved result's place: the hash of its key and its rowid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyEntry {
    pub hash: u64,
    pub rowid: i64,
}

/// A keyed hash of (account, mode, key): SipHash-1-3 under a secret kept in the database, so it
/// is stable across restarts (the log stores it) and clients cannot aim keys at one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHasher {
    k0: u64,
    k1: u64,
}

impl KeyHasher {
    pub fn new(k0: u64, k1: u64) -> Self {
        KeyHasher { k0, k1 }
    }

    pub fn hash(&self, tenant: &Tenant, key: &str) -> u64 {
        use std::hash::Hasher;
        let mut h = siphasher::sip::SipHasher13::new_with_keys(self.k0, self.k1);
        h.write(tenant.account_id.as_bytes());
        h.write_u8(0xff);
        h.write_u8(u8::from(tenant.livemode));
        h.write(key.as_bytes());
        h.finish()
    }
}

/// A slot: a 16-bit tag and a 32-bit offset, little-endian, side by side so that a probe touches
/// one cache line.
type Slot = [u8; 6];

#[derive(Debug)]
struct Generation {
    /// Rowid of its first key; offsets count from here (+1, so 0 marks an empty slot).
    base: i64,
    /// Rowid of its newest key.
    last: i64,
    keys: usize,
    slots: Box<[Slot]>,
}

fn tag_at(slot: &Slot) -> u16 {
    u16::from_le_bytes([slot[0], slot[1]])
}

fn offset_at(slot: &Slot) -> u32 {
    u32::from_le_bytes([slot[2], slot[3], slot[4], slot[5]])
}

fn slot_of(hash: u64) -> usize {
    (hash as usize) & (GENERATION_SLOTS - 1)
}

fn tag_of(hash: u64) -> u16 {
    (hash >> 48) as u16
}

impl Generation {
    fn new(base: i64) -> Self {
        Generation {
            base,
            last: base,
            keys: 0,
            slots: vec![[0; 6]; GENERATION_SLOTS].into_boxed_slice(),
        }
    }

    /// Whether it takes `rowid` (its offset fits and it has room).
    fn takes(&self, rowid: i64) -> bool {
        self.keys < GENERATION_KEYS_MAX && rowid >= self.base && rowid - self.base < i64::from(u32::MAX)
    }

    fn insert(&mut self, entry: KeyEntry) {
        debug_assert!(self.takes(entry.rowid));
        let mut slot = slot_of(entry.hash);
        while offset_at(&self.slots[slot]) != 0 {
            slot = (slot + 1) & (GENERATION_SLOTS - 1);
        }
        let offset = (entry.rowid - self.base + 1) as u32;
        self.slots[slot][..2].copy_from_slice(&tag_of(entry.hash).to_le_bytes());
        self.slots[slot][2..].copy_from_slice(&offset.to_le_bytes());
        self.keys += 1;
        self.last = self.last.max(entry.rowid);
    }

    /// Rowids whose tag matches, in probe order.
    fn candidates(&self, hash: u64, out: &mut Vec<i64>) {
        let tag = tag_of(hash);
        let mut slot = slot_of(hash);
        loop {
            let offset = offset_at(&self.slots[slot]);
            if offset == 0 {
                return;
            }
            if tag_at(&self.slots[slot]) == tag {
                out.push(self.base + i64::from(offset) - 1);
            }
            slot = (slot + 1) & (GENERATION_SLOTS - 1);
        }
    }
}

#[derive(Debug)]
pub struct KeyIndex {
    hasher: KeyHasher,
    /// Oldest first.
    generations: Vec<Generation>,
}

impl KeyIndex {
    pub fn new(hasher: KeyHasher) -> Self {
        KeyIndex {
            hasher,
            generations: Vec::new(),
        }
    }

    pub fn hash(&self, tenant: &Tenant, key: &str) -> u64 {
        self.hasher.hash(tenant, key)
    }

    pub fn hasher(&self) -> KeyHasher {
        self.hasher
    }

    /// Rowids that may hold `hash`, newest first.
    pub fn candidates(&self, hash: u64) -> Vec<i64> {
        let mut out = Vec::new();
        for generation in self.generations.iter().rev() {
            generation.candidates(hash, &mut out);
        }
        out.sort_unstable_by(|a, b| b.cmp(a));
        out
    }

    /// Adds entries of committed rows, in rowid order.
    pub fn publish(&mut self, entries: impl IntoIterator<Item = KeyEntry>) {
        for entry in entries {
            if !self.generations.last().is_some_and(|g| g.takes(entry.rowid)) {
                self.generations.push(Generation::new(entry.rowid));
            }
            self.generations.last_mut().expect("a generation").insert(entry);
        }
    }

    /// Forgets the generations whose every row is before `first_live` (pruned, or about to be).
    pub fn forget_before(&mut self, first_live: i64) {
        self.generations.retain(|g| g.last >= first_live);
    }

    /// Keys held (for the start-up log and tests).
    pub fn entries(&self) -> usize {
        self.generations.iter().map(|g| g.keys).sum()
    }

    /// Generations held: each is `GENERATION_SLOTS` × 6 bytes.
    pub fn generations(&self) -> usize {
        self.generations.len()
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
                        body: stored_body(r, 3)?,
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

/// A saved body: LZ4 as a blob (`SavedResponse::packed_body`), or text as saved before it was
/// packed (the column's type stays TEXT: SQLite keeps a blob in it as a blob).
fn stored_body(r: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<String> {
    match r.get_ref(column)? {
        rusqlite::types::ValueRef::Blob(packed) => crate::store::idempotency::unpack_body(packed)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Blob, Box::new(e))),
        _ => r.get(column),
    }
}

#[cfg(test)]
mod tests;
