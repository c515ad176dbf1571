-- 0015 rpt_push: the RPT the station sends with nodoInviaRPT after paaAttivaRPT (DIGEST §2.1,
-- SANP2 §8.2.3.2). The activation's `state` (EXPECTED -> RT_RECEIVED, written by paaInviaRT)
-- keeps its meaning; the push has its own state:
--   PENDING  the RPT is due to the Nodo (first attempt or a retry at next_attempt_at)
--   SENT     the Nodo accepted it (esito OK) or already had it (PPT_RPT_DUPLICATA)
--   FAILED   given up after the configured attempts; last_error says why
-- The RPT is generated once and kept: a retry re-sends the same document.

ALTER TABLE rpt_activations
    ADD COLUMN push_state      text        NOT NULL DEFAULT 'PENDING'
                                           CHECK (push_state IN ('PENDING', 'SENT', 'FAILED')),
    ADD COLUMN rpt_message_id  text        CHECK (char_length(rpt_message_id) BETWEEN 1 AND 35),
    ADD COLUMN rpt_xml         text,
    ADD COLUMN push_attempts   integer     NOT NULL DEFAULT 0 CHECK (push_attempts >= 0),
    -- NULL = due now. While an attempt is in flight it holds the claim's expiry, so another
    -- daemon takes the activation over only when this one died mid-attempt.
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN sent_at         timestamptz,
    -- 'OK' or 'PPT_RPT_DUPLICATA' once SENT ('NOT_NEEDED': closed by an RT before 0015).
    ADD COLUMN nodo_outcome    text,
    ADD COLUMN last_error      text        CHECK (char_length(last_error) <= 1000);

-- Activations already closed by an RT before this migration need no RPT any more.
UPDATE rpt_activations SET push_state = 'SENT', nodo_outcome = 'NOT_NEEDED'
 WHERE state = 'RT_RECEIVED';

CREATE INDEX rpt_activations_push_due ON rpt_activations (next_attempt_at NULLS FIRST)
    WHERE push_state = 'PENDING';

COMMENT ON COLUMN rpt_activations.push_state IS
    'nodoInviaRPT push: PENDING, SENT (OK or PPT_RPT_DUPLICATA), FAILED (attempts exhausted).';
