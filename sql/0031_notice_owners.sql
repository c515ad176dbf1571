-- 0031 notice owners: the back-office application each notice (its IUV) was first issued to,
-- kept for good (docs/journal.md "Querying").
--
-- Why: a back-office key reads the journal events of its own notices. Deciding that from
-- payment_options as they are now gets history wrong both ways: an option dropped by a
-- replacement (a single payment turned into instalments) took its notice's past exchanges
-- away from the application that issued it and left them to every back-office of the entity;
-- and a notice issued again later, by another application, would have handed that one the
-- first debtor's events. An IUV identifies one debt of the entity for good, so its first owner
-- stays its owner here, whatever happens to the option.
--
-- Written by a statement trigger on payment_options, so that every writer (the REST API, bulk
-- imports, on-demand lookups, paDemandPaymentNotice) records it in its own transaction without
-- knowing of it: one insert per statement, an index entry per new IUV.
CREATE TABLE notice_owners (
    entity_fiscal_code  text        COLLATE "C" NOT NULL,
    iuv                 text        COLLATE "C" NOT NULL,
    application_id      text        COLLATE "C" NOT NULL,
    since               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_fiscal_code, iuv)
);

COMMENT ON TABLE notice_owners IS
    'The back-office application each IUV of an entity was first issued to; never updated or '
    'deleted (docs/journal.md).';

INSERT INTO notice_owners (entity_fiscal_code, iuv, application_id, since)
SELECT o.entity_fiscal_code, o.iuv, p.application_id, p.created_at
  FROM payment_options o
  JOIN positions p ON p.entity_fiscal_code = o.entity_fiscal_code AND p.id = o.position_id
ON CONFLICT DO NOTHING;

CREATE FUNCTION notice_owners_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notice_owners (entity_fiscal_code, iuv, application_id)
    SELECT n.entity_fiscal_code, n.iuv, p.application_id
      FROM new_options n
      JOIN positions p ON p.entity_fiscal_code = n.entity_fiscal_code AND p.id = n.position_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER payment_options_owner AFTER INSERT ON payment_options
    REFERENCING NEW TABLE AS new_options
    FOR EACH STATEMENT EXECUTE FUNCTION notice_owners_record();
