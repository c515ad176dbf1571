-- 0007 journal: the Giornale degli Eventi (SANP2 ch. 6, Tab. 29; DIGEST §7), docs/journal.md.
--
-- Three append-only tables, each range-partitioned by month (UTC):
--   journal_events    one row per event: the SANP fields plus ours;
--   journal_payloads  the redacted, zlib-compressed message of an event, kept apart so that
--                     retention can drop payloads (large, personal) long before the events;
--   journal_chain     the hash chain: per month, each sealed event's SHA-256 over the previous
--                     link and the event's canonical content.
-- Rows are never updated or deleted: triggers refuse UPDATE, DELETE and TRUNCATE (grants alone
-- do not bind a table owner or a superuser). Retention drops whole monthly partitions, which
-- no trigger sees. A DEFAULT partition catches an event whose month has no partition yet, so a
-- missing partition never makes a state change fail; journal_ensure_month() moves such rows
-- into the month's partition when it creates it.

CREATE SEQUENCE journal_events_id_seq AS bigint;

CREATE TABLE journal_events (
    id                bigint      NOT NULL DEFAULT nextval('journal_events_id_seq'),
    -- dataOraEvento: UTC; SANP shows milliseconds, we keep what the clock gave (microseconds).
    event_time        timestamptz NOT NULL,
    entity_fc         text CHECK (char_length(entity_fc) <= 35),        -- identificativoDominio
    iuv               text CHECK (char_length(iuv) <= 35),              -- identificativoUnivocoVersamento
    ccp               text CHECK (char_length(ccp) <= 35),              -- codiceContestoPagamento
    psp_id            text CHECK (char_length(psp_id) <= 35),           -- identificativoPrestatoreServiziPagamento
    payment_type      text CHECK (char_length(payment_type) <= 35),     -- tipoVersamento
    component         text NOT NULL CHECK (char_length(component) BETWEEN 1 AND 35),  -- componente
    category          text NOT NULL CHECK (category IN ('INTERFACCIA', 'INTERNO')),  -- categoriaEvento
    event_type        text NOT NULL CHECK (char_length(event_type) BETWEEN 1 AND 35), -- tipoEvento
    event_subtype     text NOT NULL CHECK (char_length(event_subtype) BETWEEN 1 AND 35), -- sottoTipoEvento
    caller_id         text NOT NULL CHECK (char_length(caller_id) BETWEEN 1 AND 35),  -- identificativoFruitore
    provider_id       text NOT NULL CHECK (char_length(provider_id) BETWEEN 1 AND 35), -- identificativoErogatore
    station_id        text CHECK (char_length(station_id) <= 35),       -- identificativoStazioneIntermediarioPA
    channel_id        text CHECK (char_length(channel_id) <= 35),       -- canalePagamento
    interface_params  text CHECK (char_length(interface_params) <= 512), -- parametriSpecificiInterfaccia
    outcome           text CHECK (char_length(outcome) <= 35),          -- esito
    -- Ours: correlation with the HTTP access log, the payment, who acted, how it went.
    request_id        text CHECK (char_length(request_id) <= 64),
    notice_number     text CHECK (notice_number ~ '^[0-9]{18}$'),
    actor_kind        text NOT NULL
                      CHECK (actor_kind IN ('system', 'application', 'operator', 'admin', 'nodo',
                                            'citizen', 'job')),
    actor_id          text NOT NULL CHECK (char_length(actor_id) <= 128),
    duration_ms       integer CHECK (duration_ms >= 0),
    http_status       smallint CHECK (http_status BETWEEN 100 AND 599),
    fault_code        text CHECK (char_length(fault_code) <= 64),
    -- Which exchange kind the event belongs to (rest, soap_pa, soap_nodo, webhook, import,
    -- internal): the payload policy that applied.
    interface         text NOT NULL CHECK (interface ~ '^[a-z_]{1,16}$'),
    -- SHA-256 of the stored payload (see docs/journal.md), NULL when none was stored. The hash
    -- chain covers it, so a payload stays verifiable, and can be dropped, apart from the event.
    payload_sha256    bytea CHECK (octet_length(payload_sha256) = 32),
    -- The inserting transaction's id. The sealer links an event into the chain only once every
    -- transaction that could still commit an earlier one has ended (see journal_seal_state).
    txid              bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    PRIMARY KEY (id, event_time)
) PARTITION BY RANGE (event_time);

COMMENT ON TABLE journal_events IS
    'Giornale degli Eventi (SANP2 ch. 6): append-only, partitioned by month; docs/journal.md.';

