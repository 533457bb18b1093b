//! Documents written by an earlier build read back unchanged. tests/fixtures/stored/ holds what
//! make_fixtures.py recorded from a real server (see its docstring): a SQLite file, a pg_dump of
//! a PostgreSQL schema, and the API's answers at the time. This build must open both databases
//! (migrating them if it needs to) and answer exactly the same: every object and list, and every
//! saved idempotent response, replayed. A change of the stored format comes with a migration.

use std::path::Path;
use std::time::Duration;

use crate::common::{Api, Auth, Existing, TestServer, postgres_schema};
use payrec::ServerConfig;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stored");
/// The schema the PostgreSQL dump was taken from.
const FIXTURE_SCHEMA: &str = "payrec_fixture";
/// Longer than the fixture will ever be old: its saved idempotent results were saved on
/// 2026-12-01 and must still replay.
const RETENTION: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// What the API answered when the fixture was made.
#[derive(Debug, Deserialize)]
struct Answers {
    calls: Vec<Call>,
    reads: Vec<Read>,
}

/// A POST the fixture made, and its answer.
#[derive(Debug, Deserialize)]
struct Call {
    path: String,
    form: Vec<(String, String)>,
    mode: Mode,
    idempotency_key: Option<String>,
    status: u16,
    body: Value,
}

/// A GET of an object or a list, and its body.
#[derive(Debug, Deserialize)]
struct Read {
    path: String,
    query: Vec<(String, String)>,
    mode: Mode,
    body: Value,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Test,
    Live,
}

fn answers(backend: &str) -> Answers {
    let path = Path::new(FIXTURES).join(format!("{backend}.json"));
    let text = std::fs::read_to_string(&path).expect("read the fixture's answers");
    serde_json::from_str(&text).expect("the fixture's answers parse")
}

fn config() -> ServerConfig {
    ServerConfig {
        idempotency_retention: RETENTION,
        // The fixture's answers include expansions Stripe does not have.
        extensions: true,
        ..ServerConfig::default()
    }
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The server's key for `mode`, sent as the fixture sent its own.
fn auth(server: &TestServer, mode: Mode) -> Auth {
    match mode {
        Mode::Test => Auth::Basic(server.test_key.clone()),
        Mode::Live => Auth::Basic(server.live_key.clone()),
    }
}

/// The migrations are current, every read answers as it did, and every keyed call replays
/// its saved answer.
async fn assert_reads_back_unchanged(server: &TestServer, answers: &Answers) {
    let ready = server.readyz().await;
    assert_eq!(ready.status, 200, "migrations are current: {}", ready.body);
    assert!(answers.reads.len() > 20, "the fixture reads every object and list");
    for read in &answers.reads {
        let query = pairs(&read.query);
        let r = server
            .request(Method::GET, &read.path, auth(server, read.mode), &query, &[])
            .await;
        let at = format!("GET {} {:?} ({:?})", read.path, read.query, read.mode);
        assert_eq!(r.status, 200, "{at}: {}", r.body);
        assert_eq!(r.json, read.body, "{at}");
    }
    let keyed: Vec<&Call> = answers.calls.iter().filter(|c| c.idempotency_key.is_some()).collect();
    assert!(keyed.len() >= 8, "the fixture saved idempotent results");
    for call in keyed {
        let key = call.idempotency_key.as_deref().expect("keyed");
        let headers = [("Idempotency-Key", key)];
        let auth = auth(server, call.mode);
        let r = server
            .request(Method::POST, &call.path, auth, &pairs(&call.form), &headers)
            .await;
        let at = format!("POST {} under {key} ({:?})", call.path, call.mode);
        assert_eq!(r.header("idempotent-replayed"), Some("true"), "{at}: {}", r.body);
        assert_eq!(r.status, call.status, "{at}: {}", r.body);
        assert_eq!(r.json, call.body, "{at}");
    }
}

/// The dump as SQL for the schema `schema`: without psql's meta-commands (`\restrict`) and
/// its `CREATE SCHEMA` (the harness made the schema), every name moved to `schema`.
fn dump_for(schema: &str) -> String {
    let dump = std::fs::read_to_string(Path::new(FIXTURES).join("postgres.sql")).expect("read the dump");
    let create = format!("CREATE SCHEMA {FIXTURE_SCHEMA};");
    dump.lines()
        .filter(|line| !line.starts_with('\\') && line.trim() != create)
        .map(|line| line.replace(FIXTURE_SCHEMA, schema))
        .collect::<Vec<_>>()
        .join("\n")
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn documents_written_by_an_earlier_build_read_back_unchanged() {
        let file = Path::new(FIXTURES).join("sqlite.db");
        let server = TestServer::start_on_existing(Existing::SqliteCopy(&file), config()).await;
        assert_reads_back_unchanged(&server, &answers("sqlite")).await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
    async fn documents_written_by_an_earlier_build_read_back_unchanged() {
        let schema = postgres_schema().await;
        let mut conn = schema.connect().await;
        sqlx::raw_sql(&dump_for(schema.name()))
            .execute(&mut conn)
            .await
            .expect("load the dump");
        sqlx::Connection::close(conn).await.expect("close");
        let server = TestServer::start_on_existing(Existing::Postgres(schema), config()).await;
        assert_reads_back_unchanged(&server, &answers("postgres")).await;
    }
}
