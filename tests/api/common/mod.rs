//! Test harness: starts the real payrec server on 127.0.0.1:0 with a fresh database per test.
//! Requests go through `api`, one method per endpoint: the only place URLs are built.

pub mod api;
pub mod calls;
pub mod child;
pub mod dashboard;
pub mod endpoint;
pub mod form;
pub mod postgres;
pub mod receiver;
pub mod relay;
pub mod rules;
pub mod sqlite;
pub mod venv;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use payrec::store::postgres::{PgOptions, PgStore};
use payrec::store::sqlite::{SqliteOptions, SqliteStore};
use payrec::store::{Store, Tenant};
use payrec::wire::auth::generate_key;
use payrec::{AppState, ServerConfig};
use tokio::sync::oneshot;

pub use api::{Api, Auth, Client, Endpoint, Report, Resp, encode};
pub use postgres::{PgSchema, postgres_schema};

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `#[backend_test]`: a test declared once, run on SQLite and on PostgreSQL.
pub use payrec_test_macros::backend_test;

/// A database written before the test, for `TestServer::start_on_existing`.
pub enum Existing<'a> {
    /// A SQLite file, copied first so that the test changes only its copy.
    SqliteCopy(&'a Path),
    /// A schema the test filled.
    Postgres(PgSchema),
}

/// Where a test server's database lives; removed when the server is dropped.
struct Database {
    backend: Backend,
    url: String,
    /// The SQLite file (unused on PostgreSQL).
    db_path: PathBuf,
    dir: tempfile::TempDir,
    schema: Option<PgSchema>,
}

impl Database {
    /// A SQLite file in a temp dir: a copy of `original`, or new.
    fn sqlite(original: Option<&Path>) -> Database {
        Self::sqlite_in(&std::env::temp_dir(), original)
    }

    /// `sqlite`, in a temp dir under `parent` (a small filesystem, say).
    fn sqlite_in(parent: &Path, original: Option<&Path>) -> Database {
        let dir = tempfile::tempdir_in(parent).expect("temp dir");
        let db_path = dir.path().join("payrec.db");
        if let Some(original) = original {
            std::fs::copy(original, &db_path).expect("copy the SQLite file");
        }
        Database {
            backend: Backend::Sqlite,
            url: format!("sqlite://{}", db_path.display()),
            db_path,
            dir,
            schema: None,
        }
    }

    fn postgres(schema: PgSchema) -> Database {
        let dir = tempfile::tempdir().expect("temp dir");
        Database {
            backend: Backend::Postgres,
            url: schema.url().to_owned(),
            db_path: dir.path().join("unused.db"),
            dir,
            schema: Some(schema),
        }
    }

    /// The store on it, migrated.
    async fn open(&self) -> Arc<dyn Store> {
        match self.backend {
            Backend::Sqlite => Arc::new(
                SqliteStore::open(&self.url, &SqliteOptions::default())
                    .await
                    .expect("open SQLite store"),
            ),
            Backend::Postgres => {
                let options = PgOptions {
                    max_connections: 6,
                    ..PgOptions::default()
                };
                Arc::new(PgStore::open(&self.url, &options).await.expect("open PostgreSQL store"))
            }
        }
    }
}

/// A database of its own with nothing in it (not even migrations): for commands that fill one
/// (`payrec import`), and a server started on it afterwards (`TestServer::start_on_empty`).
pub struct EmptyDatabase {
    pub url: String,
    database: Database,
}

pub async fn empty_database(backend: Backend) -> EmptyDatabase {
    let database = match backend {
        Backend::Sqlite => Database::sqlite(None),
        Backend::Postgres => Database::postgres(postgres_schema().await),
    };
    EmptyDatabase {
        url: database.url.clone(),
        database,
    }
}

/// A running server with one account and its keys. Requests authenticate with the test key
/// unless a test says otherwise; `with_key` gives the server as another key sees it.
pub struct TestServer {
    pub backend: Backend,
    pub base: String,
    pub database_url: String,
    pub db_path: PathBuf,
    pub account_id: String,
    pub test_key: String,
    pub live_key: String,
    pub store: Arc<dyn Store>,
    /// The server's supervised background jobs (tests inject faults into them).
    pub jobs: Arc<payrec::jobs::supervisor::Jobs>,
    http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
    _schema: Option<PgSchema>,
}

/// The defaults with payrec's extensions on (`--extensions`): for the tests of what they answer.
pub fn with_extensions() -> ServerConfig {
    ServerConfig {
        extensions: true,
        ..ServerConfig::default()
    }
}

impl TestServer {
    /// A SQLite-backed server (for tests that are not about the backend).
    pub async fn start() -> Self {
        Self::start_with(ServerConfig::default()).await
    }

    pub async fn start_with(config: ServerConfig) -> Self {
        Self::start_on(Backend::Sqlite, config).await
    }

    /// A server on `backend`, with a database and an account of its own.
    pub async fn start_on(backend: Backend, config: ServerConfig) -> Self {
        let database = match backend {
            Backend::Sqlite => Database::sqlite(None),
            Backend::Postgres => Database::postgres(postgres_schema().await),
        };
        Self::start_fresh(database, config).await
    }

