//! The one log line per request. In the JSON format (the one for production) the line is
//! written by hand, straight to stderr, with the keys and shape of tracing's JSON lines:
//! through tracing's formatter it cost about a fifth of a SQLite retrieve's CPU (issue 18,
//! BENCHMARKS.md). The pretty format, and any program embedding the server without choosing,
//! still log it through tracing. Either way `RUST_LOG` decides whether it is written.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The target of the request line, for `RUST_LOG` (`payrec::request=off` silences it).
pub const REQUEST_LOG_TARGET: &str = "payrec::request";

/// A request line's bytes, reserved up front (a line is about 250 bytes).
const LINE_BYTES_RESERVED: usize = 320;

static WRITE_JSON_DIRECTLY: AtomicBool = AtomicBool::new(false);

/// Request lines are written as JSON straight to stderr from now on (the binary calls this
/// when its logs are JSON).
pub fn write_json_to_stderr() {
    WRITE_JSON_DIRECTLY.store(true, Ordering::Relaxed);
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
        if !WRITE_JSON_DIRECTLY.load(Ordering::Relaxed) {
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
            let line = self.json(SystemTime::now(), latency_ms);
            // A failed write to stderr has nowhere to be reported.
            let _ = std::io::stderr().lock().write_all(&line);
        }
    }

    /// The line as tracing's JSON formatter writes it (`flatten_event`), newline included.
    fn json(&self, now: SystemTime, latency_ms: f64) -> Vec<u8> {
        let mut line = Vec::with_capacity(LINE_BYTES_RESERVED);
        line.extend_from_slice(b"{\"timestamp\":\"");
        timestamp(&mut line, now);
        line.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"request\",\"request_id\":");
        quoted(&mut line, self.request_id);
        line.extend_from_slice(b",\"method\":");
        quoted(&mut line, self.method);
        line.extend_from_slice(b",\"route\":");
        quoted(&mut line, self.route);
        line.extend_from_slice(b",\"path\":");
        quoted(&mut line, self.path);
        let _ = write!(
            line,
            ",\"status\":{},\"latency_ms\":{latency_ms},\"account\":",
            self.status
        );
        quoted(&mut line, self.account);
        line.extend_from_slice(b",\"target\":\"");
        line.extend_from_slice(REQUEST_LOG_TARGET.as_bytes());
        line.extend_from_slice(b"\"}\n");
        line
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
        let bytes = line.json(now, 1.5);
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
