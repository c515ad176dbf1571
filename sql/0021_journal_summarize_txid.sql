-- 0021 The sealer's BRIN index, kept summarized (docs/journal.md "Hash chain and verify").
--
-- The sealer reads newly committed events by transaction id through journal_events_txid_brin.
-- A BRIN index summarizes a page range only when VACUUM (or brin_summarize_new_values) passes
-- it; until then the range matches every query. So every page added since a partition's last
-- vacuum was read again, whole, by each of the sealer's slices: hundreds of milliseconds per
-- slice on a busy journal, growing with the partition until autovacuum came by. The sealer
-- calls this first, in a transaction of its own; it summarizes what was added since its last
-- run.
--
-- SECURITY DEFINER: summarizing takes the index owner's rights, and pagohubd may run as a role
-- that owns nothing (docs/journal.md "Append-only"). A range that VACUUM or another daemon's
-- sealer is summarizing right now is left to them (lock_timeout).

CREATE FUNCTION journal_summarize_txid() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT SET lock_timeout = '200ms' AS $$
DECLARE
    idx regclass;
    total bigint := 0;
BEGIN
    FOR idx IN SELECT i.inhrelid::regclass FROM pg_inherits i
                WHERE i.inhparent = 'journal_events_txid_brin'::regclass
                ORDER BY i.inhrelid LOOP
        BEGIN
            total := total + brin_summarize_new_values(idx);
        EXCEPTION WHEN lock_not_available THEN
            NULL;  -- summarized by whoever holds it, or by the next run
        END;
    END LOOP;
    RETURN total;
END
$$;
