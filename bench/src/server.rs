//! The servers under test, in this process: payrec itself (through `payrec::serve`, with a
//! store from `payrec::cli::open_store`, as `payrec serve` builds them) and the ceiling, a
//! minimal axum endpoint on the same kind of runtime.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use payrec::base62::random_base62;
use payrec::cli::args::ServeArgs;
use payrec::store::{Store, Tenant};
use payrec::wire::auth::generate_key;
use payrec::{AppState, ServerConfig};
use sqlx::Connection;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::args::{Args, Scenario};

/// Size of the ceiling's fixed JSON body.
pub const CEILING_BODY_BYTES: usize = 1536;

/// The database of the in-process server, and how to clean it up.
#[derive(Debug)]
pub enum Database {
    Sqlite {
        url: String,
        path: PathBuf,
    },
    Postgres {
        admin_url: String,
        schema: String,
        url: String,
    },
}

impl Database {
    /// The database named by --database-url, or a fresh SQLite file in the current directory
    /// (on the disk being measured: a tmpfs would make fsync free). PostgreSQL gets a fresh
    /// schema of its own.
    pub async fn create(args: &Args) -> Result<Database, String> {
        let tag = random_base62(10).to_lowercase();
        let url = args
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://payrec-bench-{tag}.db"));
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let path = PathBuf::from(path.split('?').next().unwrap_or(path));
            if path.exists() {
                return Err(format!(
                    "{} exists: payrec-bench starts from an empty database",
                    path.display()
                ));
            }
            return Ok(Database::Sqlite { url, path });
        }
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let schema = format!("payrec_bench_{tag}");
            let mut conn = sqlx::PgConnection::connect(&url)
                .await
                .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut conn)
                .await
                .map_err(|e| format!("cannot create schema {schema}: {e}"))?;
            let separator = if url.contains('?') { '&' } else { '?' };
            let server_url = format!("{url}{separator}options=-c%20search_path%3D{schema}");
            return Ok(Database::Postgres {
                admin_url: url,
                schema,
                url: server_url,
            });
        }
        Err(format!("unsupported --database-url {url:?}"))
    }

    pub fn url(&self) -> &str {
        match self {
            Database::Sqlite { url, .. } | Database::Postgres { url, .. } => url,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite { .. } => "sqlite",
            Database::Postgres { .. } => "postgres",
        }
    }

    /// Removes the SQLite files or drops the schema.
    pub async fn remove(&self) {
        match self {
            Database::Sqlite { path, .. } => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Database::Postgres { admin_url, schema, .. } => {
                let dropped = async {
                    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
                    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                        .execute(&mut conn)
                        .await
                };
                if let Err(e) = dropped.await {
                    eprintln!("could not drop schema {schema}: {e}");
                }
            }
        }
    }
}

/// A server running on the server runtime until `stop`.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.done.await;
    }
}

/// The WAL bound of the `amplification` scenario: its held reader keeps the WAL from being
/// restarted, and a restart asked for past the bound would wait for that reader for good.
const AMPLIFICATION_WAL_MIB: u64 = 64 * 1024;

fn serve_args(args: &Args) -> ServeArgs {
    let defaults = ServeArgs::default();
    ServeArgs {
        sqlite_synchronous: args.sqlite_synchronous,
        pg_max_connections: args.pg_max_connections,
        sqlite_wal_max_mib: if args.scenario.contains(&Scenario::Amplification) {
            AMPLIFICATION_WAL_MIB
        } else {
            args.sqlite_wal_max_mib.unwrap_or(defaults.sqlite_wal_max_mib)
        },
        ..defaults
    }
}

/// Opens the store on the server runtime (its pools and the SQLite writer task live there).
pub async fn open_store(server: &Handle, url: &str, args: &Args) -> Result<Arc<dyn Store>, String> {
    let (url, serve) = (url.to_owned(), serve_args(args));
    server
        .spawn(async move { payrec::cli::open_store(&url, &serve).await })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.0)
}

/// A new account with one test-mode key; returns the key.
pub async fn create_account(store: &dyn Store) -> Result<String, String> {
    let now = payrec::clock::unix_now();
    let account_id = format!("acct_{}", random_base62(16));
    store
        .create_account(&account_id, now)
        .await
        .map_err(|e| e.to_string())?;
    let key = generate_key(
        Tenant {
            account_id,
            livemode: false,
        },
        now,
    );
    store.create_key(&key.stored).await.map_err(|e| e.to_string())?;
    Ok(key.secret)
}

/// Serves payrec as `payrec serve` does (with its idempotency pruner when `pruner`).
pub async fn start_payrec(server: &Handle, store: Arc<dyn Store>, pruner: bool) -> Result<Running, String> {
    let listener = bind(server).await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let done = server.spawn(async move {
        let state = AppState::new(store, ServerConfig::default());
        if pruner {
            payrec::jobs::spawn(&state);
        }
        let stopped = async {
            let _ = stopped.await;
        };
        if let Err(e) = payrec::serve(listener, state, stopped).await {
            eprintln!("payrec server failed: {e}");
        }
    });
    Ok(Running { addr, shutdown, done })
}

/// The ceiling: GET /ceiling answers a fixed JSON body of `CEILING_BODY_BYTES`.
pub async fn start_ceiling(server: &Handle) -> Result<Running, String> {
    let listener = bind(server).await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let body = ceiling_body();
    let app = Router::new().route(
        "/ceiling",
        get(move || {
            let body = body.clone();
            async move { ([(CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let (shutdown, stopped) = oneshot::channel::<()>();
    let done = server.spawn(async move {
        let stopped = async {
            let _ = stopped.await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
            eprintln!("ceiling server failed: {e}");
        }
    });
    Ok(Running { addr, shutdown, done })
}

/// Serves `app` on the server runtime until `stop`.
pub async fn serve_router(server: &Handle, app: Router) -> Result<Running, String> {
    let listener = bind(server).await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let done = server.spawn(async move {
        let stopped = async {
            let _ = stopped.await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
            eprintln!("server failed: {e}");
        }
    });
    Ok(Running { addr, shutdown, done })
}

/// A listener bound on the server runtime (tokio registers it with that runtime's reactor).
async fn bind(server: &Handle) -> Result<TcpListener, String> {
    server
        .spawn(TcpListener::bind("127.0.0.1:0"))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))
}

fn ceiling_body() -> axum::body::Bytes {
    let head = r#"{"id":"pr_1234567890abcdefghijklmn","object":"payment_record","filler":""#;
    let tail = r#""}"#;
    let filler = "x".repeat(CEILING_BODY_BYTES - head.len() - tail.len());
    let body = format!("{head}{filler}{tail}");
    assert_eq!(body.len(), CEILING_BODY_BYTES);
    axum::body::Bytes::from(body)
}
