-- 0031 retired notices: the back-office application whose notice (its IUV) lost its option,
-- kept for good (docs/journal.md "Querying").
--
-- Why: a back-office key reads the journal events of its own notices, and a notice's owner was
-- the application of its current option. A replacement that dropped an option (a single payment
-- turned into instalments) took the notice's past exchanges away from the application that
-- issued it and left them to every back-office of the entity; and a notice issued again later,
-- by another application, would have handed that one the first debtor's events. An IUV names
-- one debt of the entity for good: its first owner stays its owner.
--
-- While its first option lives, that option says who the owner is; this table says it from the
-- moment the option goes. Written by a statement trigger on payment_options' deletes, so every
-- writer that drops options (a REST or bulk replacement, which deletes a position's options
-- and writes them again) records it in its own transaction without knowing of it. A notice
-- is recorded once, at the first replacement of its position: creates pay nothing, later
-- replacements an index probe per option.
--
-- `since` is when the option went: the notice's events before it are that application's, and
-- a number issued again later (by any application) gives its new option's application the
-- events after it. Positions are never deleted; a manual delete that cascaded to options would
-- record nothing here (the positions are gone by then), and their notices' events would become
-- those of no application.
CREATE TABLE notice_owners (
    entity_fiscal_code  text        COLLATE "C" NOT NULL,
    iuv                 text        COLLATE "C" NOT NULL,
    application_id      text        COLLATE "C" NOT NULL,
    since               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_fiscal_code, iuv)
);

COMMENT ON TABLE notice_owners IS
    'The back-office application of each IUV whose option was deleted, as it was at the first '
    'deletion; never updated or deleted (docs/journal.md).';

-- The options dropped before this migration: their notices' INTERNO position events
-- (sql/0016) name the application. Read once, from the whole journal: on a large journal this
-- migration takes as long as a scan of it. A number issued again before now stays with its
-- current option, as before.
INSERT INTO notice_owners (entity_fiscal_code, iuv, application_id, since)
SELECT DISTINCT ON (j.entity_fc, j.iuv)
       j.entity_fc, j.iuv, substring(j.interface_params FROM 'application=([^ ]+)'), now()
  FROM journal_events j
 WHERE j.component = 'positions' AND j.event_type = 'positionStateChange'
   AND j.entity_fc IS NOT NULL AND j.iuv IS NOT NULL
   AND substring(j.interface_params FROM 'application=([^ ]+)') IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM payment_options o
                    WHERE o.entity_fiscal_code = j.entity_fc COLLATE "C"
                      AND o.iuv = j.iuv COLLATE "C")
 ORDER BY j.entity_fc, j.iuv, j.event_time, j.id
ON CONFLICT DO NOTHING;

CREATE FUNCTION notice_owners_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A notice issued again by another application after its option went stays the first
    -- one's: the existing row is kept.
    INSERT INTO notice_owners (entity_fiscal_code, iuv, application_id)
    SELECT o.entity_fiscal_code, o.iuv, p.application_id
      FROM old_options o
      JOIN positions p ON p.entity_fiscal_code = o.entity_fiscal_code AND p.id = o.position_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER payment_options_owner AFTER DELETE ON payment_options
    REFERENCING OLD TABLE AS old_options
    FOR EACH STATEMENT EXECUTE FUNCTION notice_owners_record();
