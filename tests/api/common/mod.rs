//! Test harness: starts the real payrec server on 127.0.0.1:0 with a fresh database per test,
//! and a small HTTP client that speaks Stripe's form encoding. This is the only place URLs
//! are built.

pub mod child;
pub mod form;
pub mod rules;
pub mod venv;

use std::path::PathBuf;
use std::sync::Arc;

use payrec::store::postgres::{PgOptions, PgStore};
use payrec::store::sqlite::{SqliteOptions, SqliteStore};
use payrec::store::{Store, Tenant};
use payrec::wire::auth::generate_key;
use payrec::{AppState, ServerConfig};
use serde_json::Value;
use tokio::sync::oneshot;

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Runs each named `async fn(TestServer)` as a test on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let server = $crate::common::TestServer::start_on($crate::common::Backend::Sqlite, Default::default())
                        .await
                        .expect("SQLite is always available");
                    super::$name(server).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(server) =
                        $crate::common::TestServer::start_on($crate::common::Backend::Postgres, Default::default()).await
                    else {
                        return;
                    };
                    super::$name(server).await
                }
            )*
        }
    };
}

/// A PostgreSQL schema of its own for one test, dropped when the test ends.
pub struct PgSchema {
    admin_url: String,
    name: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&url).await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .execute(&mut conn)
                    .await?;
                Ok::<_, sqlx::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}", self.name);
        }
    }
}

/// The test database URL and a fresh schema in it; None (outside CI) when there is none.
pub async fn postgres_schema() -> Option<(String, PgSchema)> {
    let Ok(admin_url) = std::env::var("PAYREC_TEST_DATABASE_URL") else {
        assert!(!in_ci(), "PAYREC_TEST_DATABASE_URL must be set under CI");
        eprintln!("PAYREC_TEST_DATABASE_URL is not set: skipping the PostgreSQL run of this test");
        return None;
    };
    use sqlx::Connection;
    let name = format!("payrec_t_{}", payrec::wire::auth::random_base62(12).to_lowercase());
    let created = async {
        let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
        sqlx::query(&format!("CREATE SCHEMA {name}")).execute(&mut conn).await?;
        Ok::<_, sqlx::Error>(())
    }
    .await;
    if let Err(e) = created {
        assert!(
            !in_ci(),
            "PostgreSQL at PAYREC_TEST_DATABASE_URL is unreachable under CI: {e}"
        );
        eprintln!("PostgreSQL unreachable ({e}): skipping the PostgreSQL run of this test");
        return None;
    }
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{separator}options=-c%20search_path%3D{name}");
    Some((url, PgSchema { admin_url, name }))
}

/// A running server with one account and its keys.
pub struct TestServer {
    pub backend: Backend,
    pub base: String,
    pub database_url: String,
    pub db_path: PathBuf,
    pub account_id: String,
    pub test_key: String,
    pub live_key: String,
    pub store: Arc<dyn Store>,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
    _schema: Option<PgSchema>,
}

/// One HTTP response, its body parsed when it is JSON.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// `error.<field>` of a Stripe error body.
    pub fn error(&self, field: &str) -> &Value {
        &self.json["error"][field]
    }
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Basic(String),
    Bearer(String),
}

impl TestServer {
    /// A SQLite-backed server (for tests that are not about the backend).
    pub async fn start() -> Self {
        Self::start_with(ServerConfig::default()).await
    }

    pub async fn start_with(config: ServerConfig) -> Self {
        Self::start_on(Backend::Sqlite, config)
            .await
            .expect("SQLite is always available")
    }

