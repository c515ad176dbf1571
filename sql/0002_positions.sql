-- 0002 positions: debt positions (posizioni debitorie), their payment options, transfers and
-- accounting lines, the per-entity notice progressive, and the lifecycle history.
-- docs/positions.md describes the model, the rules and the lifecycle.
--
-- Codes (fiscal codes, external ids, notice numbers, IUVs, statuses) use the "C" collation:
-- they are compared byte by byte, never by language rules, which also keeps their indexes fast
-- whatever the database's locale. The CHECK patterns avoid bounded repetitions ({n,m}), which
-- PostgreSQL's regex engine expands into large automata (measured at several microseconds per
-- row on a million-row load); an unbounded pattern plus a length test says the same, cheaply.
--
-- Every table carries the creditor entity's fiscal code and leads its keys with it
-- (ARCHITECTURE §5): each query filters on it, and the composite foreign keys make it
-- impossible to hang an option or a transfer under another entity's position.
-- Money is bigint cents (0.01 .. 999999999.99 euro: paForNode.xsd stAmountNotZero); due dates
-- are dates in Europe/Rome; instants are timestamptz. The CHECKs mirror the rules SQL can hold
-- (src/positions/validation*.cpp holds them all); they are the last line, so a bulk load that
-- skipped a rule still cannot store a broken row.

CREATE TABLE positions (
    entity_fiscal_code  text        COLLATE "C" NOT NULL
                                    CHECK (length(entity_fiscal_code) = 11
                                           AND entity_fiscal_code ~ '^[0-9]+$'),
    id                  bigint      GENERATED ALWAYS AS IDENTITY,
    -- The back-office application that owns the position, and its key for it.
    application_id      text        COLLATE "C" NOT NULL
                                    CHECK (char_length(application_id) BETWEEN 1 AND 64),
    external_id         text        COLLATE "C" NOT NULL
                                    CHECK (length(external_id) BETWEEN 1 AND 35
                                           AND external_id ~ '^[A-Za-z0-9._-]+$'),
    status              text        COLLATE "C" NOT NULL
                                    CHECK (status IN ('DRAFT', 'PUBLISHED', 'VALID', 'PARTIALLY_PAID',
                                                      'PAID', 'EXPIRED', 'CANCELLED')),
    -- paForNode.xsd ctSubject.
    debtor_type         text        NOT NULL CHECK (debtor_type IN ('F', 'G')),
    debtor_fiscal_code  text        COLLATE "C" NOT NULL
                                    CHECK (debtor_fiscal_code = 'ANONIMO'
                                           OR (length(debtor_fiscal_code) IN (11, 16)
                                               AND debtor_fiscal_code ~ '^[A-Z0-9]+$')),
    debtor_full_name    text        NOT NULL CHECK (char_length(debtor_full_name) BETWEEN 1 AND 70),
    debtor_street_name  text        CHECK (char_length(debtor_street_name) BETWEEN 1 AND 70),
    debtor_civic_number text        CHECK (char_length(debtor_civic_number) BETWEEN 1 AND 16),
    debtor_postal_code  text        CHECK (char_length(debtor_postal_code) BETWEEN 1 AND 16),
    debtor_city         text        CHECK (char_length(debtor_city) BETWEEN 1 AND 35),
    debtor_state_province_region text CHECK (char_length(debtor_state_province_region) BETWEEN 1 AND 35),
    debtor_country      text        CHECK (length(debtor_country) = 2
                                           AND debtor_country ~ '^[A-Z]+$'),
    debtor_email        text        CHECK (char_length(debtor_email) BETWEEN 3 AND 256),
    debtor_phone        text        CHECK (char_length(debtor_phone) BETWEEN 1 AND 35),
    description         text        NOT NULL CHECK (char_length(description) BETWEEN 1 AND 140),
    service_code        text        COLLATE "C" NOT NULL
                                    CHECK (char_length(service_code) BETWEEN 1 AND 35),
    reference_year      integer     NOT NULL CHECK (reference_year BETWEEN 2000 AND 2100),
    -- Payable from; NULL = as soon as published.
    validity_date       timestamptz,
    -- The latest due date among the options: what "past due" (EXPIRED) is measured against.
    due_date            date        NOT NULL,
    -- Up to 10 {"key","value"} objects, in input order (GPD paymentOptionMetadata). Read and
    -- written whole with the position, never queried by key: jsonb keeps it one column.
    metadata            jsonb       NOT NULL DEFAULT '[]'
                                    CHECK (jsonb_typeof(metadata) = 'array'
                                           AND jsonb_array_length(metadata) <= 10),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    published_at        timestamptz,
    -- Bumped by every change (ETag material).
    version             bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    PRIMARY KEY (entity_fiscal_code, id),
    -- Idempotency key of the back-office (ARCHITECTURE §5).
    CONSTRAINT positions_external_id_key UNIQUE (entity_fiscal_code, application_id, external_id)
);

