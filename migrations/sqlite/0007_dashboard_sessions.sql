-- Dashboard sessions: the cookie holds a random id; only its SHA-256 digest is stored, with the
-- key that signed in (revoking the key ends its sessions), the tenant it shows and the CSRF
-- token of its forms.
CREATE TABLE dashboard_sessions (
    digest     BLOB    NOT NULL PRIMARY KEY,
    key_id     TEXT    NOT NULL,
    account_id TEXT    NOT NULL,
    livemode   INTEGER NOT NULL,
    csrf       TEXT    NOT NULL,
    created    INTEGER NOT NULL,
    expires    INTEGER NOT NULL
);
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires);
