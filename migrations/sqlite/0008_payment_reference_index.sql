-- Records by their processor payment_reference: the dashboard's search and reconciliation look
-- them up by it. An index on the expression, so the document stays the one source.
CREATE INDEX payment_records_reference
    ON payment_records (account_id, livemode, json_extract(doc, '$.details.processor_details.payment_reference'));
