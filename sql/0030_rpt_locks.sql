-- 0030 The 2018 model's lock is kept with the activation, so that back-office writes obey it.
--
-- Between a PSP's paaAttivaRPT and the RT, the notice is that PSP's (DIGEST §0,
-- PAA_PAGAMENTO_IN_CORSO; docs/pagopa.md "The 2018 model's lock"). Until now the lock lived in
-- the SOAP handlers alone, computed from [pap] rpt_lock_minutes, and a back-office could
-- replace or cancel the position meanwhile: the RPT then carried the old amounts and the RT
-- paid a position that no longer asked for them. Every writer of positions (the REST API, bulk
-- imports, on-demand refreshes) now asks the same question, so the answer is stored where they
-- can all read it: locked_until, the end of the lock, fixed when the activation is made (NULL:
-- the lock was off). The lock holds while the activation is EXPECTED, its RPT has not FAILED,
-- and locked_until is in the future.

ALTER TABLE rpt_activations ADD COLUMN locked_until timestamptz;

-- Activations made before this migration get the default length (30 minutes).
UPDATE rpt_activations SET locked_until = activated_at + interval '30 minutes'
 WHERE state = 'EXPECTED' AND push_state <> 'FAILED';

-- The writers of positions look for the open activations of one position.
CREATE INDEX rpt_activations_open ON rpt_activations (entity_fiscal_code, position_id)
    WHERE state = 'EXPECTED';

-- The one definition of "a payment of this position is in progress": the PSP and the notice of
-- the latest activation that holds the lock at p_at, or no row.
CREATE FUNCTION rpt_payment_in_progress(p_entity text, p_position bigint, p_at timestamptz)
RETURNS TABLE (psp_id text, notice_number text, locked_until timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT a.psp_id, a.notice_number, a.locked_until
      FROM rpt_activations a
     WHERE a.entity_fiscal_code = p_entity AND a.position_id = p_position
       AND a.state = 'EXPECTED' AND a.push_state <> 'FAILED' AND a.locked_until > p_at
     ORDER BY a.locked_until DESC
     LIMIT 1
$$;

COMMENT ON COLUMN rpt_activations.locked_until IS
    'End of the 2018 model''s lock on the notice (activated_at + [pap] rpt_lock_minutes); NULL: no lock.';
