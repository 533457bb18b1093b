//! The real `payrec` binary as a child process, for tests that kill it (`kill -9`) and restart
//! it on the same database.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Longest wait for a child server to print its address.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct ChildServer {
    pub child: Child,
    pub base: String,
    /// The keys printed on first start (None on a restart: they are shown once).
    pub test_key: Option<String>,
    pub live_key: Option<String>,
}

impl ChildServer {
    /// Starts `payrec serve` on 127.0.0.1:0 against `database_url` with extra env vars.
    pub async fn spawn(database_url: &str, envs: &[(&str, &str)]) -> ChildServer {
        let mut command = Command::new(env!("CARGO_BIN_EXE_payrec"));
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn payrec");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut test_key, mut live_key) = (None, None);
        let base = tokio::time::timeout(STARTUP_TIMEOUT, async {
            while let Some(line) = lines.next_line().await.expect("read child stdout") {
                let line = line.trim();
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
            base,
            test_key,
            live_key,
        }
    }

    /// SIGKILL: no shutdown, no flush, nothing after this instant.
    pub async fn kill9(&mut self) {
        self.child.start_kill().expect("kill -9");
        let _ = self.child.wait().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}
