-- The dashboard's payments filters and overview.
-- Filters: a record's currency, requested amount and latest attempt state as columns (the
-- state changes with the record, and is written with it), so a filtered page reads an index
-- and compares columns instead of parsing every document it passes.
ALTER TABLE payment_records ADD COLUMN currency TEXT, ADD COLUMN amount BIGINT, ADD COLUMN state TEXT;
UPDATE payment_records SET
    currency = (doc::json) #>> '{amount_requested,currency}',
    amount = ((doc::json) #>> '{amount_requested,value}')::bigint,
    state = (doc::json) #>> '{latest_attempt_state,status}';
-- A filter that matches few records would walk the whole tenant without these: newest first
-- within one state, and within one currency (the amount range is checked on the currency's).
CREATE INDEX payment_records_state ON payment_records (account_id, livemode, state, created DESC, seq DESC);
CREATE INDEX payment_records_currency ON payment_records (account_id, livemode, currency, created DESC, seq DESC);

-- Overview: per tenant, currency and UTC day of the records' `created`, what the records carry
-- (`records::totals`), kept by every write in its own transaction; filled here for the records
-- already stored. A day's totals are spread over `shard`s (picked by record id) so concurrent
-- writes rarely wait on one another's row lock until commit; the overview sums the shards.
CREATE TABLE daily_totals (
    account_id        TEXT     NOT NULL,
    livemode          BOOLEAN  NOT NULL,
    day               BIGINT   NOT NULL,
    currency          TEXT     NOT NULL,
    shard             SMALLINT NOT NULL,
    requested_count   BIGINT   NOT NULL,
    requested_amount  BIGINT   NOT NULL,
    pending_count     BIGINT   NOT NULL,
    pending_amount    BIGINT   NOT NULL,
    guaranteed_count  BIGINT   NOT NULL,
    guaranteed_amount BIGINT   NOT NULL,
    failed_count      BIGINT   NOT NULL,
    failed_amount     BIGINT   NOT NULL,
    canceled_count    BIGINT   NOT NULL,
    canceled_amount   BIGINT   NOT NULL,
    refunded_count    BIGINT   NOT NULL,
    refunded_amount   BIGINT   NOT NULL,
    PRIMARY KEY (account_id, livemode, day, currency, shard)
);
INSERT INTO daily_totals
    SELECT account_id, livemode, floor(created / 86400.0)::bigint, currency, 0,
        count(*), sum(amount),
        count(*) FILTER (WHERE state = 'pending'), coalesce(sum(amount) FILTER (WHERE state = 'pending'), 0),
        count(*) FILTER (WHERE state = 'guaranteed'), coalesce(sum(amount) FILTER (WHERE state = 'guaranteed'), 0),
        count(*) FILTER (WHERE state = 'failed'), coalesce(sum(amount) FILTER (WHERE state = 'failed'), 0),
        count(*) FILTER (WHERE state = 'canceled'), coalesce(sum(amount) FILTER (WHERE state = 'canceled'), 0),
        count(*) FILTER (WHERE ((doc::json) #>> '{amount_refunded}')::bigint > 0),
        sum(((doc::json) #>> '{amount_refunded}')::bigint)
    FROM payment_records GROUP BY 1, 2, 3, 4;
