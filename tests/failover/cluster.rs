//! Two local PostgreSQL servers made for a test: a primary and a streaming standby that it
//! waits for on every commit (synchronous replication), in a temporary directory, on free
//! ports of 127.0.0.1. Made with the server's own tools (`initdb`, `pg_basebackup`, `pg_ctl`),
//! run as the `postgres` user when the test runs as root (initdb refuses root).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Longest wait for a server to start, or for the standby to stream.
const START_WAIT_MAX: Duration = Duration::from_secs(60);

/// The directory of the PostgreSQL server's programs, if they are installed.
fn bin_dir() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    if dir.join("initdb").exists() {
        return Some(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

fn root() -> bool {
    // SAFETY-free: the id command answers the effective user.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Why two clusters cannot be made here, if they cannot.
pub fn unavailable() -> Option<String> {
    let Some(bin) = bin_dir() else {
        return Some("PostgreSQL's server programs (initdb, pg_ctl) are not installed".into());
    };
    if !bin.join("pg_basebackup").exists() {
        return Some("pg_basebackup is not installed".into());
    }
    if root()
        && Command::new("id")
            .arg("postgres")
            .output()
            .map_or(true, |o| !o.status.success())
    {
        return Some("running as root without a postgres user to run initdb as".into());
    }
    None
}

/// A free port on 127.0.0.1 (released for the server to take).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address").port()
}

/// One server: its data directory and port.
#[derive(Debug, Clone)]
pub struct Node {
    pub data: PathBuf,
    pub port: u16,
}

impl Node {
    pub fn label(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The postmaster's process id, from its pid file.
    pub fn pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }
}

/// A primary and its synchronous standby; both stopped (and their files removed) when dropped.
pub struct Pair {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub primary: Node,
    pub standby: Node,
}

impl Pair {
    pub fn start() -> Pair {
        let bin = bin_dir().expect("checked by unavailable()");
        let dir = tempfile::tempdir().expect("a temp dir");
        if root() {
            run("chown", &["-R", "postgres:postgres", &dir.path().display().to_string()]);
        }
        let primary = Node {
            data: dir.path().join("primary"),
            port: free_port(),
        };
        let standby = Node {
            data: dir.path().join("standby"),
            port: free_port(),
        };
        let pair = Pair {
            bin,
            dir,
            primary,
            standby,
        };
        pair.pg(
            "initdb",
            &[
                "-D",
                &path(&pair.primary.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        );
        pair.configure(&pair.primary, "synchronous_standby_names = '*'\n");
        pair.start_node(&pair.primary);
        pair.make_standby(&pair.standby, &pair.primary);
        pair.wait_for_sync_standby(&pair.primary);
        pair
    }

    /// `postgres://…` naming both servers, primary first.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@{},{}/postgres?target_session_attrs=read-write",
            self.primary.label(),
            self.standby.label()
        )
    }

    fn socket_dir(&self) -> String {
        path(self.dir.path())
    }

    /// Runs one of the server's programs, as `postgres` when root.
    fn pg(&self, program: &str, args: &[&str]) -> String {
        let program = path(&self.bin.join(program));
        let mut all: Vec<&str> = Vec::new();
        if root() {
            all.extend(["-u", "postgres", "--"]);
        }
        all.push(&program);
        all.extend_from_slice(args);
        if root() {
            run("runuser", &all)
        } else {
            run(all[0], &all[1..])
        }
    }

    /// Settings every node has, and `extra`.
    fn configure(&self, node: &Node, extra: &str) {
        let settings = format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             wal_level = replica\nmax_wal_senders = 5\nfsync = off\nsynchronous_commit = on\n\
             wal_sender_timeout = 5s\nwal_receiver_timeout = 5s\n{extra}",
            node.port,
            self.socket_dir()
        );
        let conf = node.data.join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap_or_default();
        text.push_str(&settings);
        std::fs::write(&conf, text).expect("write the settings");
    }

    fn start_node(&self, node: &Node) {
        // Beside the data directory, not in it: a base backup of it would copy the log.
        let log = node.data.with_extension("log");
        let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.pg(
                "pg_ctl",
                &["-D", &path(&node.data), "-l", &path(&log), "-w", "-t", "60", "start"],
            )
        }));
        if let Err(e) = started {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("{}: {e:?}\n{log}", node.label());
        }
    }

    /// `node` made a streaming standby of `of` (a fresh base backup), that waits for nothing
    /// itself once promoted.
    pub fn make_standby(&self, node: &Node, of: &Node) {
        let _ = std::fs::remove_dir_all(&node.data);
        // A killed postmaster left its socket's lock file; its process may linger as a zombie
        // (nothing reaps it here), which PostgreSQL would take for a server still running.
        for stale in [
            format!(".s.PGSQL.{}.lock", node.port),
            format!(".s.PGSQL.{}", node.port),
        ] {
            let _ = std::fs::remove_file(self.dir.path().join(stale));
        }
        let port = of.port.to_string();
        self.pg(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &path(&node.data),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
        );
        self.configure(node, "synchronous_standby_names = ''\n");
        self.start_node(node);
    }

    /// Waits until `primary` has a synchronous standby streaming.
    pub fn wait_for_sync_standby(&self, primary: &Node) {
        let started = Instant::now();
        while started.elapsed() < START_WAIT_MAX {
            let port = primary.port.to_string();
            let out = self.pg(
                "psql",
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-Atc",
                    "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'",
                ],
            );
            if out.trim() == "1" {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no synchronous standby streaming to {}", primary.label());
    }

    /// Asks the standby to become a primary, and answers when it is (writable), by asking it
    /// every 10 ms: the instant writes could resume.
    pub async fn promote(&self) -> Instant {
        use sqlx::Connection;
        self.pg("pg_ctl", &["-D", &path(&self.standby.data), "-W", "promote"]);
        let url = format!("postgres://postgres@{}/postgres", self.standby.label());
        let mut conn = sqlx::PgConnection::connect(&url).await.expect("the standby answers");
        let started = Instant::now();
        loop {
            let recovering: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
                .fetch_one(&mut conn)
                .await
                .expect("the standby answers");
            if !recovering {
                return Instant::now();
            }
            assert!(started.elapsed() < START_WAIT_MAX, "the standby was never promoted");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The primary dies at once (`kill -9` of the postmaster and its processes); returns once
    /// its port is free.
    pub fn crash_primary(&self) {
        let pids = tree(&self.primary);
        for pid in &pids {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
        let started = Instant::now();
        let alive = |pid: &i32| Path::new(&format!("/proc/{pid}")).exists() && !zombie(*pid);
        while pids.iter().any(alive) || std::net::TcpListener::bind(("127.0.0.1", self.primary.port)).is_err() {
            assert!(
                started.elapsed() < START_WAIT_MAX,
                "the killed primary's processes stay"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The primary stops answering without closing anything (SIGSTOP to every process).
    pub fn hang_primary(&self) {
        signal_tree(&self.primary, "-STOP");
    }

    /// Runs SQL on a node, answering its output (`psql -Atc`).
    pub fn sql(&self, node: &Node, sql: &str) -> String {
        let port = node.port.to_string();
        self.pg(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-Atc",
                sql,
            ],
        )
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for node in [&self.primary, &self.standby] {
            signal_tree(node, "-CONT");
            signal_tree(node, "-KILL");
        }
    }
}

/// Sends `signal` to a node's postmaster and its child processes.
fn signal_tree(node: &Node, signal: &str) {
    for pid in tree(node) {
        let _ = Command::new("kill").args([signal, &pid.to_string()]).status();
    }
}

/// A node's postmaster and its processes.
fn tree(node: &Node) -> Vec<i32> {
    let Some(pid) = node.pid() else { return Vec::new() };
    let children = Command::new("pgrep").args(["-P", &pid.to_string()]).output();
    let mut pids: Vec<i32> = children
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.push(pid);
    pids
}

/// Whether a process has exited and waits only to be reaped.
fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    })
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Runs a command, failing the test with its output when it fails.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir("/")
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
