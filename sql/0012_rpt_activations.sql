-- 0012 rpt_activations: old-model (SANP 2.x) payments started at a PSP with paaAttivaRPT
-- (DIGEST §2.1). The PSP supplies the payment context code (CCP); the station records the
-- activation and the RPT it must then send with nodoInviaRPT, and paaInviaRT later closes it.
-- Repeating paaAttivaRPT with the same (IUV, CCP) finds this row and changes nothing
-- (SANP2 §8.2.3.2: generate the RPT only the first time).

CREATE TABLE rpt_activations (
    entity_fiscal_code  text        COLLATE "C" NOT NULL
                                    CHECK (length(entity_fiscal_code) = 11
                                           AND entity_fiscal_code ~ '^[0-9]+$'),
    id                  bigint      GENERATED ALWAYS AS IDENTITY,
    iuv                 text        COLLATE "C" NOT NULL CHECK (char_length(iuv) BETWEEN 1 AND 35),
    ccp                 text        COLLATE "C" NOT NULL CHECK (char_length(ccp) BETWEEN 1 AND 35),
    notice_number       text        COLLATE "C" NOT NULL CHECK (notice_number ~ '^[0-9]{18}$'),
    position_id         bigint      NOT NULL,
    psp_id              text        NOT NULL CHECK (char_length(psp_id) BETWEEN 1 AND 35),
    psp_broker_id       text        NOT NULL CHECK (char_length(psp_broker_id) BETWEEN 1 AND 35),
    channel_id          text        NOT NULL CHECK (char_length(channel_id) BETWEEN 1 AND 35),
    -- The amount the PSP proposed and the station accepted, and the account it credits.
    amount              bigint      NOT NULL CHECK (amount BETWEEN 1 AND 99999999999),
    iban                text        NOT NULL,
    activated_at        timestamptz NOT NULL,
    request_id          text        CHECK (char_length(request_id) <= 128),
    -- EXPECTED: the RPT is due to the Nodo (nodoInviaRPT); RT_RECEIVED: paaInviaRT closed it.
    state               text        NOT NULL DEFAULT 'EXPECTED'
                                    CHECK (state IN ('EXPECTED', 'RT_RECEIVED')),
    PRIMARY KEY (entity_fiscal_code, id),
    CONSTRAINT rpt_activations_key UNIQUE (entity_fiscal_code, iuv, ccp),
    FOREIGN KEY (entity_fiscal_code, position_id) REFERENCES positions (entity_fiscal_code, id)
);

COMMENT ON TABLE rpt_activations IS
    'Old-model activations (paaAttivaRPT): the RPT expected for each (IUV, CCP).';
