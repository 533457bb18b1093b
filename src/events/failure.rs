//! How a webhook delivery attempt failed, as the tenant is told it (the operator's log has the
//! transport's own words).

/// Why an attempt failed, as the tenant is told it: a category, never the transport's words
/// (which would tell an internal network's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No answer within the timeout.
    Timeout,
    /// The connection could not be made (refused, reset, unreachable).
    Refused,
    /// The TLS handshake failed (a certificate, a protocol).
    Tls,
    /// The host name did not resolve.
    Dns,
    /// The destination rule refused the address (or a live endpoint's plain http).
    Blocked,
    /// Anything else on the way (a broken answer).
    Other,
}

impl Failure {
    /// The stored word; `label` reads it back for a page.
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::Refused => "refused",
            Failure::Tls => "tls",
            Failure::Dns => "dns",
            Failure::Blocked => "blocked",
            Failure::Other => "other",
        }
    }

    /// What a page shows for a stored failure word (older rows held a transport message: it
    /// is shown only as "failed").
    pub fn label(stored: &str) -> &'static str {
        match stored {
            "timeout" => "timed out",
            "refused" => "could not connect",
            "tls" => "TLS failed",
            "dns" => "host not found",
            "blocked" => "destination not allowed",
            _ => "failed",
        }
    }
}
