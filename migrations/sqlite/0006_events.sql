-- Events, webhook endpoints and deliveries (API.md, "Events and webhook endpoints").
-- An event is written in the transaction of the change it describes; each of its deliveries
-- (one per matching enabled endpoint) is written with it: a transactional outbox.

-- `seq` (the rowid) grows with time: lists order by (created, seq), and pruning deletes a
-- prefix of rowids. `head` and `tail` are the event's JSON before and after the value of
-- `pending_webhooks`, which is counted from the deliveries when the event is read; `head` (the
-- object, most of the bytes) is LZ4-compressed: half the size, so half the bytes to commit.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    account_id TEXT    NOT NULL,
    livemode   INTEGER NOT NULL,
    id         TEXT    NOT NULL,
    created    INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    record_id  TEXT    NOT NULL,
    head       BLOB    NOT NULL,
    tail       TEXT    NOT NULL
);
CREATE UNIQUE INDEX events_id ON events (account_id, livemode, id);
CREATE INDEX events_newest ON events (account_id, livemode, created, seq);
CREATE INDEX events_by_record ON events (account_id, livemode, record_id);

-- `events_filter` is `*` or the subscribed types as `,a,b,`; `secret` signs deliveries and
-- is never part of `doc`.
CREATE TABLE webhook_endpoints (
    seq           INTEGER PRIMARY KEY,
    account_id    TEXT    NOT NULL,
    livemode      INTEGER NOT NULL,
    id            TEXT    NOT NULL,
    created       INTEGER NOT NULL,
    status        TEXT    NOT NULL,
    events_filter TEXT    NOT NULL,
    url           TEXT    NOT NULL,
    secret        TEXT    NOT NULL,
    doc           TEXT    NOT NULL
);
CREATE UNIQUE INDEX webhook_endpoints_id ON webhook_endpoints (account_id, livemode, id);
CREATE INDEX webhook_endpoints_newest ON webhook_endpoints (account_id, livemode, created, seq);

-- One event to one endpoint. `state`: pending, succeeded or failed (retries exhausted).
-- `next_attempt_at` (milliseconds) is when a pending delivery is due; while a worker holds it,
-- it is the end of that worker's lease (`lease_owner`).
CREATE TABLE webhook_deliveries (
    seq             INTEGER PRIMARY KEY,
    account_id      TEXT    NOT NULL,
    livemode        INTEGER NOT NULL,
    event_id        TEXT    NOT NULL,
    endpoint_id     TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    created         INTEGER NOT NULL,
    last_attempt_at INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    last_latency_ms INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (account_id, livemode, event_id);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (account_id, livemode, endpoint_id, seq);
