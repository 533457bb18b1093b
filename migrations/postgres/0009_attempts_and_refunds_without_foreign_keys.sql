-- An attempt or a refund is written only by the write that creates its record or holds it
-- locked (`SELECT … FOR UPDATE`), in that write's transaction and tenant, so the foreign keys
-- to payment_records checked what the write path already guarantees. Each cost every insert a
-- query of its own (the check's trigger) and a lock on the record's row, with its WAL record:
-- without them, PostgreSQL spends about a quarter less CPU per report_payment (issue 30,
-- docs/decisions.md).
ALTER TABLE payment_attempt_records
    DROP CONSTRAINT IF EXISTS payment_attempt_records_account_id_livemode_payment_record_fkey;
ALTER TABLE refunds DROP CONSTRAINT IF EXISTS refunds_account_id_livemode_payment_record_fkey;
