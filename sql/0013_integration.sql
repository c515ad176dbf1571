-- 0013 integration: delivering the outbox to the entities' back-offices (docs/integration.md).
--
-- The outbox (0011) gets what delivery needs: the route (the position's back-office
-- application, and the integration the message was routed to), the attempt counters and the
-- back-off schedule, the claim of the daemon sending it, and the outcome. Existing writers keep
-- working unchanged: they insert kind, key, payload and created_at, the state defaults to
-- PENDING, and a trigger fills the position and application of receipts from the rows the same
-- transaction already wrote.
--
-- States: PENDING (waiting, possibly for its next attempt) -> DELIVERING (claimed by one daemon
-- with FOR UPDATE SKIP LOCKED, until claimed_until) -> DELIVERED, or back to PENDING with a
-- later next_attempt_at, or DEAD (a 4xx answer, or attempts / age exhausted). Operators move
-- DEAD (or DELIVERED, to send again) back to PENDING. FAILED (0011) was never written.

ALTER TABLE outbox DROP CONSTRAINT outbox_state_check;
ALTER TABLE outbox
    ADD CONSTRAINT outbox_state_check
        CHECK (state IN ('PENDING', 'DELIVERING', 'DELIVERED', 'DEAD')),
    -- The position the message is about (receipts matched to one, position events), and its
    -- back-office application: the route is (entity, application) -> integration.
    ADD COLUMN position_id      bigint,
    ADD COLUMN application_id   text COLLATE "C" CHECK (char_length(application_id) BETWEEN 1 AND 64),
    -- The [[integration]] id the message was routed to; NULL until routed (an entity without
    -- an integration keeps its messages here, unrouted, until one is configured).
    ADD COLUMN integration_id   text COLLATE "C" CHECK (char_length(integration_id) BETWEEN 1 AND 40),
    ADD COLUMN attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    ADD COLUMN next_attempt_at  timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN claimed_by       text,
    ADD COLUMN claimed_until    timestamptz,
    ADD COLUMN last_status      integer     CHECK (last_status BETWEEN 100 AND 599),
    ADD COLUMN last_error       text        CHECK (char_length(last_error) <= 2000),
    ADD COLUMN last_attempt_at  timestamptz,
    ADD COLUMN delivered_at     timestamptz,
    -- push (webhook), file (a file written), pull (left to the receipts feed).
    ADD COLUMN delivered_via    text        CHECK (delivered_via IN ('push', 'file', 'pull')),
    ADD COLUMN dead_at          timestamptz,
    ADD CONSTRAINT outbox_delivering_claimed
        CHECK (state <> 'DELIVERING' OR (claimed_by IS NOT NULL AND claimed_until IS NOT NULL)),
    ADD CONSTRAINT outbox_delivered_when CHECK (state <> 'DELIVERED' OR delivered_at IS NOT NULL);

DROP INDEX outbox_pending_idx;
-- The claim: an integration's due messages in id order.
CREATE INDEX outbox_due_idx ON outbox (integration_id, next_attempt_at, id) WHERE state = 'PENDING';
-- Routing picks unrouted messages in id order.
CREATE INDEX outbox_unrouted_idx ON outbox (id) WHERE integration_id IS NULL AND state = 'PENDING';
-- Per-position ordering: "is an earlier message of this position still on its way?"
CREATE INDEX outbox_position_open_idx ON outbox (entity_fiscal_code, position_id, id)
    WHERE state IN ('PENDING', 'DELIVERING') AND position_id IS NOT NULL;
-- Metrics count the messages not yet delivered, per integration and state, from this small set.
CREATE INDEX outbox_open_idx ON outbox (integration_id, state) WHERE state <> 'DELIVERED';
-- Claims left behind by a daemon that stopped.
CREATE INDEX outbox_claims_idx ON outbox (claimed_until) WHERE state = 'DELIVERING';
-- The operators' lists: by entity and state, newest first; by entity and date.
CREATE INDEX outbox_entity_state_idx ON outbox (entity_fiscal_code, state, id);
CREATE INDEX outbox_entity_created_idx ON outbox (entity_fiscal_code, created_at, id);

