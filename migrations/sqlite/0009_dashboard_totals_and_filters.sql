-- The dashboard's payments filters and overview.
-- Filters: a record's currency, requested amount and latest attempt state as columns (the
-- state changes with the record, and is written with it), so a filtered page reads an index
-- and compares columns instead of parsing every document it passes.
ALTER TABLE payment_records ADD COLUMN currency TEXT;
ALTER TABLE payment_records ADD COLUMN amount INTEGER;
ALTER TABLE payment_records ADD COLUMN state TEXT;
UPDATE payment_records SET
    currency = json_extract(doc, '$.amount_requested.currency'),
    amount = json_extract(doc, '$.amount_requested.value'),
    state = json_extract(doc, '$.latest_attempt_state.status');
-- A filter that matches few records would walk the whole tenant without these: newest first
-- within one state, and within one currency (the amount range is checked on the currency's).
CREATE INDEX payment_records_state ON payment_records (account_id, livemode, state, created, seq);
CREATE INDEX payment_records_currency ON payment_records (account_id, livemode, currency, created, seq);

-- Overview: per tenant, currency and UTC day of the records' `created`, what the records carry
-- (`records::totals`), kept by every write in its own transaction; filled here for the records
-- already stored.
CREATE TABLE daily_totals (
    account_id        TEXT    NOT NULL,
    livemode          INTEGER NOT NULL,
    currency          TEXT    NOT NULL,
    day               INTEGER NOT NULL,
    requested_count   INTEGER NOT NULL,
    requested_amount  INTEGER NOT NULL,
    pending_count     INTEGER NOT NULL,
    pending_amount    INTEGER NOT NULL,
    guaranteed_count  INTEGER NOT NULL,
    guaranteed_amount INTEGER NOT NULL,
    failed_count      INTEGER NOT NULL,
    failed_amount     INTEGER NOT NULL,
    canceled_count    INTEGER NOT NULL,
    canceled_amount   INTEGER NOT NULL,
    refunded_count    INTEGER NOT NULL,
    refunded_amount   INTEGER NOT NULL,
    PRIMARY KEY (account_id, livemode, day, currency)
) WITHOUT ROWID;
INSERT INTO daily_totals
    SELECT account_id, livemode, currency, created / 86400,
        count(*), sum(amount),
        sum(state = 'pending'), sum(CASE WHEN state = 'pending' THEN amount ELSE 0 END),
        sum(state = 'guaranteed'), sum(CASE WHEN state = 'guaranteed' THEN amount ELSE 0 END),
        sum(state = 'failed'), sum(CASE WHEN state = 'failed' THEN amount ELSE 0 END),
        sum(state = 'canceled'), sum(CASE WHEN state = 'canceled' THEN amount ELSE 0 END),
        sum(json_extract(doc, '$.amount_refunded') > 0), sum(json_extract(doc, '$.amount_refunded'))
    FROM payment_records GROUP BY account_id, livemode, currency, created / 86400;
