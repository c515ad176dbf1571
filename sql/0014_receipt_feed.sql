-- 0014 receipt feed: the pull alternative to webhooks (GET /api/v1/entities/{fc}/receipts,
-- docs/integration.md "Pull feed").
--
-- A back-office pages the feed with a cursor and must never miss a receipt. Identity values
-- are taken when a row is inserted, but transactions commit in another order: a reader that
-- pages by `id > cursor` can pass id 12 while the transaction holding id 11 is still open, and
-- never see 11. So each receipt also records the id of the transaction that inserted it
-- (pg_current_xact_id(), a 64-bit xid8 that never wraps), and the feed shows only rows whose
-- transaction is older than the reading statement's snapshot xmin: every transaction below
-- that horizon has finished (committed or rolled back), and every transaction still running
-- or yet to commit has an xid at or above it. Ordering by (feed_xid, id) and exposing only the
-- rows below the horizon therefore hands out every committed receipt exactly once, in an order
-- that no later commit can insert into. The price is latency: a long transaction anywhere on
-- the cluster holds the horizon back, and the feed waits for it (nothing is skipped).
--
-- Rows stored before this migration get 0: they are all committed, and come first.

ALTER TABLE receipts ADD COLUMN feed_xid xid8 NOT NULL DEFAULT '0';
-- Set after the ADD so that the existing rows keep the constant (no table rewrite) and every
-- new row gets its inserting transaction's id.
ALTER TABLE receipts ALTER COLUMN feed_xid SET DEFAULT pg_current_xact_id();

-- The feed's keyset: (entity, feed_xid, id) ascending.
CREATE INDEX receipts_feed_idx ON receipts (entity_fiscal_code, feed_xid, id);

COMMENT ON COLUMN receipts.feed_xid IS
    'Inserting transaction (pg_current_xact_id): the pull feed shows rows below the snapshot xmin.';
