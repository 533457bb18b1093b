//! The one log line per request. In the JSON format (the one for production) the line is
//! written by hand to stderr, with the keys and shape of tracing's JSON lines:
//! through tracing's formatter it cost about a fifth of a SQLite retrieve's CPU (issue 18;
//! docs/decisions.md). The pretty format, and any program embedding the server without choosing,
//! still log it through tracing. Either way `RUST_LOG` decides whether it is written.
//!
//! JSON request lines are written in batches, as a web server's buffered access log: a line
//! waits at most `FLUSH_INTERVAL`, or until `FLUSH_BYTES` have gathered, and the batch goes to
//! stderr in one write. A write per line was a tenth of a SQLite retrieve's CPU (issue 18).
//! `flush` writes what waits; the binary calls it before it exits.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The target of the request line, for `RUST_LOG` (`payrec::request=off` silences it).
pub const REQUEST_LOG_TARGET: &str = "payrec::request";

/// Room for one more line (about 250 bytes) beyond `FLUSH_BYTES`, so the buffer reserved
/// for a batch never grows.
const LINE_BYTES_RESERVED: usize = 320;

/// The longest a JSON request line waits before it is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// Waiting lines are written at once when they reach this many bytes (about 250 lines).
const FLUSH_BYTES: usize = 64 * 1024;

/// Set by `write_json_to_stderr`: request lines go to `PENDING` as JSON, not through tracing.
static WRITE_JSON_IN_BATCHES: AtomicBool = AtomicBool::new(false);

/// JSON request lines waiting to be written.
static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Request lines are written as JSON to stderr from now on, in batches (the binary calls this
/// when its logs are JSON). Starts the thread that writes each batch within `FLUSH_INTERVAL`.
pub fn write_json_to_stderr() {
    if WRITE_JSON_IN_BATCHES.swap(true, Ordering::Relaxed) {
        return;
    }
    std::thread::Builder::new()
        .name("payrec-request-log".into())
        .spawn(|| {
            loop {
                std::thread::sleep(FLUSH_INTERVAL);
                flush();
            }
        })
        .expect("the request log's thread starts");
}

/// Writes the waiting request lines to stderr.
pub fn flush() {
    let batch = std::mem::take(&mut *pending());
    write_out(&batch);
}

fn pending() -> std::sync::MutexGuard<'static, Vec<u8>> {
    // A panic while appending leaves at worst a partial line; the buffer stays usable.
    PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_out(batch: &[u8]) {
    if !batch.is_empty() {
        // A failed write to stderr has nowhere to be reported.
        let _ = std::io::stderr().lock().write_all(batch);
    }
}

/// What the line says of one request.
#[derive(Debug)]
pub struct RequestLine<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub route: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub latency: Duration,
    pub account: &'a str,
}

impl RequestLine<'_> {
    pub fn log(&self) {
        let latency_ms = self.latency.as_secs_f64() * 1000.0;
        if !WRITE_JSON_IN_BATCHES.load(Ordering::Relaxed) {
            tracing::info!(
                target: REQUEST_LOG_TARGET,
                request_id = self.request_id,
                method = self.method,
                route = self.route,
                path = self.path,
                status = self.status,
                latency_ms,
                account = self.account,
                "request"
            );
            return;
        }
        if tracing::enabled!(target: REQUEST_LOG_TARGET, tracing::Level::INFO) {
            let now = SystemTime::now();
            let full = {
                let mut pending = pending();
                if pending.capacity() == 0 {
                    pending.reserve(FLUSH_BYTES + LINE_BYTES_RESERVED);
                }
                self.json(&mut pending, now, latency_ms);
                (pending.len() >= FLUSH_BYTES).then(|| std::mem::take(&mut *pending))
            };
            if let Some(batch) = full {
                write_out(&batch);
            }
        }
    }

    /// Appends the line as tracing's JSON formatter writes it (`flatten_event`), newline
    /// included.
    fn json(&self, line: &mut Vec<u8>, now: SystemTime, latency_ms: f64) {
        line.extend_from_slice(b"{\"timestamp\":\"");
        timestamp(line, now);
        line.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"request\",\"request_id\":");
        quoted(line, self.request_id);
        line.extend_from_slice(b",\"method\":");
        quoted(line, self.method);
        line.extend_from_slice(b",\"route\":");
        quoted(line, self.route);
        line.extend_from_slice(b",\"path\":");
        quoted(line, self.path);
        let _ = write!(
            line,
            ",\"status\":{},\"latency_ms\":{latency_ms},\"account\":",
            self.status
        );
        quoted(line, self.account);
        line.extend_from_slice(b",\"target\":\"");
        line.extend_from_slice(REQUEST_LOG_TARGET.as_bytes());
        line.extend_from_slice(b"\"}\n");
    }
}

fn quoted(line: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(&mut *line, text).expect("a string serializes");
}

/// `2026-12-01T21:14:24.875829Z`: UTC, microseconds.
fn timestamp(line: &mut Vec<u8>, now: SystemTime) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let ((year, month, day), (h, m, s)) = crate::clock::utc(since.as_secs() as i64);
    let micros = since.subsec_micros();
    let _ = write!(line, "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{micros:06}Z");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_line_has_tracings_keys_and_escapes_the_path() {
        let line = RequestLine {
            request_id: "req_1",
            method: "GET",
            route: "unmatched",
            path: "/v1/\"x\"\\\n",
            status: 404,
            latency: Duration::from_micros(1500),
            account: "-",
        };
        let now = UNIX_EPOCH + Duration::from_micros(1_764_624_864_875_829);
        let mut bytes = Vec::new();
        line.json(&mut bytes, now, 1.5);
        assert_eq!(bytes.last(), Some(&b'\n'));
        let entry: serde_json::Value = serde_json::from_slice(&bytes).expect("one JSON object");
        assert_eq!(entry["timestamp"], "2025-12-01T21:34:24.875829Z");
        assert_eq!(entry["level"], "INFO");
        assert_eq!(entry["message"], "request");
        assert_eq!(entry["target"], REQUEST_LOG_TARGET);
        assert_eq!(entry["path"], "/v1/\"x\"\\\n");
        assert_eq!(entry["status"], 404);
        assert_eq!(entry["latency_ms"], 1.5);
        assert_eq!(entry["account"], "-");
    }
}