    /// A SQLite-backed server whose database lives under `parent` (a small filesystem, say).
    pub async fn start_sqlite_in(parent: &Path, config: ServerConfig) -> Self {
        Self::start_fresh(Database::sqlite_in(parent, None), config).await
    }

    async fn start_fresh(database: Database, config: ServerConfig) -> Self {
        let store = database.open().await;
        let account_id = format!("acct_test{}", payrec::base62::random_base62(10));
        store
            .create_account(&account_id, payrec::clock::unix_now())
            .await
            .expect("account");
        Self::serve(database, store, account_id, config).await
    }

    /// A server on a database written before the test, such as the stored-format fixture. Its
    /// one account's keys are unknown, so the account gets a new test key and live key.
    pub async fn start_on_existing(existing: Existing<'_>, config: ServerConfig) -> Self {
        let database = match existing {
            Existing::SqliteCopy(file) => Database::sqlite(Some(file)),
            Existing::Postgres(schema) => Database::postgres(schema),
        };
        let store = database.open().await;
        let mut accounts: Vec<String> = store
            .list_keys()
            .await
            .expect("list keys")
            .into_iter()
            .map(|k| k.account_id)
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        assert_eq!(accounts.len(), 1, "one account in the database: {accounts:?}");
        let account_id = accounts.remove(0);
        Self::serve(database, store, account_id, config).await
    }

    /// A server on a database a command filled (it made one account).
    pub async fn start_on_empty(empty: EmptyDatabase, config: ServerConfig) -> Self {
        let store = empty.database.open().await;
        let accounts = store.list_accounts().await.expect("list accounts");
        assert_eq!(accounts.len(), 1, "one account in the database: {accounts:?}");
        let account_id = accounts[0].clone();
        Self::serve(empty.database, store, account_id, config).await
    }

    /// Gives `account_id` a test key and a live key, and serves `store` on 127.0.0.1:0.
    async fn serve(database: Database, store: Arc<dyn Store>, account_id: String, config: ServerConfig) -> Self {
        let now = payrec::clock::unix_now();
        let key = |livemode| {
            let tenant = Tenant {
                account_id: account_id.clone(),
                livemode,
            };
            generate_key(tenant, now)
        };
        let (test, live) = (key(false), key(true));
        store.create_key(&test.stored).await.expect("test key");
        store.create_key(&live.stored).await.expect("live key");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let state = AppState::new(store.clone(), config);
        let jobs = state.jobs.clone();
        // The webhook delivery worker, as `payrec serve` runs it (not the pruners: tests that
        // age rows call them themselves, and an hourly pruner's first run would race them).
        payrec::jobs::spawn_delivery(&state);
        tokio::spawn(payrec::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        TestServer {
            backend: database.backend,
            base,
            database_url: database.url,
            db_path: database.db_path,
            account_id,
            test_key: test.secret,
            live_key: live.secret,
            store,
            jobs,
            http: reqwest::Client::new(),
            shutdown: Some(shutdown),
            _dir: database.dir,
            _schema: database.schema,
        }
    }

    /// Runs `sql` on the server's database, beside the server: for tests that age or break
    /// what it stored.
    pub async fn execute_sql(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                let owned = sql.to_owned();
                sqlite::with(&self.db_path, move |conn| conn.execute_batch(&owned))
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&self.database_url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
            }
        }
    }

    /// The one integer `sql` selects from the server's database.
    pub async fn query_i64(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let owned = sql.to_owned();
                sqlite::with(&self.db_path, move |conn| conn.query_row(&owned, [], |r| r.get(0)))
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&self.database_url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
        }
    }

    /// A restricted (read-only) key of the server's account; returns the key.
    pub async fn new_restricted_key(&self, livemode: bool) -> String {
        let tenant = Tenant {
            account_id: self.account_id.clone(),
            livemode,
        };
        let key = payrec::wire::auth::generate_key_of(
            payrec::wire::auth::KeyKind::RestrictedRead,
            tenant,
            payrec::clock::unix_now(),
        );
        self.store.create_key(&key.stored).await.expect("restricted key");
        key.secret
    }

    /// Creates another account with a test key; returns the key.
    pub async fn new_account_key(&self, livemode: bool) -> String {
        let account_id = format!("acct_other{}", payrec::base62::random_base62(10));
        let now = payrec::clock::unix_now();
        self.store.create_account(&account_id, now).await.expect("account");
        let key = generate_key(Tenant { account_id, livemode }, now);
        self.store.create_key(&key.stored).await.expect("key");
        key.secret
    }
}

impl Api for TestServer {
    fn base(&self) -> &str {
        &self.base
    }
    fn http(&self) -> &reqwest::Client {
        &self.http
    }
    fn auth(&self) -> Auth {
        Auth::Basic(self.test_key.clone())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The `id` of an object.
pub fn id_of(object: &serde_json::Value) -> String {
    object["id"].as_str().expect("an id").to_owned()
}
