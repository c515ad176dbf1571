-- 0029 A position that expires a second time is announced a second time.
--
-- An EXPIRED position comes back to VALID when a replacement moves its due date to today or
-- later (a back-office's PUT, a bulk import, an on-demand refresh), and it may expire again.
-- The event key of 0013, position-{id}-expired, was already taken by the first expiry, so the
-- second was dropped by ON CONFLICT and no back-office heard that the position had lapsed
-- again. The first expiry keeps its key (back-offices deduplicate on it); a later one gets the
-- position's version, which every replacement increments, as a suffix: stable for that
-- expiry, distinct from every other.
CREATE OR REPLACE FUNCTION positions_outbox_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    what text := CASE NEW.status WHEN 'CANCELLED' THEN 'cancelled' ELSE 'expired' END;
    event_key text := 'position-' || NEW.id || '-' || what;
    inserted integer;
BEGIN
    FOR attempt IN 1..2 LOOP
        INSERT INTO outbox (entity_fiscal_code, kind, key, payload, created_at, position_id,
                            application_id)
        VALUES (NEW.entity_fiscal_code, 'position.' || what, event_key,
                jsonb_build_object(
                    'eventId', event_key,
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
        GET DIAGNOSTICS inserted = ROW_COUNT;
        -- Cancelled is final: its key is taken once. Expired again: the version's key.
        EXIT WHEN inserted > 0 OR what = 'cancelled';
        event_key := 'position-' || NEW.id || '-expired-' || NEW.version;
    END LOOP;
    RETURN NULL;
END $$;
