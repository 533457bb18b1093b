-- A write's rows go in one statement (src/store/postgres/batch.rs), which ends by passing
-- this the number of idempotency-key rows it saved. None means the key is live under another
-- request's result: the error rolls the whole statement back, and payrec replays that result.
CREATE FUNCTION payrec_key_saved(saved bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    IF saved = 0 THEN
        RAISE EXCEPTION 'the idempotency key is taken' USING ERRCODE = 'PR001';
    END IF;
    RETURN saved;
END
$$;