-- "What happened to this payment?": every event of one notice, in order.
CREATE INDEX journal_events_timeline_idx ON journal_events (entity_fc, notice_number, event_time, id)
    WHERE notice_number IS NOT NULL;
-- Cross-checks by IUV (pagoPA asks by identificativoDominio + IUV, often by IUV alone).
CREATE INDEX journal_events_iuv_idx ON journal_events (iuv, event_time, id) WHERE iuv IS NOT NULL;
-- Correlation with the access log and between the req and rsp of one exchange.
CREATE INDEX journal_events_request_idx ON journal_events (request_id) WHERE request_id IS NOT NULL;
-- An entity's events over a time range (lists, exports).
CREATE INDEX journal_events_entity_time_idx ON journal_events (entity_fc, event_time, id);
-- Time ranges across entities (admins, cross-checks of a period), in the order pages need.
CREATE INDEX journal_events_time_idx ON journal_events (event_time, id);
-- The sealer's scan by transaction id: it grows with insertion order, so a BRIN index answers
-- it from a few pages per partition at almost no cost on insert.
CREATE INDEX journal_events_txid_brin ON journal_events USING brin (txid);

CREATE TABLE journal_payloads (
    event_id        bigint      NOT NULL,
    event_time      timestamptz NOT NULL,
    content_type    text        NOT NULL,
    -- Size of the redacted message before compression.
    original_bytes  integer     NOT NULL CHECK (original_bytes >= 0),
    -- Redacted HTTP headers, one "Name: value" per line; may be empty.
    headers         text        NOT NULL DEFAULT '',
    -- zlib stream (RFC 1950) of the redacted message.
    body            bytea       NOT NULL,
    PRIMARY KEY (event_id, event_time)
) PARTITION BY RANGE (event_time);

COMMENT ON TABLE journal_payloads IS
    'Redacted, compressed messages of journal events; kept for payload_retention_months.';

CREATE TABLE journal_chain (
    month       date        NOT NULL,  -- first day of the event's month, UTC
    seq         bigint      NOT NULL CHECK (seq >= 1),
    event_id    bigint      NOT NULL,
    event_time  timestamptz NOT NULL,
    -- SHA-256(previous link's hash || canonical content); the link before seq 1 is
    -- SHA-256('pagohub journal ' || 'YYYY-MM').
    hash        bytea       NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (month, seq),
    UNIQUE (month, event_id)
) PARTITION BY RANGE (month);

COMMENT ON TABLE journal_chain IS
    'Hash chain of journal_events, one chain per month; written by the sealer job.';

-- Where each month's chain ends: the sealer's cursor (mutable; verify compares it too).
CREATE TABLE journal_chain_heads (
    month       date        PRIMARY KEY,
    last_seq    bigint      NOT NULL,
    last_hash   bytea       NOT NULL CHECK (octet_length(last_hash) = 32),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The sealer's position in (txid, id) order. Only events of transactions older than the
-- oldest one still running are sealed: their set can no longer grow, so the chain order is
-- final when it is written, whatever order concurrent transactions commit in.
CREATE TABLE journal_seal_state (
    singleton    boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    sealed_txid  bigint      NOT NULL DEFAULT 0,
    sealed_id    bigint      NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO journal_seal_state DEFAULT VALUES;

-- Append-only (DIGEST §7: the journal is evidence). Raised as insufficient_privilege so that
-- callers see it as a permission problem, not a data error.
CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'events leave the journal only by retention, which drops whole months';
END
$$;

CREATE TRIGGER journal_events_append_only BEFORE UPDATE OR DELETE ON journal_events
    FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_payloads_append_only BEFORE UPDATE OR DELETE ON journal_payloads
    FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_chain_append_only BEFORE UPDATE OR DELETE ON journal_chain
    FOR EACH ROW EXECUTE FUNCTION journal_append_only();
-- TRUNCATE triggers are not inherited by partitions: journal_ensure_month() adds one to each.
CREATE TRIGGER journal_events_no_truncate BEFORE TRUNCATE ON journal_events
    FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_payloads_no_truncate BEFORE TRUNCATE ON journal_payloads
    FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_chain_no_truncate BEFORE TRUNCATE ON journal_chain
    FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();

-- One partition of `parent` for `month` (first day), named <parent>_YYYYMM, unless it exists.
-- Rows of that month already in the DEFAULT partition are moved into it: the default is
-- detached, the month attached, a fresh default made, the old default's rows inserted anew
-- (they route to the month or the new default) and the old default dropped. Nothing is
-- updated or deleted, so the append-only triggers stay on. Returns true when it created one.
CREATE FUNCTION journal_ensure_month(parent text, month date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    part    text := parent || '_' || to_char(month, 'YYYYMM');
    dflt    text := parent || '_default';
    key     text := CASE WHEN parent = 'journal_chain' THEN 'month' ELSE 'event_time' END;
    lo      text;
    hi      text;
    pending boolean;
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    IF parent = 'journal_chain' THEN
        lo := quote_literal(month::text);
        hi := quote_literal((month + interval '1 month')::date::text);
    ELSE
        lo := quote_literal(month::text || ' 00:00:00+00');
        hi := quote_literal((month + interval '1 month')::date::text || ' 00:00:00+00');
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= %s AND %I < %s)',
                   dflt, key, lo, key, hi) INTO pending;
    IF pending THEN
        EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, dflt);
        EXECUTE format('ALTER TABLE %I RENAME TO %I', dflt, dflt || '_moving');
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                       part, parent, lo, hi);
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', dflt, parent);
        EXECUTE format('CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only()', dflt);
        EXECUTE format('INSERT INTO %I SELECT * FROM %I', parent, dflt || '_moving');
        EXECUTE format('DROP TABLE %I', dflt || '_moving');
    ELSE
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                       part, parent, lo, hi);
    END IF;
    EXECUTE format('CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only()', part);
    RETURN true;
