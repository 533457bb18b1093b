-- Dashboard sessions: the cookie holds a random id; only its SHA-256 digest is stored, with the
-- key that signed in (revoking the key ends its sessions), the tenant it shows and the CSRF
-- token of its forms. Looked up by digest alone (the cookie names no account).
CREATE TABLE dashboard_sessions (
    digest     BYTEA   NOT NULL PRIMARY KEY,
    key_id     TEXT    NOT NULL,
    account_id TEXT    NOT NULL,
    livemode   BOOLEAN NOT NULL,
    csrf       TEXT    NOT NULL,
    created    BIGINT  NOT NULL,
    expires    BIGINT  NOT NULL
);
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires);
