-- 0008 imports: bulk loads of debt positions ("flussi massivi", issue 3; docs/api/bulk-csv.md,
-- docs/imports.md). A back-office uploads a CSV or NDJSON file; pagohub answers 202 once the
-- file is stored here, then a background processor parses and judges every row, and loads the
-- valid positions with a few set-based statements (ARCHITECTURE §5).
--
-- The life of an import, in imports.state:
--   queued -> validating -> loading -> done
--                 \             \----> failed   (all-or-nothing with a bad row; a file-level
--                  \--------------->   failed    problem such as a missing column)
-- The load is one transaction that also sets the final state and writes the report, so a
-- crash at any point leaves either everything or nothing: an import found in queued,
-- validating or loading after a restart is processed again from its stored upload.

CREATE TABLE imports (
    entity_fiscal_code  text        COLLATE "C" NOT NULL
                                    CHECK (length(entity_fiscal_code) = 11
                                           AND entity_fiscal_code ~ '^[0-9]+$'),
    id                  bigint      GENERATED ALWAYS AS IDENTITY,
    -- The back-office application that uploaded the file: its positions are the ones the file
    -- creates, replaces or cancels, and only it reads the import back.
    application_id      text        COLLATE "C" NOT NULL
                                    CHECK (char_length(application_id) BETWEEN 1 AND 64),
    format              text        NOT NULL CHECK (format IN ('csv', 'ndjson')),
    -- all-or-nothing: any bad row rejects the whole file; valid-rows: bad rows are reported
    -- and the others loaded.
    mode                text        NOT NULL CHECK (mode IN ('all-or-nothing', 'valid-rows')),
    state               text        NOT NULL DEFAULT 'queued'
                                    CHECK (state IN ('queued', 'validating', 'loading', 'done',
                                                     'failed')),
    file_bytes          bigint      NOT NULL CHECK (file_bytes >= 0),
    -- Progress of the current phase, for GET .../imports/{id}: bytes parsed so far, and a
    -- percentage over the whole import (parsing is most of it until the load starts).
    bytes_read          bigint      NOT NULL DEFAULT 0,
    progress            smallint    NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    -- Records of the file (CSV data rows, NDJSON lines), and how they were judged.
    rows_read           bigint      NOT NULL DEFAULT 0,
    rows_valid          bigint      NOT NULL DEFAULT 0,
    rows_invalid        bigint      NOT NULL DEFAULT 0,
    positions_created   bigint      NOT NULL DEFAULT 0,
    positions_updated   bigint      NOT NULL DEFAULT 0,
    positions_cancelled bigint      NOT NULL DEFAULT 0,
    positions_unchanged bigint      NOT NULL DEFAULT 0,
    -- Why the import failed as a whole (file-level problem, all-or-nothing rejection).
    error               text,
    -- Processing starts; a file that keeps crashing the processor is given up after a few.
    attempts            integer     NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL,
    started_at          timestamptz,
    validated_at        timestamptz,
    finished_at         timestamptz,
    -- Who uploaded it (never the API key).
    actor_kind          text        NOT NULL
                                    CHECK (actor_kind IN ('application', 'operator', 'admin', 'system')),
    actor_id            text        NOT NULL CHECK (char_length(actor_id) BETWEEN 1 AND 128),
    request_id          text        CHECK (char_length(request_id) <= 128),
    PRIMARY KEY (entity_fiscal_code, id),
    CHECK ((state IN ('done', 'failed')) = (finished_at IS NOT NULL))
);

-- The processors look for unfinished imports; there are few, so a partial index stays tiny.
CREATE INDEX imports_pending_idx ON imports (id) WHERE state IN ('queued', 'validating', 'loading');
-- An application lists its imports, newest first.
CREATE INDEX imports_application_idx ON imports (entity_fiscal_code, application_id, id);

-- The uploaded file as received, in chunks of about a megabyte, in order. Kept in the database
-- rather than on the daemon's disk: the 202 answer promises the import, so the file must be
-- committed before it (ARCHITECTURE §5), and any pagohubd sharing the database can process or
-- resume it (§10). Deleted when the import ends. Bytes, not text: a file with invalid UTF-8
-- must still be stored, to be reported line by line.
CREATE TABLE import_uploads (
    entity_fiscal_code  text        COLLATE "C" NOT NULL,
    import_id           bigint      NOT NULL,
    seq                 integer     NOT NULL CHECK (seq >= 0),
    data                bytea       NOT NULL,
    PRIMARY KEY (entity_fiscal_code, import_id, seq),
    FOREIGN KEY (entity_fiscal_code, import_id)
        REFERENCES imports (entity_fiscal_code, id) ON DELETE CASCADE
);
-- CSV compresses well, but pglz at a megabyte a row costs more CPU than the disk it saves
-- for a file that lives minutes.
ALTER TABLE import_uploads ALTER COLUMN data SET STORAGE EXTERNAL;