END
$$;

-- Partitions of the three tables from the month of `at` to `months_ahead` months later.
-- Returns how many tables it created.
CREATE FUNCTION journal_ensure_partitions(months_ahead integer, at timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    first   date := date_trunc('month', at AT TIME ZONE 'UTC')::date;
    created integer := 0;
    parent  text;
BEGIN
    IF months_ahead < 0 OR months_ahead > 120 THEN
        RAISE EXCEPTION 'months_ahead must be 0..120, not %', months_ahead;
    END IF;
    -- One maintenance run at a time across daemons (the jobs lease already ensures this; the
    -- lock also covers start-up, which runs outside the scheduler).
    PERFORM pg_advisory_xact_lock(hashtext('pagohub.journal.partitions'));
    FOR i IN 0 .. months_ahead LOOP
        FOREACH parent IN ARRAY ARRAY['journal_events', 'journal_payloads', 'journal_chain'] LOOP
            IF journal_ensure_month(parent, (first + make_interval(months => i))::date) THEN
                created := created + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;

-- Retention: drops the monthly partitions of events (and their chain) older than
-- `event_months` full months before the month of `at`, and of payloads older than
-- `payload_months`. Dropping a partition is the cheap way: no row-by-row delete, no bloat,
-- no vacuum, and the append-only triggers are not involved. Returns the tables dropped.
CREATE FUNCTION journal_apply_retention(event_months integer, payload_months integer,
                                        at timestamptz DEFAULT now())
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    current_month date := date_trunc('month', at AT TIME ZONE 'UTC')::date;
    r record;
    keep_from date;
BEGIN
    IF event_months < 1 OR payload_months < 0 OR payload_months > event_months THEN
        RAISE EXCEPTION 'retention: need 1 <= event_months and 0 <= payload_months <= event_months';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('pagohub.journal.partitions'));
    FOR r IN
        SELECT c.relname AS name, p.relname AS parent,
               to_date(right(c.relname, 6), 'YYYYMM') AS month
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
          JOIN pg_class p ON p.oid = i.inhparent
         WHERE p.relname IN ('journal_events', 'journal_payloads', 'journal_chain')
           AND c.relnamespace = p.relnamespace
           AND p.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
           AND c.relname ~ '_[0-9]{6}$'
         ORDER BY 3, 2
    LOOP
        keep_from := (current_month - make_interval(months =>
            CASE WHEN r.parent = 'journal_payloads' THEN payload_months ELSE event_months END))::date;
        IF r.month < keep_from THEN
            EXECUTE format('DROP TABLE %I', r.name);
            IF r.parent = 'journal_chain' THEN
                DELETE FROM journal_chain_heads WHERE month = r.month;
            END IF;
            RETURN NEXT r.name;
        END IF;
    END LOOP;
END
$$;

CREATE TABLE journal_events_default PARTITION OF journal_events DEFAULT;
CREATE TABLE journal_payloads_default PARTITION OF journal_payloads DEFAULT;
CREATE TABLE journal_chain_default PARTITION OF journal_chain DEFAULT;
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal_events_default
    FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal_payloads_default
    FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal_chain_default
    FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();

-- The current month and the next three exist from the start; the daemon extends this at
-- start and daily (journal.months_ahead).
SELECT journal_ensure_partitions(3);
