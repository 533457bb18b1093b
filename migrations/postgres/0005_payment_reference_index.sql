-- Records by their processor payment_reference: the dashboard's search and reconciliation look
-- them up by it. The reference is set when the record is reported and never changes, so it is a
-- column written with the record, filled here for the records already stored; the index holds
-- only the records that have one.
ALTER TABLE payment_records ADD COLUMN payment_reference TEXT;
UPDATE payment_records SET payment_reference = (doc::json) #>> '{details,processor_details,payment_reference}';
CREATE INDEX payment_records_reference ON payment_records (account_id, livemode, payment_reference)
    WHERE payment_reference IS NOT NULL;
