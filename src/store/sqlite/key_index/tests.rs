//! The key index and its log against a real (in-memory) SQLite database with the real schema.

use super::*;
use crate::store::sqlite::key_log::{CHUNK_KEYS, KeyLog, prune};
use crate::store::sqlite::migrate;

fn database() -> Connection {
    let mut conn = Connection::open_in_memory().expect("sqlite");
    migrate::run(&mut conn).expect("schema");
    conn
}

fn save(conn: &Connection, tenant: &Tenant, key: &str, body: &str, created: i64) -> i64 {
    conn.execute(
        "INSERT INTO idempotency_keys (account_id, livemode, key, fingerprint, request_id, status, body, created) \
         VALUES (?1, ?2, ?3, 'f', 'req_1', 200, ?4, ?5)",
        params![tenant.account_id, tenant.livemode, key, body, created],
    )
    .expect("insert");
    conn.last_insert_rowid()
}

fn tenant(account: &str, livemode: bool) -> Tenant {
    Tenant {
        account_id: account.into(),
        livemode,
    }
}

fn find(index: &KeyIndex, conn: &Connection, t: &Tenant, key: &str) -> Option<String> {
    let rowids = index.candidates(index.hash(t, key));
    saved_at(conn, &rowids, t, key).expect("read").map(|s| s.response.body)
}

/// Saves `key` and indexes it as the writer does.
fn save_indexed(index: &mut KeyIndex, conn: &Connection, t: &Tenant, key: &str, body: &str) -> KeyEntry {
    let entry = KeyEntry {
        hash: index.hash(t, key),
        rowid: save(conn, t, key, body, 100),
    };
    index.publish([entry]);
    entry
}

#[test]
fn colliding_hashes_still_find_only_their_own_key() {
    let conn = database();
    let mut index = KeyIndex::new(KeyHasher::new(1, 2));
    let (a, b, live) = (tenant("acct_a", false), tenant("acct_b", false), tenant("acct_a", true));
    // Every row under one hash: the worst case, where only the rows tell keys apart.
    for (t, key, body) in [
        (&a, "k", "a-k"),
        (&b, "k", "b-k"),
        (&live, "k", "live-k"),
        (&a, "other", "a-other"),
    ] {
        let rowid = save(&conn, t, key, body, 100);
        index.publish([KeyEntry { hash: 7, rowid }]);
    }
    let at = |t: &Tenant, key: &str| {
        saved_at(&conn, &index.candidates(7), t, key)
            .unwrap()
            .map(|s| s.response.body)
    };
    assert_eq!(at(&a, "k").as_deref(), Some("a-k"));
    assert_eq!(at(&b, "k").as_deref(), Some("b-k"));
    assert_eq!(at(&live, "k").as_deref(), Some("live-k"));
    assert_eq!(at(&a, "other").as_deref(), Some("a-other"));
    assert_eq!(at(&b, "other"), None);
}

#[test]
fn the_newest_row_of_a_key_wins() {
    let conn = database();
    let mut index = KeyIndex::new(KeyHasher::new(1, 2));
    let t = tenant("acct_a", false);
    save_indexed(&mut index, &conn, &t, "k", "old");
    save_indexed(&mut index, &conn, &t, "k", "new");
    assert_eq!(find(&index, &conn, &t, "k").as_deref(), Some("new"));
}

#[test]
fn full_generations_are_sealed_and_pruning_drops_whole_old_ones() {
    let mut index = KeyIndex::new(KeyHasher::new(3, 4));
    let t = tenant("acct_a", false);
    let total = GENERATION_KEYS_MAX + 10;
    let hasher = index.hasher();
    index.publish((0..total).map(|i| KeyEntry {
        hash: hasher.hash(&t, &format!("key-{i}")),
        rowid: i as i64 + 1,
    }));
    assert_eq!((index.entries(), index.generations()), (total, 2));
    for i in [0, GENERATION_KEYS_MAX - 1, GENERATION_KEYS_MAX, total - 1] {
        let rowids = index.candidates(index.hash(&t, &format!("key-{i}")));
        assert!(rowids.contains(&(i as i64 + 1)), "key-{i} in {rowids:?}");
    }
    index.forget_before(GENERATION_KEYS_MAX as i64);
    assert_eq!(index.generations(), 2, "the first generation still holds a live row");
    index.forget_before(GENERATION_KEYS_MAX as i64 + 1);
    assert_eq!((index.entries(), index.generations()), (10, 1));
}

