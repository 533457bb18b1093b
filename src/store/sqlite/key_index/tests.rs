//! The key index against a real (in-memory) SQLite table.

use super::*;

/// Every key hashes alike: the worst case, where only the rows tell keys apart.
#[derive(Debug, Clone, Default)]
struct OneBucket;
impl BuildHasher for OneBucket {
    type Hasher = Constant;
    fn build_hasher(&self) -> Constant {
        Constant
    }
}
#[derive(Debug)]
struct Constant;
impl std::hash::Hasher for Constant {
    fn finish(&self) -> u64 {
        7
    }
    fn write(&mut self, _: &[u8]) {}
}

fn table() -> Connection {
    let conn = Connection::open_in_memory().expect("sqlite");
    conn.execute_batch(
        "CREATE TABLE idempotency_keys (account_id TEXT NOT NULL, livemode INTEGER NOT NULL, key TEXT NOT NULL, \
         fingerprint TEXT NOT NULL, request_id TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, \
         created INTEGER NOT NULL)",
    )
    .expect("schema");
    conn
}

fn save(conn: &Connection, tenant: &Tenant, key: &str, body: &str, created: i64) -> i64 {
    conn.execute(
        "INSERT INTO idempotency_keys VALUES (?1, ?2, ?3, 'f', 'req_1', 200, ?4, ?5)",
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

fn find<S: BuildHasher>(index: &KeyIndex<S>, conn: &Connection, t: &Tenant, key: &str) -> Option<String> {
    let rowids = index.candidates(index.hash(t, key));
    saved_at(conn, &rowids, t, key).expect("read").map(|s| s.response.body)
}

#[test]
fn colliding_hashes_still_find_only_their_own_key() {
    let conn = table();
    let mut index = KeyIndex::with_hasher(OneBucket);
    let (a, b) = (tenant("acct_a", false), tenant("acct_b", false));
    let live = tenant("acct_a", true);
    for (t, key, body) in [
        (&a, "k", "a-k"),
        (&b, "k", "b-k"),
        (&live, "k", "live-k"),
        (&a, "other", "a-other"),
    ] {
        let rowid = save(&conn, t, key, body, 100);
        let hash = index.hash(t, key);
        index.publish([KeyEntry {
            hash,
            rowid,
            created: 100,
        }]);
    }
    assert_eq!(find(&index, &conn, &a, "k").as_deref(), Some("a-k"));
    assert_eq!(find(&index, &conn, &b, "k").as_deref(), Some("b-k"));
    assert_eq!(find(&index, &conn, &live, "k").as_deref(), Some("live-k"));
    assert_eq!(find(&index, &conn, &a, "other").as_deref(), Some("a-other"));
    assert_eq!(find(&index, &conn, &b, "other"), None);
}

#[test]
fn the_newest_row_of_a_key_wins_and_expired_entries_are_forgotten() {
    let conn = table();
    let mut index = KeyIndex::new();
    let t = tenant("acct_a", false);
    for (body, created) in [("old", 100), ("new", 200)] {
        let rowid = save(&conn, &t, "k", body, created);
        let hash = index.hash(&t, "k");
        index.publish([KeyEntry { hash, rowid, created }]);
    }
    assert_eq!(find(&index, &conn, &t, "k").as_deref(), Some("new"));
    index.forget_created_before(150);
    assert_eq!(index.entries(), 1);
    index.forget_created_before(250);
    assert_eq!(index.entries(), 0);
}

#[test]
fn a_slot_stays_small() {
    assert!(std::mem::size_of::<Slot>() <= 24, "{}", std::mem::size_of::<Slot>());
}

#[test]
fn load_rebuilds_the_index_from_the_table() {
    let conn = table();
    let t = tenant("acct_a", false);
    save(&conn, &t, "k1", "one", 100);
    save(&conn, &t, "k2", "two", 100);
    let mut index = KeyIndex::new();
    index.load(&conn).expect("load");
    assert_eq!(index.entries(), 2);
    assert_eq!(find(&index, &conn, &t, "k2").as_deref(), Some("two"));
}

#[test]
fn a_rowid_that_now_holds_another_key_is_not_a_match() {
    let conn = table();
    let mut index = KeyIndex::new();
    let t = tenant("acct_a", false);
    let rowid = save(&conn, &t, "k", "mine", 100);
    let hash = index.hash(&t, "k");
    index.publish([KeyEntry {
        hash,
        rowid,
        created: 100,
    }]);
    conn.execute("DELETE FROM idempotency_keys", []).expect("prune");
    save(&conn, &t, "someone-else", "theirs", 300);
    assert_eq!(find(&index, &conn, &t, "k"), None);
}
