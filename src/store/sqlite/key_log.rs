//! The key index's persisted form: the keyed hash of every saved idempotency key, in chunks of
//! up to `CHUNK_KEYS` consecutive keyed writes (`idempotency_key_hashes`). The writer extends the
//! last chunk in the transaction that saves the keys (one small row rewritten per batch), so the
//! log and the rows commit together. At start the index is rebuilt from the chunks: 12 bytes per
//! key instead of the whole saved response.

use rand::Rng;
use rusqlite::{Connection, OptionalExtension, params};

use super::key_index::{KeyEntry, KeyHasher, KeyIndex};
use crate::store::Tenant;

/// Keys per chunk row: a chunk stays within one 4 KiB page.
pub const CHUNK_KEYS: usize = 256;
const ENTRY_BYTES: usize = 12;
const _: () = assert!(CHUNK_KEYS * ENTRY_BYTES < 4000);

/// The chunk the writer extends next, with its entries so far (it is rewritten whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    first_rowid: i64,
    bytes: Vec<u8>,
}

impl Cursor {
    fn keys(&self) -> usize {
        self.bytes.len() / ENTRY_BYTES
    }
}

/// The log as the writer extends it.
#[derive(Debug)]
pub struct KeyLog {
    cursor: Option<Cursor>,
}

fn encode(first_rowid: i64, entries: &[KeyEntry], bytes: &mut Vec<u8>) {
    for e in entries {
        let offset = u32::try_from(e.rowid - first_rowid).expect("a chunk spans less than 2^32 rowids");
        bytes.extend_from_slice(&offset.to_le_bytes());
        bytes.extend_from_slice(&e.hash.to_le_bytes());
    }
}

fn decode(first_rowid: i64, bytes: &[u8]) -> impl Iterator<Item = KeyEntry> + '_ {
    bytes.chunks_exact(ENTRY_BYTES).map(move |e| KeyEntry {
        rowid: first_rowid + i64::from(u32::from_le_bytes(e[..4].try_into().expect("4 bytes"))),
        hash: u64::from_le_bytes(e[4..].try_into().expect("8 bytes")),
    })
}

/// The database's hash secret, made on first use.
fn hasher(conn: &Connection) -> rusqlite::Result<KeyHasher> {
    let found: Option<(i64, i64)> = conn
        .query_row("SELECT k0, k1 FROM idempotency_hash_secret WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let (k0, k1) = match found {
        Some(keys) => keys,
        None => {
            let mut rng = rand::rng();
            let keys = (rng.random::<i64>(), rng.random::<i64>());
            conn.execute(
                "INSERT INTO idempotency_hash_secret (id, k0, k1) VALUES (1, ?1, ?2)",
                params![keys.0, keys.1],
            )?;
            keys
        }
    };
    Ok(KeyHasher::new(k0 as u64, k1 as u64))
}

impl KeyLog {
    /// The index of every saved key, and the log to extend. Keys saved before the log existed
    /// (a database made by an earlier build) are logged first, from their rows.
    pub fn open(conn: &Connection) -> rusqlite::Result<(KeyIndex, KeyLog)> {
        let mut index = KeyIndex::new(hasher(conn)?);
        let mut log = KeyLog { cursor: None };
        let mut chunks =
            conn.prepare("SELECT first_rowid, entries FROM idempotency_key_hashes ORDER BY first_rowid")?;
        let mut rows = chunks.query([])?;
        let mut logged_until = 0;
        while let Some(row) = rows.next()? {
            let first_rowid: i64 = row.get(0)?;
            let bytes = row.get_ref(1)?.as_blob()?;
            let entries: Vec<KeyEntry> = decode(first_rowid, bytes).collect();
            logged_until = entries.last().map_or(logged_until, |e| e.rowid);
            log.cursor = Some(Cursor {
                first_rowid,
                bytes: bytes.to_vec(),
            });
            index.publish(entries);
        }
        // Keys saved before the log existed: logged and indexed in runs, so an upgraded
        // database of any size is read once, in constant memory (one transaction).
        let tx = conn.unchecked_transaction()?;
        let mut stmt = tx
            .prepare("SELECT rowid, account_id, livemode, key FROM idempotency_keys WHERE rowid > ?1 ORDER BY rowid")?;
        let mut rows = stmt.query([logged_until])?;
        let mut run = Vec::with_capacity(CHUNK_KEYS);
        loop {
            let row = rows.next()?;
            if let Some(row) = row {
                let tenant = Tenant {
                    account_id: row.get(1)?,
                    livemode: row.get(2)?,
                };
                let key: String = row.get(3)?;
                run.push(KeyEntry {
                    rowid: row.get(0)?,
                    hash: index.hash(&tenant, &key),
                });
            }
            if run.len() == CHUNK_KEYS || (row.is_none() && !run.is_empty()) {
                log.append(conn, &run)?;
                index.publish(run.drain(..));
            }
            if row.is_none() {
                break;
            }
        }
        drop(rows);
        drop(stmt);
        tx.commit()?;
        Ok((index, log))
    }

    /// Where the next append goes: kept before a batch, put back if its commit fails.
    pub fn cursor(&self) -> Option<Cursor> {
        self.cursor.clone()
    }

    pub fn restore(&mut self, cursor: Option<Cursor>) {
        self.cursor = cursor;
    }

    /// Logs `entries` (in rowid order) inside the caller's open transaction.
    pub fn append(&mut self, conn: &Connection, mut entries: &[KeyEntry]) -> rusqlite::Result<()> {
        while let Some(first) = entries.first() {
            let mut cursor = match self.cursor.take() {
                Some(c) if c.keys() < CHUNK_KEYS && first.rowid - c.first_rowid < i64::from(u32::MAX) => c,
                _ => Cursor {
                    first_rowid: first.rowid,
                    bytes: Vec::with_capacity(CHUNK_KEYS * ENTRY_BYTES),
                },
            };
            let taken = (CHUNK_KEYS - cursor.keys()).min(entries.len());
            let (now, rest) = entries.split_at(taken);
            let started = cursor.keys() == 0;
            encode(cursor.first_rowid, now, &mut cursor.bytes);
            let last = now.last().expect("at least one entry").rowid;
            let rewritten = if started {
                0
            } else {
                conn.prepare_cached(
                    "UPDATE idempotency_key_hashes SET entries = ?1, last_rowid = ?2 WHERE first_rowid = ?3",
                )?
                .execute(params![cursor.bytes, last, cursor.first_rowid])?
            };
            if rewritten == 0 {
                // A new chunk, or the last one was pruned away: (re)insert it whole.
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO idempotency_key_hashes (first_rowid, last_rowid, entries) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![cursor.first_rowid, last, cursor.bytes])?;
            }
            self.cursor = Some(cursor);
            entries = rest;
        }
        Ok(())
    }
}

/// Deletes the chunks whose every key is before `first_live` (their rows are pruned).
pub fn prune(conn: &Connection, first_live: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM idempotency_key_hashes WHERE last_rowid < ?1", [first_live])
}
