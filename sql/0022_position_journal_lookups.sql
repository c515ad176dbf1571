-- 0022 The position-events journal trigger (0016) looks the position and options of a few
-- events up by key, whatever the planner thinks of the tables (docs/journal.md "What is
-- recorded").
--
-- 0016 joined the statement's transition table to positions and payment_options. The plan of
-- that INSERT is made from the table sizes and statistics of the moment, and a transition
-- table of a few rows against positions whose statistics lag behind (a table that grew since
-- its last ANALYZE) planned as a hash join over a sequential scan of positions, and the option
-- lookup as a scan of every option of the entity, filtered: measured on single creates, 16,580
-- positions read to journal 30 events, 200 us of PostgreSQL time a create, growing with the
-- table. A statement of up to 1000 events (REST, receipts, the lifecycle sweep's slices) now
-- looks each one up in a LATERAL subquery kept apart from the join (OFFSET 0), so that it runs
-- once per event as a probe of the primary key of positions and of payment_options_plan_key.
-- A larger one (a bulk import) keeps 0016's join, for which hashing is the right plan (probing
-- measured 40% slower on 200,000 events). What is recorded is the same either way.

CREATE OR REPLACE FUNCTION journal_position_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM new_position_events OFFSET 1000) THEN
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
          LEFT JOIN LATERAL (
              SELECT o.notice_number FROM payment_options o
               WHERE n.notice_number IS NULL
                 AND o.entity_fiscal_code = n.entity_fiscal_code AND o.position_id = n.position_id
          ) o ON true
          CROSS JOIN LATERAL (SELECT coalesce(n.notice_number, o.notice_number) AS notice) x;
        RETURN NULL;
    END IF;
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
      CROSS JOIN LATERAL (
          SELECT p.external_id, p.application_id FROM positions p
           WHERE p.entity_fiscal_code = n.entity_fiscal_code AND p.id = n.position_id
          OFFSET 0
      ) p
      -- A change of the whole position is recorded once per payment option, with the option's
      -- notice number, so that the timeline of any notice shows what happened to its position
      -- (created, published, cancelled...); a change of one option (OPTION_PAID) names it.
      -- When no option is there yet (a bulk replacement writes its event before the new
      -- options), one event without a notice number is recorded.
      LEFT JOIN LATERAL (
          SELECT o.notice_number FROM payment_options o
           WHERE n.notice_number IS NULL
             AND o.entity_fiscal_code = n.entity_fiscal_code AND o.position_id = n.position_id
          OFFSET 0
      ) o ON true
      CROSS JOIN LATERAL (SELECT coalesce(n.notice_number, o.notice_number) AS notice) x;
    RETURN NULL;
END
$$;