    /// A server on `backend`; None when PostgreSQL is not available outside CI.
    pub async fn start_on(backend: Backend, config: ServerConfig) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("payrec.db");
        let (database_url, store, schema): (String, Arc<dyn Store>, Option<PgSchema>) = match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", db_path.display());
                let store = SqliteStore::open(&url, &SqliteOptions::default())
                    .await
                    .expect("open SQLite store");
                (url, Arc::new(store), None)
            }
            Backend::Postgres => {
                let (url, schema) = postgres_schema().await?;
                let options = PgOptions {
                    max_connections: 6,
                    ..PgOptions::default()
                };
                let store = PgStore::open(&url, &options).await.expect("open PostgreSQL store");
                (url, Arc::new(store), Some(schema))
            }
        };
        let account_id = format!("acct_test{}", payrec::wire::auth::random_base62(10));
        let now = payrec::unix_now();
        store.create_account(&account_id, now).await.expect("account");
        let test = generate_key(
            Tenant {
                account_id: account_id.clone(),
                livemode: false,
            },
            now,
        );
        let live = generate_key(
            Tenant {
                account_id: account_id.clone(),
                livemode: true,
            },
            now,
        );
        store.create_key(&test.stored).await.expect("test key");
        store.create_key(&live.stored).await.expect("live key");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let state = AppState::new(store.clone(), config);
        tokio::spawn(payrec::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        Some(TestServer {
            backend,
            base,
            database_url,
            db_path,
            account_id,
            test_key: test.secret,
            live_key: live.secret,
            store,
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
            _dir: dir,
            _schema: schema,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates another account with a test key; returns the key.
    pub async fn new_account_key(&self, livemode: bool) -> String {
        let account_id = format!("acct_other{}", payrec::wire::auth::random_base62(10));
        let now = payrec::unix_now();
        self.store.create_account(&account_id, now).await.expect("account");
        let key = generate_key(Tenant { account_id, livemode }, now);
        self.store.create_key(&key.stored).await.expect("key");
        key.secret
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Auth,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let encoded = encode(form);
        let mut builder = if method == reqwest::Method::GET {
            let url = if encoded.is_empty() {
                self.url(path)
            } else {
                format!("{}?{}", self.url(path), encoded)
            };
            self.client.request(method, url)
        } else {
            self.client
                .request(method, self.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encoded)
        };
        builder = match auth {
            Auth::None => builder,
            Auth::Basic(key) => builder.basic_auth(key, Some("")),
            Auth::Bearer(key) => builder.bearer_auth(key),
        };
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        into_resp(builder.send().await.expect("request sent")).await
    }

    /// POST with the test key (Basic auth, as curl -u does).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.request(
            reqwest::Method::POST,
            path,
            Auth::Basic(self.test_key.clone()),
            form,
            &[],
        )
        .await
    }

    /// GET with the test key.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Resp {
        self.request(
            reqwest::Method::GET,
            path,
            Auth::Basic(self.test_key.clone()),
            query,
            &[],
        )
        .await
    }

    /// A raw body and content type, for malformed-input tests.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Resp {
        let response = self
            .client
            .post(self.url(path))
            .basic_auth(&self.test_key, Some(""))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent");
        into_resp(response).await
    }

    /// GET a record that must exist; returns its JSON.
    pub async fn retrieve_record(&self, id: &str) -> Value {
        let r = self.get(&format!("/v1/payment_records/{id}"), &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json
    }

    /// Every attempt of a record, newest first.
    pub async fn attempts_of(&self, id: &str) -> Vec<Value> {
        let r = self
            .get(
                "/v1/payment_attempt_records",
                &[("payment_record", id), ("limit", "100")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json["data"].as_array().expect("data").clone()
    }

    /// A pending payment of `value` usd; returns the record JSON.
    pub async fn report_payment(&self, value: i64) -> Value {
        let value = value.to_string();
        let r = self
            .post(
                "/v1/payment_records/report_payment",
                &[
                    ("amount_requested[currency]", "usd"),
                    ("amount_requested[value]", &value),
                    ("initiated_at", "1730211300"),
                    ("payment_method_details[type]", "custom"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "report_payment failed: {}", r.body);
        r.json
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Stripe's form encoding of ordered pairs (brackets percent-encoded, as the SDKs send them).
pub fn encode(form: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

async fn into_resp(response: reqwest::Response) -> Resp {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("body");
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        json,
    }
}
