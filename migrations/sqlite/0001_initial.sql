-- payrec schema (SQLite). Every payment table's primary key begins with (account_id, livemode):
-- that is the wall between tenants, and the sharding key on PostgreSQL/Citus.

CREATE TABLE accounts (
    id      TEXT    NOT NULL PRIMARY KEY,
    created INTEGER NOT NULL
) WITHOUT ROWID;

-- Only the SHA-256 digest of a key is stored; prefix and last4 identify it in listings.
CREATE TABLE api_keys (
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    livemode   INTEGER NOT NULL,
    id         TEXT    NOT NULL,
    digest     BLOB    NOT NULL,
    prefix     TEXT    NOT NULL,
    last4      TEXT    NOT NULL,
    created    INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (account_id, livemode, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX api_keys_digest ON api_keys (digest);
CREATE UNIQUE INDEX api_keys_id ON api_keys (id);

-- `doc` is the object's JSON document; the typed columns are what we filter, order and lock on.
CREATE TABLE payment_records (
    account_id TEXT    NOT NULL,
    livemode   INTEGER NOT NULL,
    id         TEXT    NOT NULL,
    created    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    doc        TEXT    NOT NULL,
    PRIMARY KEY (account_id, livemode, id)
) WITHOUT ROWID;
CREATE INDEX payment_records_newest ON payment_records (account_id, livemode, created DESC, seq DESC);

CREATE TABLE payment_attempt_records (
    account_id     TEXT    NOT NULL,
    livemode       INTEGER NOT NULL,
    id             TEXT    NOT NULL,
    payment_record TEXT    NOT NULL,
    created        INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    state          TEXT    NOT NULL,
    doc            TEXT    NOT NULL,
    PRIMARY KEY (account_id, livemode, id),
    FOREIGN KEY (account_id, livemode, payment_record)
        REFERENCES payment_records (account_id, livemode, id)
) WITHOUT ROWID;
CREATE INDEX payment_attempt_records_newest
    ON payment_attempt_records (account_id, livemode, payment_record, created DESC, seq DESC);

-- refund_reference is unique per account and mode; the primary key enforces it.
CREATE TABLE refunds (
    account_id              TEXT    NOT NULL,
    livemode                INTEGER NOT NULL,
    refund_reference        TEXT    NOT NULL,
    payment_record          TEXT    NOT NULL,
    payment_attempt_record  TEXT    NOT NULL,
    currency                TEXT    NOT NULL,
    value                   INTEGER NOT NULL CHECK (value > 0),
    refunded_at             INTEGER,
    initiated_at            INTEGER,
    created                 INTEGER NOT NULL,
    PRIMARY KEY (account_id, livemode, refund_reference),
    FOREIGN KEY (account_id, livemode, payment_record)
        REFERENCES payment_records (account_id, livemode, id)
) WITHOUT ROWID;
CREATE INDEX refunds_by_record ON refunds (account_id, livemode, payment_record);

-- A saved response per idempotency key, written in the transaction of the mutation it guards.
CREATE TABLE idempotency_keys (
    account_id  TEXT    NOT NULL,
    livemode    INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    created     INTEGER NOT NULL,
    PRIMARY KEY (account_id, livemode, key)
) WITHOUT ROWID;
