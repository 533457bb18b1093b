-- A saved idempotent response is written with every keyed call and read only when the key is
-- sent again, so it is stored LZ4-compressed (`packed`, its length first), like an event's
-- head: a report_payment's 905 bytes of JSON become ~570, a twentieth of the call's WAL
-- (issue 30, BENCHMARKS.md). PostgreSQL's own compression would not do it: it starts only past
-- 2 KB a row, whatever the table's `toast_tuple_target`. Rows saved before keep `body`; new
-- rows leave it NULL. Adding a column and dropping NOT NULL rewrite nothing.
ALTER TABLE idempotency_keys ADD COLUMN packed BYTEA, ALTER COLUMN body DROP NOT NULL;
