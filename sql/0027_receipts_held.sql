-- 0027 A receipt whose position stays locked is stored held and applied later (docs/pagopa.md
-- "Receipts").
--
-- A receipt waited on its position's lock until the statement timeout and then failed, stored
-- nowhere, while a long transaction (a bulk import replacing the position) held the lock: the
-- Nodo got PAA_SYSTEM_ERROR after the 15 s it waits for a receipt, and a receipt is delivered
-- a few times only. Now the wait is short, the receipt is stored as received with the anomaly
-- POSITION_BUSY and answered OK, and the pap.held-receipts job applies it once the lock is gone.
-- Such rows are few and short-lived; receipts_anomaly_idx already holds them.
--
-- The rule lives on the column's domain (migration 0018); NOT VALID as there: every stored value
-- satisfied the narrower rule.
ALTER DOMAIN receipts__anomaly DROP CONSTRAINT receipts_anomaly_check;
ALTER DOMAIN receipts__anomaly ADD CONSTRAINT receipts_anomaly_check
    CHECK (VALUE IN ('STAND_IN', 'UNKNOWN_POSITION', 'ALREADY_PAID', 'POSITION_CANCELLED',
                     'POSITION_EXPIRED', 'POSITION_NOT_PAYABLE', 'AMOUNT_MISMATCH',
                     'TRANSFERS_MISMATCH', 'OUTCOME_KO', 'UNREADABLE', 'POSITION_BUSY'))
    NOT VALID;
