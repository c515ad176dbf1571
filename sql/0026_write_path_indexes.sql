-- 0026 Fewer index entries and checks on the rows every payment, create and delivery writes.
--
-- pg_waldump over a run of single creates counted 30 B-tree leaf inserts per create (half of
-- the WAL it writes), 20 of them for the journal. Each structure below was written on every
-- such row for a question that is asked rarely, or that another structure already answers:
--
-- * position_events: read by nobody but the journal trigger (sql/0016) and by a position's
--   history, by entity and position. Its identity key and the (entity, position, id) index
--   become one primary key on (entity, position, id): the identity alone is unique, so the
--   composite key is too. Its foreign key to positions goes: every writer selects its events
--   from the positions rows it has just written in the same statement, and positions are never
--   deleted; the check was a query and a row lock on the parent per event (a million of each
--   in a bulk import).
--
-- * journal_chain: UNIQUE (month, event_id) guarded against sealing an event twice. The sealer
--   cannot: it seals in (txid, id) order past a watermark that moves in the sealing
--   transaction, on a singleton row that serialises sealers (sql/0007). `pagohubd journal
--   verify` now checks that no event is chained twice, and its search for events outside the
--   chain joins by hash instead of probing that index.
--
-- * outbox_open_idx (integration, state) over every message not yet DELIVERED served only the
--   gauges of messages per integration and state, every few seconds, and took an entry for each
--   message when queued and again when claimed. The gauges now count PENDING messages from
--   outbox_due_idx, DELIVERING ones from outbox_claims_idx, and DEAD ones from a new index that
--   holds dead letters only, which the delivery path never writes.

DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
              WHERE conrelid = 'position_events'::regclass AND contype = 'f'
                AND confrelid = 'positions'::regclass LOOP
        EXECUTE format('ALTER TABLE position_events DROP CONSTRAINT %I', c.conname);
    END LOOP;
    FOR c IN SELECT conname FROM pg_constraint
              WHERE conrelid = 'journal_chain'::regclass AND contype = 'u' LOOP
        EXECUTE format('ALTER TABLE journal_chain DROP CONSTRAINT %I', c.conname);
    END LOOP;
END
$$;

ALTER TABLE position_events DROP CONSTRAINT position_events_pkey;
DROP INDEX position_events_position_idx;
ALTER TABLE position_events
    ADD CONSTRAINT position_events_pkey PRIMARY KEY (entity_fiscal_code, position_id, id);

DROP INDEX outbox_open_idx;
CREATE INDEX outbox_dead_idx ON outbox (integration_id) WHERE state = 'DEAD';