-- The list query pages by id (keyset on the primary key); these serve its selective filters.
-- Status: `status = $ ORDER BY id` walks this index in order.
CREATE INDEX positions_status_idx ON positions (entity_fiscal_code, status, id);
-- updatedSince polling by back-offices.
CREATE INDEX positions_updated_idx ON positions (entity_fiscal_code, updated_at);
-- "What does this citizen owe": the debtor filter, and the citizen pages later.
CREATE INDEX positions_debtor_idx ON positions (entity_fiscal_code, debtor_fiscal_code);
-- The lifecycle sweep finds PUBLISHED positions whose validity date has come; they are few, so
-- a partial index stays small.
CREATE INDEX positions_publish_due_idx ON positions (validity_date) WHERE status = 'PUBLISHED';

CREATE TABLE payment_options (
    entity_fiscal_code  text        COLLATE "C" NOT NULL,
    id                  bigint      GENERATED ALWAYS AS IDENTITY,
    position_id         bigint      NOT NULL,
    -- Position in the input's flat array of options; the order the API returns them in.
    ordinal             smallint    NOT NULL CHECK (ordinal BETWEEN 0 AND 999),
    kind                text        COLLATE "C" NOT NULL CHECK (kind IN ('SINGLE', 'INSTALMENT')),
    -- 0 for the single option, 1..N for the instalments of a plan (DIGEST §6).
    instalment          smallint    NOT NULL,
    -- DIGEST §5: 18 digits; the IUV is its last 15 (aux 0) or 17 (aux 1..3) digits.
    notice_number       text        COLLATE "C" NOT NULL
                                    CHECK (length(notice_number) = 18 AND notice_number ~ '^[0-9]+$'),
    iuv                 text        COLLATE "C" NOT NULL,
    amount              bigint      NOT NULL CHECK (amount BETWEEN 1 AND 99999999999),
    due_date            date        NOT NULL,
    description         text        NOT NULL CHECK (char_length(description) BETWEEN 1 AND 140),
    status              text        NOT NULL DEFAULT 'UNPAID'
                                    CHECK (status IN ('UNPAID', 'PAID', 'REPORTED')),
    paid_at             timestamptz,
    -- The receipt (paSendRT receiptId, a stPaymentToken) that paid the option.
    receipt_id          text        CHECK (char_length(receipt_id) BETWEEN 1 AND 35),
    PRIMARY KEY (entity_fiscal_code, id),
    FOREIGN KEY (entity_fiscal_code, position_id)
        REFERENCES positions (entity_fiscal_code, id) ON DELETE CASCADE,
    -- Uniqueness by constraint, not by luck (issue 3): the Nodo finds a payment by
    -- (entity, notice number), the reporting flows by (entity, IUV).
    CONSTRAINT payment_options_notice_key UNIQUE (entity_fiscal_code, notice_number),
    CONSTRAINT payment_options_iuv_key UNIQUE (entity_fiscal_code, iuv),
    -- One single option and instalments 1..N per position; also the index that loads a
    -- position's options.
    CONSTRAINT payment_options_plan_key UNIQUE (entity_fiscal_code, position_id, kind, instalment),
    CHECK ((kind = 'SINGLE' AND instalment = 0) OR (kind = 'INSTALMENT' AND instalment >= 1)),
    CHECK (iuv = CASE WHEN left(notice_number, 1) = '0' THEN substr(notice_number, 4)
                      ELSE substr(notice_number, 2) END),
    CHECK ((status = 'UNPAID') = (paid_at IS NULL) AND (status = 'UNPAID') = (receipt_id IS NULL))
);

