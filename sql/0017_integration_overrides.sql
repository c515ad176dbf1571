-- Admins' runtime overrides of back-office integration settings (docs/integration.md "Changing
-- settings at runtime"). One row per integration id; a NULL column means "as configured". The
-- ranges repeat the configuration reader's (docs/config-reference.md), so that no path can store
-- a value the daemon would refuse. Secrets and authentication are not here: they stay in the
-- configuration files.
--
-- A reset (DELETE .../settings) empties the row instead of removing it, so that `version` keeps
-- growing and an ETag of an earlier override never matches a later one.

CREATE TABLE integration_overrides (
    integration_id     text        COLLATE "C" PRIMARY KEY
                                   CHECK (char_length(integration_id) BETWEEN 1 AND 40),
    mode               text        CHECK (mode IN ('push', 'pull', 'file')),
    base_url           text        CHECK (char_length(base_url) BETWEEN 8 AND 2000),
    directory          text        CHECK (char_length(directory) BETWEEN 1 AND 4096),
    timeout_ms         integer     CHECK (timeout_ms BETWEEN 100 AND 600000),
    max_concurrency    integer     CHECK (max_concurrency BETWEEN 1 AND 256),
    max_attempts       integer     CHECK (max_attempts BETWEEN 1 AND 1000),
    max_age_s          bigint      CHECK (max_age_s >= 60),
    backoff_initial_ms integer     CHECK (backoff_initial_ms BETWEEN 10 AND 3600000),
    backoff_max_ms     integer     CHECK (backoff_max_ms BETWEEN 10 AND 86400000),
    breaker_failures   integer     CHECK (breaker_failures BETWEEN 1 AND 1000),
    breaker_open_ms    integer     CHECK (breaker_open_ms BETWEEN 100 AND 3600000),
    version            bigint      NOT NULL CHECK (version >= 1),
    changed_at         timestamptz NOT NULL,
    changed_by_kind    text        NOT NULL,
    changed_by_id      text        NOT NULL,
    reason             text        CHECK (char_length(reason) <= 500)
);

COMMENT ON TABLE integration_overrides IS
    'Runtime overrides of [[integration]] settings set by admins; NULL columns follow the configuration.';