#[test]
fn a_generation_costs_six_bytes_a_slot() {
    let generation = Generation::new(1);
    let bytes = size_of_val(&*generation.slots);
    assert_eq!(bytes, GENERATION_SLOTS * 6);
}

#[test]
fn a_rowid_that_now_holds_another_key_is_not_a_match() {
    let conn = database();
    let mut index = KeyIndex::new(KeyHasher::new(1, 2));
    let t = tenant("acct_a", false);
    save_indexed(&mut index, &conn, &t, "k", "mine");
    conn.execute("DELETE FROM idempotency_keys", []).expect("prune");
    save(&conn, &t, "someone-else", "theirs", 300);
    assert_eq!(find(&index, &conn, &t, "k"), None);
}

#[test]
fn the_log_rebuilds_the_index_across_chunks_and_keeps_its_secret() {
    let conn = database();
    let (mut index, mut log) = KeyLog::open(&conn).expect("open");
    let t = tenant("acct_a", false);
    let mut entries = Vec::new();
    for i in 0..CHUNK_KEYS + 3 {
        let key = format!("k{i}");
        entries.push(KeyEntry {
            hash: index.hash(&t, &key),
            rowid: save(&conn, &t, &key, &format!("body-{i}"), 100),
        });
    }
    // Two appends, as two batches would: the first fills a chunk and starts another.
    log.append(&conn, &entries[..CHUNK_KEYS - 1]).expect("append");
    log.append(&conn, &entries[CHUNK_KEYS - 1..]).expect("append");
    index.publish(entries.iter().copied());
    let chunks: i64 = conn
        .query_row("SELECT COUNT(*) FROM idempotency_key_hashes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(chunks, 2);
    let (reloaded, _) = KeyLog::open(&conn).expect("reopen");
    assert_eq!(reloaded.hasher(), index.hasher(), "the secret is the database's");
    assert_eq!(reloaded.entries(), CHUNK_KEYS + 3);
    for i in [0, CHUNK_KEYS, CHUNK_KEYS + 2] {
        let body = find(&reloaded, &conn, &t, &format!("k{i}"));
        assert_eq!(body, Some(format!("body-{i}")));
    }
}

#[test]
fn keys_saved_before_the_log_existed_are_logged_at_open() {
    let conn = database();
    let t = tenant("acct_a", false);
    save(&conn, &t, "old-1", "one", 100);
    save(&conn, &t, "old-2", "two", 100);
    let (index, _) = KeyLog::open(&conn).expect("open");
    assert_eq!(index.entries(), 2);
    assert_eq!(find(&index, &conn, &t, "old-2").as_deref(), Some("two"));
    let (again, _) = KeyLog::open(&conn).expect("reopen");
    assert_eq!(again.entries(), 2, "logged once, not twice");
}

#[test]
fn pruning_deletes_the_chunks_before_the_first_live_row() {
    let conn = database();
    let (index, mut log) = KeyLog::open(&conn).expect("open");
    let t = tenant("acct_a", false);
    let mut entries = Vec::new();
    for i in 0..2 * CHUNK_KEYS {
        let key = format!("k{i}");
        entries.push(KeyEntry {
            hash: index.hash(&t, &key),
            rowid: save(&conn, &t, &key, "b", 100),
        });
    }
    log.append(&conn, &entries).expect("append");
    let first_of_second = entries[CHUNK_KEYS].rowid;
    assert_eq!(prune(&conn, first_of_second).expect("prune"), 1);
    assert_eq!(prune(&conn, first_of_second).expect("prune"), 0);
}
