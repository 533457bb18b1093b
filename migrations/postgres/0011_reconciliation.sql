-- Reconciliation runs and their outcomes (issue 32): a statement or settlement file judged
-- against the ledger, one run per file (its SHA-256) per tenant: judging the same file again
-- is another pass of the same run, and changes nothing the ledger has not changed. `doc` is
-- each object's wire form (`/payrec/v1/reconciliation_runs`, `…/reconciliation_results`).
CREATE TABLE reconciliation_runs (
    account_id  TEXT      NOT NULL,
    livemode    BOOLEAN   NOT NULL,
    id          TEXT      NOT NULL,
    created     BIGINT    NOT NULL,
    seq         BIGSERIAL NOT NULL,
    file_digest TEXT      NOT NULL,
    pass        BIGINT    NOT NULL,
    doc         TEXT      NOT NULL,
    PRIMARY KEY (account_id, livemode, id)
);
CREATE UNIQUE INDEX reconciliation_runs_file ON reconciliation_runs (account_id, livemode, file_digest);
CREATE INDEX reconciliation_runs_newest ON reconciliation_runs (account_id, livemode, created DESC, seq DESC);

-- One outcome of a run: a line of the file, or a payment (of a payout, or one the file did not
-- name). `item` names it, the same on every pass: its run's id, then its place in the run (the
-- run is part of the key, not a column before it, so that no planner mistakes a run's index for
-- it while a run is being written and statistics lag). `record_id` is the payment it
-- concerns ('' for none). An open break (`open`) is an outcome that is no match and that no
-- one resolved; the queue lists them newest first.
CREATE TABLE reconciliation_results (
    account_id TEXT      NOT NULL,
    livemode   BOOLEAN   NOT NULL,
    id         TEXT      NOT NULL,
    run_id     TEXT      NOT NULL,
    item       TEXT      NOT NULL,
    created    BIGINT    NOT NULL,
    seq        BIGSERIAL NOT NULL,
    category   TEXT      NOT NULL,
    record_id  TEXT      NOT NULL,
    open       BOOLEAN   NOT NULL,
    resolved   BOOLEAN   NOT NULL,
    pass       BIGINT    NOT NULL,
    doc        TEXT      NOT NULL,
    PRIMARY KEY (account_id, livemode, id)
);
CREATE UNIQUE INDEX reconciliation_results_item ON reconciliation_results (account_id, livemode, item);
CREATE INDEX reconciliation_results_open ON reconciliation_results (account_id, livemode, created DESC, seq DESC)
    WHERE open;
-- The queue filtered by category: a rare category among 10⁶ open breaks would otherwise walk
-- them all.
CREATE INDEX reconciliation_results_open_by_category
    ON reconciliation_results (account_id, livemode, category, created DESC, seq DESC) WHERE open;
-- A run's outcomes newest first; its payments in id order (a pass settles their statuses);
-- one payment's outcomes in every run (its page, and the breaks a later run closes).
CREATE INDEX reconciliation_results_of_run ON reconciliation_results (account_id, livemode, run_id, created DESC, seq DESC);
CREATE INDEX reconciliation_results_run_records ON reconciliation_results (account_id, livemode, run_id, record_id)
    WHERE record_id <> '';
CREATE INDEX reconciliation_results_by_record ON reconciliation_results (account_id, livemode, record_id)
    WHERE record_id <> '';

-- A payment's reconciliation status: the category of its latest outcome that says something
-- about it, and that outcome.
CREATE TABLE payment_reconciliations (
    account_id TEXT    NOT NULL,
    livemode   BOOLEAN NOT NULL,
    record_id  TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    run_id     TEXT    NOT NULL,
    result_id  TEXT    NOT NULL,
    updated    BIGINT  NOT NULL,
    PRIMARY KEY (account_id, livemode, record_id)
);
