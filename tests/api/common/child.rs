//! The real `payrec` binary as a child process, for tests that kill it (`kill -9`) and restart
//! it on the same database.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::{Api, Auth, Client};

/// Longest wait for a child server to print its address.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct ChildServer {
    pub child: Child,
    /// Everything the server wrote to stderr (its logs), collected as it runs.
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
    pub base: String,
    /// The keys printed on first start (None on a restart: they are shown once).
    pub test_key: Option<String>,
    pub live_key: Option<String>,
    /// What the server printed on stdout before it listened.
    pub banner: Vec<String>,
    http: reqwest::Client,
}

impl ChildServer {
    /// Starts `payrec serve` on 127.0.0.1:0 against `database_url` with extra env vars.
    pub async fn spawn(database_url: &str, envs: &[(&str, &str)]) -> ChildServer {
        Self::spawn_with(database_url, &[], envs).await
    }

    /// `spawn` with extra `serve` arguments.
    pub async fn spawn_with(database_url: &str, args: &[&str], envs: &[(&str, &str)]) -> ChildServer {
        let mut command = Command::new(env!("CARGO_BIN_EXE_payrec"));
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn payrec");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut err_lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let collected = stderr.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = err_lines.next_line().await {
                let mut all = collected.lock().expect("stderr buffer");
                all.push_str(&line);
                all.push('\n');
            }
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut test_key, mut live_key) = (None, None);
        let mut banner = Vec::new();
        let base = tokio::time::timeout(STARTUP_TIMEOUT, async {
            while let Some(line) = lines.next_line().await.expect("read child stdout") {
                let line = line.trim();
                banner.push(line.to_owned());
                if let Some(key) = line.strip_prefix("test mode: ") {
                    test_key = Some(key.to_owned());
                } else if let Some(key) = line.strip_prefix("live mode: ") {
                    live_key = Some(key.to_owned());
                } else if let Some(rest) = line.strip_prefix("payrec listening on ") {
                    return rest.split_whitespace().next().expect("address").to_owned();
                }
            }
            panic!("payrec exited before listening");
        })
        .await
        .expect("payrec started in time");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ChildServer {
            child,
            stderr,
            base,
            test_key,
            live_key,
            banner,
            http: reqwest::Client::new(),
        }
    }

    /// SIGKILL: no shutdown, no flush, nothing after this instant.
    pub async fn kill9(&mut self) {
        self.child.start_kill().expect("kill -9");
        let _ = self.child.wait().await;
    }

    /// SIGTERM: a graceful shutdown.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("running child");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -TERM failed");
    }

    pub fn logs(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }

    /// The metrics listener that `--metrics-listen` started, as its banner line names it.
    pub fn metrics_listener(&self) -> Option<Client> {
        let line = self.banner.iter().find_map(|l| l.strip_prefix("payrec metrics on "))?;
        let base = line.strip_suffix("/metrics").expect("the metrics URL ends in /metrics");
        Some(Client::new(base, Auth::None))
    }
}

/// Requests authenticate with the test key printed on first start, and with no key after a
/// restart (the keys are shown once): use `with_key` there.
impl Api for ChildServer {
    fn base(&self) -> &str {
        &self.base
    }
    fn http(&self) -> &reqwest::Client {
        &self.http
    }
    fn auth(&self) -> Auth {
        self.test_key.clone().map_or(Auth::None, Auth::Basic)
    }
}

/// Runs `payrec ARGS` (a one-off command, not a server) on `database_url`: (success, stdout,
/// stderr).
pub fn run_payrec(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let (code, stdout, stderr) = run_payrec_with(database_url, args, &[]);
    (code == Some(0), stdout, stderr)
}

/// `run_payrec` with extra environment variables, answering the exit code.
pub fn run_payrec_with(database_url: &str, args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_payrec"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .envs(envs.iter().copied())
        .output()
        .expect("run payrec");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stdout, stderr)
}

/// Polls the SQLite file at `db` until it holds `n` payment records (true) or 10 s pass (false).
pub async fn wait_for_records(db: &Path, n: i64) -> bool {
    for _ in 0..200 {
        let counted = super::sqlite::with(db, |conn| {
            conn.query_row("SELECT COUNT(*) FROM payment_records", [], |row| row.get::<_, i64>(0))
        })
        .await;
        if let Ok(count) = counted {
            if count == n {
                return true;
            }
            assert!(count < n, "more records than expected: {count}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