-- Receipts: the position (and so the application) is known from the receipts row the same
-- transaction inserted just before (src/pap/receipt_processing.cpp); a writer may also set
-- them itself.
CREATE FUNCTION outbox_fill_route() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.position_id IS NULL AND NEW.kind = 'receipt' THEN
        SELECT r.position_id INTO NEW.position_id
          FROM receipts r
         WHERE r.entity_fiscal_code = NEW.entity_fiscal_code AND r.receipt_id = NEW.key;
    END IF;
    IF NEW.application_id IS NULL AND NEW.position_id IS NOT NULL THEN
        SELECT p.application_id INTO NEW.application_id
          FROM positions p
         WHERE p.entity_fiscal_code = NEW.entity_fiscal_code AND p.id = NEW.position_id;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER outbox_fill_route BEFORE INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_fill_route();

-- Position events: a position cancelled (by its back-office or an operator) or expired (the
-- lifecycle sweep) tells its back-office, in the transaction of the change (ARCHITECTURE §5).
-- A trigger covers every writer, including the set-based expiry sweep. The key is stable, so
-- a repeated change inserts nothing.
CREATE FUNCTION positions_outbox_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    what text := CASE NEW.status WHEN 'CANCELLED' THEN 'cancelled' ELSE 'expired' END;
BEGIN
    INSERT INTO outbox (entity_fiscal_code, kind, key, payload, created_at, position_id,
                        application_id)
    VALUES (NEW.entity_fiscal_code, 'position.' || what,
            'position-' || NEW.id || '-' || what,
            jsonb_build_object(
                'eventId', 'position-' || NEW.id || '-' || what,
                'type', 'position.' || what,
                'entityFiscalCode', NEW.entity_fiscal_code,
                'applicationId', NEW.application_id,
                'positionExternalId', NEW.external_id,
                'serviceCode', NEW.service_code,
                'status', NEW.status,
                'previousStatus', OLD.status,
                'occurredAt', to_char(NEW.updated_at AT TIME ZONE 'UTC',
                                      'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
            NEW.updated_at, NEW.id, NEW.application_id)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER positions_outbox_event AFTER UPDATE OF status ON positions
    FOR EACH ROW WHEN (NEW.status IN ('CANCELLED', 'EXPIRED') AND OLD.status <> NEW.status)
    EXECUTE FUNCTION positions_outbox_event();

-- Every attempt at delivering a message: what was answered, or why nothing was.
CREATE TABLE outbox_attempts (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id           bigint      NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    entity_fiscal_code  text        COLLATE "C" NOT NULL,
    integration_id      text        COLLATE "C" NOT NULL,
    attempt             integer     NOT NULL CHECK (attempt >= 1),
    started_at          timestamptz NOT NULL,
    duration_ms         integer     NOT NULL CHECK (duration_ms >= 0),
    -- The HTTP status answered; NULL when none was (connection refused, timeout, file error).
    http_status         integer     CHECK (http_status BETWEEN 100 AND 599),
    -- The first 2 KB of the answer: enough to read a problem+json, never a whole page.
    response_body       text        CHECK (octet_length(response_body) <= 2048),
    error               text        CHECK (char_length(error) <= 2000),
    outcome             text        NOT NULL CHECK (outcome IN ('DELIVERED', 'RETRY', 'DEAD')),
    instance_id         text
);
CREATE INDEX outbox_attempts_message_idx ON outbox_attempts (outbox_id, id);

-- Operators' runtime state of an integration (ARCHITECTURE §7): it wins over the configured
-- `state`. Every change is also a journal event with its actor and reason.
CREATE TABLE integration_states (
    integration_id  text        COLLATE "C" PRIMARY KEY CHECK (char_length(integration_id) BETWEEN 1 AND 40),
    state           text        NOT NULL CHECK (state IN ('ACTIVE', 'SUSPENDED')),
    changed_at      timestamptz NOT NULL,
    changed_by_kind text        NOT NULL,
    changed_by_id   text        NOT NULL,
    reason          text        CHECK (char_length(reason) <= 500)
);

COMMENT ON TABLE outbox_attempts IS 'Each attempt at delivering an outbox message to a back-office.';
COMMENT ON TABLE integration_states IS 'Suspended/active state of back-office integrations set by operators.';