CREATE TABLE transfers (
    entity_fiscal_code  text        COLLATE "C" NOT NULL,
    option_id           bigint      NOT NULL,
    -- idTransfer of paGetPayment and of the receipts (DIGEST §5).
    transfer_index      smallint    NOT NULL CHECK (transfer_index BETWEEN 1 AND 5),
    -- Multi-beneficiary: another entity's code, with its own account.
    beneficiary_fiscal_code text    NOT NULL CHECK (length(beneficiary_fiscal_code) = 11
                                                    AND beneficiary_fiscal_code ~ '^[0-9]+$'),
    amount              bigint      NOT NULL CHECK (amount BETWEEN 1 AND 99999999999),
    iban                text        CHECK (length(iban) BETWEEN 5 AND 34
                                           AND iban ~ '^[A-Z][A-Z][0-9][0-9][A-Z0-9]+$'),
    -- An Italian IBAN at Poste Italiane (ABI 07601, DIGEST §5).
    postal_iban         text        CHECK (length(postal_iban) = 27
                                           AND postal_iban ~ '^IT[0-9][0-9][A-Z]07601[A-Z0-9]+$'),
    -- Marca da bollo digitale (sac-common-types ctRichiestaMarcaDaBollo).
    stamp_document_hash text        CHECK (length(stamp_document_hash) BETWEEN 4 AND 72
                                           AND stamp_document_hash ~ '^[A-Za-z0-9+/]+=*$'),
    stamp_type          text        CHECK (char_length(stamp_type) = 2),
    stamp_province      text        CHECK (length(stamp_province) = 2
                                           AND stamp_province ~ '^[A-Z]+$'),
    remittance_information text     NOT NULL
                                    CHECK (char_length(remittance_information) BETWEEN 1 AND 140),
    taxonomy            text        NOT NULL
                                    CHECK (length(taxonomy) = 12
                                           AND taxonomy ~ '^[6-9]/[0-9]+(IM|TS|SP|SA|AP)/$'),
    PRIMARY KEY (entity_fiscal_code, option_id, transfer_index),
    FOREIGN KEY (entity_fiscal_code, option_id)
        REFERENCES payment_options (entity_fiscal_code, id) ON DELETE CASCADE,
    -- The stamp is all three fields or none, excludes the IBANs, and something must say
    -- where the money goes (GPD TransferModel: iban XOR stamp, postalIban with iban).
    CHECK (num_nonnulls(stamp_document_hash, stamp_type, stamp_province) IN (0, 3)),
    CHECK (stamp_document_hash IS NULL OR (iban IS NULL AND postal_iban IS NULL)),
    CHECK (num_nonnulls(stamp_document_hash, iban, postal_iban) >= 1)
);

-- Accounting lines (rendicontatore contabile): which budget chapter, article, year and
-- assessment a share of a transfer belongs to. A table rather than a jsonb column: the
-- reconciliation export groups paid amounts by chapter and assessment with plain SQL, and the
-- amount and year checks live here. Their sum per transfer is checked by validation (SQL
-- cannot CHECK across rows).
CREATE TABLE accounting_entries (
    entity_fiscal_code  text        COLLATE "C" NOT NULL,
    option_id           bigint      NOT NULL,
    transfer_index      smallint    NOT NULL,
    ordinal             smallint    NOT NULL CHECK (ordinal BETWEEN 0 AND 49),
    chapter             text        NOT NULL CHECK (char_length(chapter) BETWEEN 1 AND 35),
    article             text        NOT NULL DEFAULT '' CHECK (char_length(article) <= 35),
    year                integer     NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    assessment          text        NOT NULL DEFAULT '' CHECK (char_length(assessment) <= 35),
    amount              bigint      NOT NULL CHECK (amount BETWEEN 1 AND 99999999999),
    PRIMARY KEY (entity_fiscal_code, option_id, transfer_index, ordinal),
    FOREIGN KEY (entity_fiscal_code, option_id, transfer_index)
        REFERENCES transfers (entity_fiscal_code, option_id, transfer_index) ON DELETE CASCADE
);

-- The lifecycle history: one row per transition, written in the transaction that makes it
-- (issue 3: "every transition is journaled ... and timestamped"). The event journal reads it;
-- rows are never updated or deleted.
CREATE TABLE position_events (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity_fiscal_code  text        COLLATE "C" NOT NULL,
    position_id         bigint      NOT NULL,
    event               text        NOT NULL
                                    CHECK (event IN ('CREATED', 'REPLACED', 'PUBLISHED', 'VALIDATED',
                                                     'CANCELLED', 'EXPIRED', 'OPTION_PAID')),
    -- NULL for CREATED.
    from_status         text        CHECK (from_status IN ('DRAFT', 'PUBLISHED', 'VALID',
                                                           'PARTIALLY_PAID', 'PAID', 'EXPIRED',
                                                           'CANCELLED')),
    to_status           text        NOT NULL
                                    CHECK (to_status IN ('DRAFT', 'PUBLISHED', 'VALID',
                                                         'PARTIALLY_PAID', 'PAID', 'EXPIRED',
                                                         'CANCELLED')),
    -- The option concerned (OPTION_PAID) and the receipt that paid it.
    notice_number       text,
    receipt_id          text,
    at                  timestamptz NOT NULL,
    actor_kind          text        NOT NULL
                                    CHECK (actor_kind IN ('application', 'operator', 'admin', 'system')),
    actor_id            text        NOT NULL CHECK (char_length(actor_id) BETWEEN 1 AND 128),
    request_id          text        CHECK (char_length(request_id) <= 128),
    FOREIGN KEY (entity_fiscal_code, position_id) REFERENCES positions (entity_fiscal_code, id)
);

