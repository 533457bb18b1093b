-- The tables holding documents become rowid tables. In a WITHOUT ROWID table a row keeps at
-- most ~1 KB on its B-tree page (with 4 KiB pages); the rest of a 1-2 KB document went to an
-- overflow page of its own, so every insert wrote one extra 4 KiB page to the WAL. A rowid table
-- keeps rows up to ~4 KB inline, several to a page, and takes new rows at its end.
-- payment_records and payment_attempt_records use `seq` (already unique per table, allocated
-- by the single writer in insertion order) as the rowid; a unique index on
-- (account_id, livemode, id) replaces the primary key, so every lookup is still scoped by tenant.
-- Children are copied and dropped before their parent (foreign keys stay enforced); renaming a
-- table rewrites the foreign keys that name it.

CREATE TABLE payment_records_new (
    seq        INTEGER PRIMARY KEY,
    account_id TEXT    NOT NULL,
    livemode   INTEGER NOT NULL,
    id         TEXT    NOT NULL,
    created    INTEGER NOT NULL,
    doc        TEXT    NOT NULL
);
INSERT INTO payment_records_new (seq, account_id, livemode, id, created, doc)
    SELECT seq, account_id, livemode, id, created, doc FROM payment_records ORDER BY seq;
CREATE UNIQUE INDEX payment_records_id ON payment_records_new (account_id, livemode, id);

CREATE TABLE payment_attempt_records_new (
    seq            INTEGER PRIMARY KEY,
    account_id     TEXT    NOT NULL,
    livemode       INTEGER NOT NULL,
    id             TEXT    NOT NULL,
    payment_record TEXT    NOT NULL,
    created        INTEGER NOT NULL,
    state          TEXT    NOT NULL,
    doc            TEXT    NOT NULL,
    FOREIGN KEY (account_id, livemode, payment_record)
        REFERENCES payment_records_new (account_id, livemode, id)
);
INSERT INTO payment_attempt_records_new (seq, account_id, livemode, id, payment_record, created, state, doc)
    SELECT seq, account_id, livemode, id, payment_record, created, state, doc
    FROM payment_attempt_records ORDER BY seq;
CREATE UNIQUE INDEX payment_attempt_records_id ON payment_attempt_records_new (account_id, livemode, id);

-- Refund rows are small and keep their WITHOUT ROWID primary key; the table is rebuilt only
-- because its foreign key must point at the new payment_records.
CREATE TABLE refunds_new (
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
        REFERENCES payment_records_new (account_id, livemode, id)
) WITHOUT ROWID;
INSERT INTO refunds_new SELECT account_id, livemode, refund_reference, payment_record, payment_attempt_record,
    currency, value, refunded_at, initiated_at, created FROM refunds;

CREATE TABLE idempotency_keys_new (
    account_id  TEXT    NOT NULL,
    livemode    INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    created     INTEGER NOT NULL
);
INSERT INTO idempotency_keys_new SELECT account_id, livemode, key, fingerprint, request_id, status, body, created
    FROM idempotency_keys ORDER BY created;

DROP TABLE refunds;
DROP TABLE idempotency_keys;
DROP TABLE payment_attempt_records;
DROP TABLE payment_records;

ALTER TABLE payment_records_new RENAME TO payment_records;
ALTER TABLE payment_attempt_records_new RENAME TO payment_attempt_records;
ALTER TABLE refunds_new RENAME TO refunds;
ALTER TABLE idempotency_keys_new RENAME TO idempotency_keys;

CREATE INDEX payment_records_newest ON payment_records (account_id, livemode, created DESC, seq DESC);
CREATE INDEX payment_attempt_records_newest
    ON payment_attempt_records (account_id, livemode, payment_record, created DESC, seq DESC);
CREATE INDEX refunds_by_record ON refunds (account_id, livemode, payment_record);
CREATE UNIQUE INDEX idempotency_keys_key ON idempotency_keys (account_id, livemode, key);
