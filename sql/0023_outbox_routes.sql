-- 0023 Outbox messages routed as they are written (docs/integration.md "Routing").
--
-- Until now every message was written unrouted and the delivery supervisor gave it its
-- integration afterwards (route_messages): one more UPDATE of each message, which, changing an
-- indexed column, writes a new version of the row into every index of outbox. The daemons now
-- publish their routing table here (integration::publish_routes, from the configuration and
-- the admins' overrides), and the insert trigger routes a message at once to the integration
-- the table names: the (entity, application) route, else the entity's default (application
-- ''). Messages of a pull integration are left unrouted: the routing pass hands them to the
-- feed with its journal event. The routing pass stays for everything else: a message written
-- before its route was published, and the messages unroute_stale() takes back when the
-- configuration changes.

-- One-column rules are domain constraints (docs/architecture.md "Constraints").
CREATE DOMAIN outbox_routes__entity_fiscal_code AS text
    CONSTRAINT outbox_routes_entity_fiscal_code_check
    CHECK (char_length(VALUE) BETWEEN 1 AND 35);
-- '' for the entity's default route.
CREATE DOMAIN outbox_routes__application_id AS text
    CONSTRAINT outbox_routes_application_id_check CHECK (char_length(VALUE) <= 64);
CREATE DOMAIN outbox_routes__integration_id AS text
    CONSTRAINT outbox_routes_integration_id_check CHECK (char_length(VALUE) BETWEEN 1 AND 40);
CREATE DOMAIN outbox_routes__mode AS text
    CONSTRAINT outbox_routes_mode_check CHECK (VALUE IN ('push', 'pull', 'file'));

CREATE TABLE outbox_routes (
    entity_fiscal_code outbox_routes__entity_fiscal_code COLLATE "C" NOT NULL,
    application_id     outbox_routes__application_id COLLATE "C" NOT NULL,
    integration_id     outbox_routes__integration_id COLLATE "C" NOT NULL,
    mode               outbox_routes__mode NOT NULL,
    PRIMARY KEY (entity_fiscal_code, application_id)
);

COMMENT ON TABLE outbox_routes IS
    'The delivery routing table the daemons publish; outbox_fill_route() reads it on insert.';

CREATE OR REPLACE FUNCTION outbox_fill_route() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    route record;
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
    IF NEW.integration_id IS NULL AND NEW.state = 'PENDING' THEN
        -- The application's own route first, then the entity's default.
        SELECT r.integration_id, r.mode INTO route
          FROM outbox_routes r
         WHERE r.entity_fiscal_code = NEW.entity_fiscal_code
           AND r.application_id IN (coalesce(NEW.application_id, ''), '')
         ORDER BY r.application_id = '' LIMIT 1;
        IF FOUND AND route.mode <> 'pull' THEN
            NEW.integration_id := route.integration_id;
        END IF;
    END IF;
    RETURN NEW;
END $$;
