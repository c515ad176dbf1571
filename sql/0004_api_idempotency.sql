-- 0004 api idempotency: the Idempotency-Key header of POST /positions (ARCHITECTURE §5,
-- draft-ietf-httpapi-idempotency-key-header). A retried create with the same key and the same
-- body gets the first answer again instead of a second position; the same key with another
-- body is refused. The row is written in the transaction that creates the position, so either
-- both exist or neither does.

CREATE TABLE api_idempotency_keys (
    -- Keys are scoped like the positions they create: one application, one entity.
    entity_fiscal_code  text        NOT NULL CHECK (entity_fiscal_code ~ '^[0-9]{11}$'),
    application_id      text        NOT NULL CHECK (char_length(application_id) BETWEEN 1 AND 64),
    idempotency_key     text        NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
    -- BLAKE2b-256 (hex) of the request body: "same request" means the same bytes.
    request_digest      text        NOT NULL CHECK (request_digest ~ '^[0-9a-f]{64}$'),
    -- The first answer, replayed as is. 0 / '' only inside the creating transaction, which
    -- fills them before it commits.
    response_status     integer     NOT NULL,
    response_body       text        NOT NULL,
    -- The position created, for operators following a key to its result.
    external_id         text,
    -- The key's life starts here; after 24 hours it may be reused for a new request and the
    -- purge job deletes it.
    created_at          timestamptz NOT NULL,
    PRIMARY KEY (entity_fiscal_code, application_id, idempotency_key)
);

-- The purge deletes by age.
CREATE INDEX api_idempotency_keys_created_idx ON api_idempotency_keys (created_at);

COMMENT ON TABLE api_idempotency_keys IS
    'Idempotency-Key of REST creates: the first response per (entity, application, key), 24 h.';
