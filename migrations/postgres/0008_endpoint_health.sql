-- A webhook endpoint's health, kept by the delivery worker: its consecutive failed attempts,
-- since when it has been failing (milliseconds), and until when the worker leaves it alone
-- (a dead endpoint backs off; one failing for days is disabled).
ALTER TABLE webhook_endpoints
    ADD COLUMN failures INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN failing_since BIGINT,
    ADD COLUMN paused_until BIGINT;
