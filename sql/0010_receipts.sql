-- 0010 receipts: every receipt pagoPA delivers to the station, kept as received (DIGEST §1.3,
-- §2.1; docs/pagopa.md).
--
-- A receipt proves a payment and is never refused for business reasons: the raw SOAP message is
-- inserted before anything is interpreted, in the transaction that then applies it to the
-- position (option PAID, position PAID or PARTIALLY_PAID) or flags it as an anomaly for the
-- operators. Either way the row commits before the Nodo is answered OK.
--
-- Idempotency (DIGEST §1.3): one row per (entity, receiptId); a re-delivery finds it and changes
-- nothing. Old-model RTs (paaInviaRT) are also unique per (entity, IUV, CCP): PAA_RT_DUPLICATA.

CREATE TABLE receipts (
    -- The entity the receipt was delivered for (idPA / identificativoDominio of the request).
    entity_fiscal_code  text        COLLATE "C" NOT NULL
                                    CHECK (length(entity_fiscal_code) = 11
                                           AND entity_fiscal_code ~ '^[0-9]+$'),
    id                  bigint      GENERATED ALWAYS AS IDENTITY,
    -- paSendRT receiptId (the payment token); for an RT its identificativoMessaggioRicevuta.
    receipt_id          text        COLLATE "C" NOT NULL
                                    CHECK (char_length(receipt_id) BETWEEN 1 AND 64),
    source              text        NOT NULL
                                    CHECK (source IN ('paSendRT', 'paSendRTV2', 'paaInviaRT')),
    received_at         timestamptz NOT NULL,
    -- X-Request-Id of the delivery: joins the row to the journal and the access log.
    request_id          text        CHECK (char_length(request_id) <= 128),
    -- The SOAP request exactly as received.
    raw_message         text        NOT NULL,
    -- What the message says, as far as it could be read.
    notice_number       text        COLLATE "C" CHECK (notice_number ~ '^[0-9]{18}$'),
    iuv                 text        COLLATE "C" CHECK (char_length(iuv) <= 35),
    -- Old model: codiceContestoPagamento (for payments converted from the current model, the token).
    ccp                 text        COLLATE "C" CHECK (char_length(ccp) <= 35),
    -- The entity the notice belongs to (receipt fiscalCode); differs from entity_fiscal_code when
    -- this entity is only a secondary beneficiary of a multi-beneficiary payment.
    primary_fiscal_code text        COLLATE "C",
    outcome             text        CHECK (outcome IN ('OK', 'KO')),
    amount              bigint      CHECK (amount >= 0),
    fee                 bigint      CHECK (fee >= 0),
    payment_date_time   timestamptz,
    application_date    date,
    transfer_date       date,
    psp_id              text,
    psp_name            text,
    psp_fiscal_code     text,
    channel_id          text,
    payment_method      text,
    -- The Nodo collected the payment while the station was bypassed (DIGEST §1.7).
    stand_in            boolean     NOT NULL DEFAULT false,
    -- Debtor, payer, transfers and metadata as received (camelCase JSON), for the REST API.
    details             jsonb       NOT NULL DEFAULT '{}',
    -- The position the receipt was matched to, when there is one.
    position_id         bigint,
    -- True when the receipt marked its option paid.
    applied             boolean     NOT NULL DEFAULT false,
    -- Why an operator should look at it; NULL = nothing to look at.
    anomaly             text        CHECK (anomaly IN ('STAND_IN', 'UNKNOWN_POSITION', 'ALREADY_PAID',
                                                       'POSITION_CANCELLED', 'POSITION_EXPIRED',
                                                       'POSITION_NOT_PAYABLE', 'AMOUNT_MISMATCH',
                                                       'TRANSFERS_MISMATCH', 'OUTCOME_KO',
                                                       'UNREADABLE')),
    anomaly_detail      text        CHECK (char_length(anomaly_detail) <= 1000),
    PRIMARY KEY (entity_fiscal_code, id),
    CONSTRAINT receipts_receipt_key UNIQUE (entity_fiscal_code, receipt_id),
    FOREIGN KEY (entity_fiscal_code, position_id) REFERENCES positions (entity_fiscal_code, id),
    CHECK (anomaly IS NOT NULL OR anomaly_detail IS NULL)
);

CREATE UNIQUE INDEX receipts_rt_key ON receipts (entity_fiscal_code, iuv, ccp)
    WHERE source = 'paaInviaRT';
-- GET /positions/{externalId}/receipts, oldest first.
CREATE INDEX receipts_position_idx ON receipts (entity_fiscal_code, position_id, id);
CREATE INDEX receipts_notice_idx ON receipts (entity_fiscal_code, notice_number);
-- The operators' list of receipts to look at stays small.
CREATE INDEX receipts_anomaly_idx ON receipts (entity_fiscal_code, id) WHERE anomaly IS NOT NULL;

COMMENT ON TABLE receipts IS
    'Receipts delivered by pagoPA (paSendRT/V2, paaInviaRT), raw and interpreted; never refused.';
