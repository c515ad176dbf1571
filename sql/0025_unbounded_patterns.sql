-- 0025 The last bounded repetitions ({n}, {n,m}) in the patterns of often-written columns.
--
-- PostgreSQL's regex engine expands a bounded repetition into that many copies of its states:
-- '^[0-9]{18}$' costs several times '^[0-9]+$' plus a length test, for the same rule. The
-- positions tables were written that way from the start (sql/0002); these domains were not,
-- and journal_events pays two of them on every event (three to four events per create or
-- SOAP exchange). Measured by inserting 300,000 rows into a table of two columns of such domains:
-- 4.3-4.6 µs per row with the bounded patterns, 0.6-1.9 µs with the form below.
--
-- Each rule stays the same (the characters allowed here are single bytes, so octet_length is
-- the length in characters), and so does its constraint's name, so the error a bad value gets
-- is unchanged. NOT VALID for the reason given in sql/0018: every stored value satisfied the
-- identical rule dropped just before. The patterns that are written rarely (the daemon's
-- instance id, job lease names) keep their exact form.

ALTER DOMAIN journal_events__notice_number DROP CONSTRAINT journal_events_notice_number_check;
ALTER DOMAIN journal_events__notice_number ADD CONSTRAINT journal_events_notice_number_check
    CHECK (VALUE ~ '^[0-9]+$' AND octet_length(VALUE) = 18) NOT VALID;

ALTER DOMAIN journal_events__interface DROP CONSTRAINT journal_events_interface_check;
ALTER DOMAIN journal_events__interface ADD CONSTRAINT journal_events_interface_check
    CHECK (VALUE ~ '^[a-z_]+$' AND octet_length(VALUE) <= 16) NOT VALID;

ALTER DOMAIN receipts__notice_number DROP CONSTRAINT receipts_notice_number_check;
ALTER DOMAIN receipts__notice_number ADD CONSTRAINT receipts_notice_number_check
    CHECK (VALUE ~ '^[0-9]+$' AND octet_length(VALUE) = 18) NOT VALID;

ALTER DOMAIN rpt_activations__notice_number DROP CONSTRAINT rpt_activations_notice_number_check;
ALTER DOMAIN rpt_activations__notice_number ADD CONSTRAINT rpt_activations_notice_number_check
    CHECK (VALUE ~ '^[0-9]+$' AND octet_length(VALUE) = 18) NOT VALID;

ALTER DOMAIN api_idempotency_keys__entity_fiscal_code
    DROP CONSTRAINT api_idempotency_keys_entity_fiscal_code_check;
ALTER DOMAIN api_idempotency_keys__entity_fiscal_code
    ADD CONSTRAINT api_idempotency_keys_entity_fiscal_code_check
    CHECK (VALUE ~ '^[0-9]+$' AND octet_length(VALUE) = 11) NOT VALID;

ALTER DOMAIN api_idempotency_keys__request_digest
    DROP CONSTRAINT api_idempotency_keys_request_digest_check;
ALTER DOMAIN api_idempotency_keys__request_digest
    ADD CONSTRAINT api_idempotency_keys_request_digest_check
    CHECK (VALUE ~ '^[0-9a-f]+$' AND octet_length(VALUE) = 64) NOT VALID;
