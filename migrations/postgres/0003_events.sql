-- Events, webhook endpoints and deliveries (API.md, "Events and webhook endpoints").
-- An event is written in the transaction of the change it describes; each of its deliveries
-- (one per matching enabled endpoint) is written with it: a transactional outbox.
-- Keys begin with (account_id, livemode), as everywhere.

-- `head` and `tail` are the event's JSON before and after the value of `pending_webhooks`,
-- which is counted from the deliveries when the event is read; `head` (the object, most of the
-- bytes) is LZ4-compressed: written once, it is half the size, so half the bytes to commit.
CREATE TABLE events (
    account_id TEXT      NOT NULL,
    livemode   BOOLEAN   NOT NULL,
    id         TEXT      NOT NULL,
    created    BIGINT    NOT NULL,
    seq        BIGSERIAL NOT NULL,
    type       TEXT      NOT NULL,
    record_id  TEXT      NOT NULL,
    head       BYTEA     NOT NULL,
    tail       TEXT      NOT NULL,
    PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX events_newest ON events (account_id, livemode, created DESC, seq DESC);
CREATE INDEX events_by_record ON events (account_id, livemode, record_id);
-- Pruning finds the expired prefix without scanning the table.
CREATE INDEX events_created ON events USING brin (created);

-- `events_filter` is `*` or the subscribed types as `,a,b,`; `secret` signs deliveries and
-- is never part of `doc`.
CREATE TABLE webhook_endpoints (
    account_id    TEXT      NOT NULL,
    livemode      BOOLEAN   NOT NULL,
    id            TEXT      NOT NULL,
    created       BIGINT    NOT NULL,
    seq           BIGSERIAL NOT NULL,
    status        TEXT      NOT NULL,
    events_filter TEXT      NOT NULL,
    url           TEXT      NOT NULL,
    secret        TEXT      NOT NULL,
    doc           TEXT      NOT NULL,
    PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX webhook_endpoints_newest ON webhook_endpoints (account_id, livemode, created DESC, seq DESC);

-- One event to one endpoint. `state`: pending, succeeded or failed (retries exhausted).
-- `next_attempt_at` (milliseconds) is when a pending delivery is due; while a replica holds it,
-- it is the end of that replica's lease (`lease_owner`): a dead replica's deliveries come due
-- again when their leases run out.
CREATE TABLE webhook_deliveries (
    seq             BIGSERIAL PRIMARY KEY,
    account_id      TEXT    NOT NULL,
    livemode        BOOLEAN NOT NULL,
    event_id        TEXT    NOT NULL,
    endpoint_id     TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    lease_owner     TEXT,
    created         BIGINT  NOT NULL,
    last_attempt_at BIGINT,
    last_status     INTEGER,
    last_error      TEXT,
    last_latency_ms INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (account_id, livemode, event_id);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (account_id, livemode, endpoint_id, seq);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries USING brin (created);
