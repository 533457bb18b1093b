-- One row that `/readyz` rewrites to find out whether writes work again after a failure
-- (a full disk, say). `ballast` makes the probe as large as a burst of requests (the store's
-- PROBE_BYTES), so a disk with room for one small write left does not count as writable.
CREATE TABLE payrec_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at BIGINT NOT NULL,
    ballast BYTEA NOT NULL
);