CREATE INDEX position_events_position_idx ON position_events (entity_fiscal_code, position_id, id);

-- Notice numbers (DIGEST §5, SACI §2.2) -------------------------------------------------------
--
-- Each entity draws its 13-digit progressives from a sequence of its own, notice_seq_<fiscal
-- code>, created on first use. Why a sequence rather than a counter row: nextval never blocks
-- and is not rolled back, so 8 concurrent loaders (or a million-row INSERT ... SELECT calling
-- nextval per row) never wait for each other's commit, while a counter row updated with
-- UPDATE ... RETURNING would serialise every loader of an entity behind the longest open
-- transaction. A sequence never returns a value twice; a rolled-back load leaves a gap, and
-- IUVs need not be dense. The UNIQUE constraints of payment_options remain the guarantee.

-- The entity's sequence, created when missing. Safe under concurrency: the creation is
-- serialised by a transaction-level advisory lock on the entity, and the name is built only
-- from an 11-digit code, quoted with format('%I'), in the schema of the caller's tables. The
-- lock (and the new sequence) lasts until the creating transaction ends, so a caller about to
-- run a long transaction creates the sequence first in a short one (ensure_notice_sequence).
CREATE FUNCTION pagohub_notice_sequence(entity_fc text) RETURNS regclass
LANGUAGE plpgsql
-- "already exists, skipping" is expected after waiting for a concurrent creator.
SET client_min_messages = warning
AS $$
DECLARE
    seq_name text;
    seq      regclass;
BEGIN
    IF entity_fc IS NULL OR entity_fc !~ '^[0-9]{11}$' THEN
        RAISE EXCEPTION 'not an entity fiscal code: %', entity_fc USING ERRCODE = '22023';
    END IF;
    seq_name := format('%I.%I', current_schema(), 'notice_seq_' || entity_fc);
    seq := to_regclass(seq_name);
    IF seq IS NOT NULL THEN
        RETURN seq;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('pagohub_notice_sequence'), hashtext(entity_fc));
    -- A creator that held the lock has committed by now, but this backend's catalog cache may
    -- not know yet (an advisory lock does not process invalidations): IF NOT EXISTS looks
    -- again under the schema lock it takes.
    -- 13 digits (B13); NO CYCLE: running out is an error, never a reuse.
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %s AS bigint MINVALUE 1 MAXVALUE 9999999999999 '
                   'START 1 NO CYCLE', seq_name);
    RETURN to_regclass(seq_name);
END
$$;

-- `<aux><code 2><progressive 13><mod-93 check 2>` (SACI §2.2): aux 3 with the segregation code,
-- aux 0 with the application code. NULL for out-of-range (or NULL) arguments, which the NOT
-- NULL of notice_number then refuses (lpad would silently truncate). A single expression and
-- deliberately not STRICT, so the planner inlines it into set-based INSERTs: a CASE body is not
-- strict, and PostgreSQL does not inline a STRICT function whose body is not (a call that is
-- not inlined costs some microseconds a row, measured on a million-row load).
CREATE FUNCTION pagohub_make_notice(aux integer, code integer, progressive bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN aux IN (0, 3) AND code BETWEEN 0 AND 99 AND progressive BETWEEN 0 AND 9999999999999 THEN
            aux::text || lpad(code::text, 2, '0') || lpad(progressive::text, 13, '0')
            || lpad(((aux::bigint * 1000000000000000 + code::bigint * 10000000000000 + progressive)
                     % 93)::text, 2, '0')
    END
$$;

-- The IUV a notice number carries (DIGEST §5): aux 0 drops the application code too. Not
-- STRICT, for the same reason.
CREATE FUNCTION pagohub_notice_iuv(notice_number text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN left(notice_number, 1) = '0' THEN substr(notice_number, 4)
                ELSE substr(notice_number, 2) END
$$;

-- One fresh notice number for an entity. Convenient for single rows; a bulk load resolves the
-- sequence once (SELECT pagohub_notice_sequence($1)) and calls
-- pagohub_make_notice(aux, code, nextval($seq)) per row instead.
CREATE FUNCTION pagohub_next_notice(entity_fc text, aux integer, code integer) RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT pagohub_make_notice(aux, code, nextval(pagohub_notice_sequence(entity_fc)))
$$;

COMMENT ON TABLE positions IS 'Debt positions (posizioni debitorie) loaded by back-offices.';
COMMENT ON TABLE payment_options IS 'Ways to pay a position: one single option and/or instalments.';
COMMENT ON TABLE transfers IS 'Where the money of a payment option goes (1..5 per option).';
COMMENT ON TABLE accounting_entries IS 'Budget chapters and assessments of a transfer''s amount.';
COMMENT ON TABLE position_events IS 'Lifecycle history of positions: one row per transition.';
