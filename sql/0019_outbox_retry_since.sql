-- 0019 outbox retry_since: when a message's current run of attempts began.
--
-- A message is given up (DEAD) once it is older than its integration's max_age. Measured from
-- created_at alone, a message an operator sends again (resend, requeue-dead) after max_age went
-- DEAD again at its first transient failure, although a resent message starts again from
-- attempt 1 (docs/integration.md "Operator actions"). A resend sets retry_since to its time,
-- and max_age counts from coalesce(retry_since, created_at).
--
-- NULL (every existing row, every new message) means "since created_at": adding a nullable
-- column without a default only changes the catalogue, so a large outbox is not rewritten. The
-- column has no rule of its own, hence no domain (docs/architecture.md "Constraints").

ALTER TABLE outbox ADD COLUMN retry_since timestamptz;

COMMENT ON COLUMN outbox.retry_since IS
    'When an operator last sent the message again; max_age counts from here (NULL: created_at).';