-- The per-row report (line, external id, operation, outcome, notice number, error path, code
-- and message), as CSV text in chunks of consecutive lines: GET .../report streams the chunks in
-- order. Written by the transaction that decides the import (the load, or the rejection), so an
-- import in state done or failed always has its report. Chunks rather than one row per line:
-- a million-line report costs one aggregate instead of a million indexed inserts inside the
-- load transaction.
CREATE TABLE import_reports (
    entity_fiscal_code  text        COLLATE "C" NOT NULL,
    import_id           bigint      NOT NULL,
    seq                 integer     NOT NULL CHECK (seq >= 0),
    data                text        NOT NULL,
    PRIMARY KEY (entity_fiscal_code, import_id, seq),
    FOREIGN KEY (entity_fiscal_code, import_id)
        REFERENCES imports (entity_fiscal_code, id) ON DELETE CASCADE
);

-- The staging rows of an import: one row per payment option of the file (a CSV row, or one
-- option of an NDJSON line), typed and judged by the processor's streaming pass, written with
-- COPY. Each import gets a table of its own, import_stage_<id>, created LIKE this template and
-- dropped when the import ends: dropping a table is instant and leaves nothing to vacuum,
-- where deleting a million rows is not. UNLOGGED: staging rows are rebuilt from import_uploads
-- whenever they are lost (a database crash empties unlogged tables), so writing them to the WAL
-- would only slow the COPY down. The entity is the import's (imports.entity_fiscal_code).
CREATE UNLOGGED TABLE import_stage_template (
    -- The position's number in the file (1, 2, ...), the option's index within it, and the
    -- file line where the option's record starts (header = line 1 for CSV).
    seq                 integer     NOT NULL,
    ordinal             smallint    NOT NULL,
    line                integer     NOT NULL,
    op                  text        COLLATE "C",      -- UPSERT or CANCEL
    external_id         text        COLLATE "C",
    -- Rule violations found by the streaming pass, as a JSON array of {path, code, message};
    -- NULL when the row is fine. A position is loaded only if none of its rows has any.
    errors              jsonb,
    -- Ids drawn from the sequences by the streaming pass (a replaced position keeps its own id,
    -- an option without a supplied notice number gets the notice progressive).
    position_id         bigint,
    option_id           bigint,
    notice_progressive  bigint,
    -- The position (on every row of it, equal).
    debtor_type         text,
    debtor_fiscal_code  text        COLLATE "C",
    debtor_full_name    text,
    debtor_street_name  text,
    debtor_civic_number text,
    debtor_postal_code  text,
    debtor_city         text,
    debtor_state_province_region text,
    debtor_country      text,
    debtor_email        text,
    debtor_phone        text,
    description         text,
    service_code        text        COLLATE "C",
    reference_year      integer,
    validity_date       timestamptz,
    position_due_date   date,
    metadata            jsonb,
    -- The option.
    kind                text        COLLATE "C",
    instalment          smallint,
    notice_number       text        COLLATE "C",      -- supplied by the file, else NULL
    amount              bigint,
    due_date            date,
    option_description  text,
    -- Its first transfer (the common case is one transfer per option).
    t_index             smallint,
    t_beneficiary       text,
    t_amount            bigint,
    t_iban              text,
    t_postal_iban       text,
    t_stamp_hash        text,
    t_stamp_type        text,
    t_stamp_province    text,
    t_remittance        text,
    t_taxonomy          text,
    -- The rest, rare: transfers 2..5 and every accounting line, as
    -- {"transfers": [...], "accounting": [...]} in the column names of the tables.
    extra               jsonb
);

COMMENT ON TABLE imports IS 'Bulk loads of debt positions: one row per uploaded file.';
COMMENT ON TABLE import_uploads IS 'Uploaded import files, in chunks, until processed.';
COMMENT ON TABLE import_reports IS 'Per-row outcome of each import, as CSV text in chunks.';
COMMENT ON TABLE import_stage_template IS
    'Shape of the per-import staging tables import_stage_<id> (created LIKE it, unlogged).';

-- A field of the report CSV (RFC 4180): quoted when it holds a delimiter, a quote or a line
-- break. Plain SQL so that the planner inlines it into the report aggregate.
CREATE FUNCTION pagohub_csv_field(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN value IS NULL THEN ''
                WHEN strpos(value, ',') > 0 OR strpos(value, '"') > 0 OR strpos(value, chr(10)) > 0
                     OR strpos(value, chr(13)) > 0 OR strpos(value, ';') > 0
                THEN '"' || replace(value, '"', '""') || '"'
                ELSE value END
$$;
