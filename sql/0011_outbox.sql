-- 0011 outbox: messages for the entities' back-offices, written in the transaction of the state
-- change they report (ARCHITECTURE §5), delivered later by the integration module.
--
-- Minimal on purpose: the delivery side (claiming with FOR UPDATE SKIP LOCKED, attempts,
-- back-off, webhooks) adds its columns in its own migration.

CREATE TABLE outbox (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity_fiscal_code  text        COLLATE "C" NOT NULL
                                    CHECK (length(entity_fiscal_code) = 11
                                           AND entity_fiscal_code ~ '^[0-9]+$'),
    -- What happened: "receipt" for a receipt delivered by pagoPA.
    kind                text        COLLATE "C" NOT NULL CHECK (char_length(kind) BETWEEN 1 AND 64),
    -- The idempotency key of the message within its kind (the receipt id).
    key                 text        COLLATE "C" NOT NULL CHECK (char_length(key) BETWEEN 1 AND 128),
    payload             jsonb       NOT NULL,
    created_at          timestamptz NOT NULL,
    state               text        NOT NULL DEFAULT 'PENDING'
                                    CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
    CONSTRAINT outbox_message_key UNIQUE (entity_fiscal_code, kind, key)
);

CREATE INDEX outbox_pending_idx ON outbox (id) WHERE state = 'PENDING';

COMMENT ON TABLE outbox IS 'Messages to back-offices, committed with the change they report.';
