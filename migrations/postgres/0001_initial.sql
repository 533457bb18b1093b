-- payrec schema (PostgreSQL). Every payment table's primary key and index begins with
-- (account_id, livemode): the wall between tenants, and the distribution key on Citus
-- (see docs/scaling.md).

CREATE TABLE accounts (
    id      TEXT   NOT NULL PRIMARY KEY,
    created BIGINT NOT NULL
);

-- Only the SHA-256 digest of a key is stored; prefix and last4 identify it in listings.
CREATE TABLE api_keys (
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    livemode   BOOLEAN NOT NULL,
    id         TEXT    NOT NULL,
    digest     BYTEA   NOT NULL,
    prefix     TEXT    NOT NULL,
    last4      TEXT    NOT NULL,
    created    BIGINT  NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (account_id, livemode, id)
);
CREATE UNIQUE INDEX api_keys_digest ON api_keys (digest);
CREATE UNIQUE INDEX api_keys_id ON api_keys (id);

CREATE TABLE payment_records (
    account_id TEXT      NOT NULL,
    livemode   BOOLEAN   NOT NULL,
    id         TEXT      NOT NULL,
    created    BIGINT    NOT NULL,
    seq        BIGSERIAL NOT NULL,
    doc        TEXT      NOT NULL,
    PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX payment_records_newest ON payment_records (account_id, livemode, created DESC, seq DESC);

CREATE TABLE payment_attempt_records (
    account_id     TEXT      NOT NULL,
    livemode       BOOLEAN   NOT NULL,
    id             TEXT      NOT NULL,
    payment_record TEXT      NOT NULL,
    created        BIGINT    NOT NULL,
    seq            BIGSERIAL NOT NULL,
    state          TEXT      NOT NULL,
    doc            TEXT      NOT NULL,
    PRIMARY KEY (account_id, livemode, id),
    FOREIGN KEY (account_id, livemode, payment_record) REFERENCES payment_records (account_id, livemode, id)
);
CREATE INDEX payment_attempt_records_newest
    ON payment_attempt_records (account_id, livemode, payment_record, created DESC, seq DESC);

-- refund_reference is unique per account and mode; the primary key enforces it.
CREATE TABLE refunds (
    account_id             TEXT    NOT NULL,
    livemode               BOOLEAN NOT NULL,
    refund_reference       TEXT    NOT NULL,
    payment_record         TEXT    NOT NULL,
    payment_attempt_record TEXT    NOT NULL,
    currency               TEXT    NOT NULL,
    value                  BIGINT  NOT NULL CHECK (value > 0),
    refunded_at            BIGINT,
    initiated_at           BIGINT,
    created                BIGINT  NOT NULL,
    PRIMARY KEY (account_id, livemode, refund_reference),
    FOREIGN KEY (account_id, livemode, payment_record) REFERENCES payment_records (account_id, livemode, id)
);
CREATE INDEX refunds_by_record ON refunds (account_id, livemode, payment_record);

-- A saved response per idempotency key, written in the transaction of the mutation it guards.
CREATE TABLE idempotency_keys (
    account_id  TEXT    NOT NULL,
    livemode    BOOLEAN NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    created     BIGINT  NOT NULL,
    PRIMARY KEY (account_id, livemode, key)
);
