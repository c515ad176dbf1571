-- 0016 position state changes in the event journal (docs/journal.md "What is recorded").
--
-- Every change of a position's state is a position_events row, written in the transaction of
-- the change by every writer: the REST API, bulk imports (set-based), receipts, the lifecycle
-- sweep. The journal needs the same changes as INTERNO events, committed with them (ARCHITECTURE
-- §5). A statement-level trigger with a transition table turns each statement's new
-- position_events rows into journal events in one INSERT ... SELECT: one extra statement per
-- writing statement, never one per row, so a load of a million positions stays set-based, and
-- no writer can forget it.
--
-- The sealer chains these rows like any other: they carry the inserting transaction's id.

CREATE FUNCTION journal_position_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO journal_events (
        event_time, entity_fc, iuv, component, category, event_type, event_subtype,
        caller_id, provider_id, interface_params, outcome, request_id, notice_number,
        actor_kind, actor_id, interface)
    SELECT n.at,
           n.entity_fiscal_code,
           -- DIGEST §5: the IUV is the notice number without the aux digit, and for aux 0
           -- also without the 2-digit application code.
           CASE WHEN x.notice IS NULL THEN NULL
                WHEN left(x.notice, 1) = '0' THEN substr(x.notice, 4)
                ELSE substr(x.notice, 2) END,
           'positions', 'INTERNO', 'positionStateChange', n.event,
           left(n.actor_id, 35), 'pagohubd',
           left(concat_ws(' ', 'externalId=' || p.external_id, 'application=' || p.application_id,
                          'from=' || n.from_status, 'to=' || n.to_status,
                          'receiptId=' || n.receipt_id), 512),
           'OK',
           left(n.request_id, 64),
           x.notice,
           n.actor_kind, n.actor_id, 'internal'
      FROM new_position_events n
      JOIN positions p ON p.entity_fiscal_code = n.entity_fiscal_code AND p.id = n.position_id
      -- A change of the whole position is recorded once per payment option, with the option's
      -- notice number, so that the timeline of any notice shows what happened to its position
      -- (created, published, cancelled...); a change of one option (OPTION_PAID) names it.
      -- When no option is there yet (a bulk replacement writes its event before the new
      -- options), one event without a notice number is recorded.
      LEFT JOIN LATERAL (
          SELECT o.notice_number FROM payment_options o
           WHERE n.notice_number IS NULL
             AND o.entity_fiscal_code = n.entity_fiscal_code AND o.position_id = n.position_id
      ) o ON true
      CROSS JOIN LATERAL (SELECT coalesce(n.notice_number, o.notice_number) AS notice) x;
    RETURN NULL;
END
$$;

CREATE TRIGGER position_events_journal AFTER INSERT ON position_events
    REFERENCING NEW TABLE AS new_position_events
    FOR EACH STATEMENT EXECUTE FUNCTION journal_position_events();
