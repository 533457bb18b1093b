-- The persisted form of the in-memory idempotency key index (src/store/sqlite/key_log.rs):
-- the keyed hash of every saved key, by runs of consecutive keyed writes, appended in the
-- transaction that saves the keys. A restart reloads the index from here (a few hundred
-- bytes read per 256 keys) instead of reading every saved response.
CREATE TABLE idempotency_key_hashes (
    first_rowid INTEGER PRIMARY KEY, -- rowid in idempotency_keys of the run's first key
    last_rowid  INTEGER NOT NULL,    -- and of its last
    entries     BLOB    NOT NULL     -- per key: rowid - first_rowid (u32 LE), hash (u64 LE)
);

-- The key of the hash: random per database, so clients cannot aim keys at one slot.
CREATE TABLE idempotency_hash_secret (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    k0 INTEGER NOT NULL,
    k1 INTEGER NOT NULL
);
