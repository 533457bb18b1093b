-- Saved idempotent results are found through an in-memory index (src/store/sqlite/key_index.rs),
-- rebuilt from this table at start. The unique index on the random client keys cost one
-- dirty 4 KiB leaf page per keyed request in every group commit (BENCHMARKS.md).
DROP INDEX idempotency_keys_key;
