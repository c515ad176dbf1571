-- 0001 foundation: what every later migration can rely on.
--
-- Migrations run in order, each in its own transaction, and are never edited once landed
-- (the runner stores each file's SHA-256 in schema_migrations and refuses a changed one).
-- schema_migrations itself is created by the runner, not here.

-- One row per running pagohubd process. Several daemons may share one database behind a load
-- balancer (ARCHITECTURE §10); job leases will name the instance that holds them, so a lease
-- whose holder stopped heartbeating can be recognised as abandoned and taken over.
CREATE TABLE daemon_instances (
    -- Random UUID chosen by the process at start, kept as text: it is only ever compared and
    -- printed, and text keeps it readable in logs and admin pages.
    id          text        PRIMARY KEY
                            CHECK (id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
    hostname    text        NOT NULL,
    pid         integer     NOT NULL CHECK (pid > 0),
    -- The pagohubd release, so operators can see a mixed-version fleet during an upgrade.
    version     text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    -- Heartbeat, refreshed periodically with the database's now() (one clock for all
    -- instances); a stale value means the instance is gone.
    last_seen   timestamptz NOT NULL DEFAULT now()
);

-- Finding live (or stale) instances scans by heartbeat.
CREATE INDEX daemon_instances_last_seen_idx ON daemon_instances (last_seen);

COMMENT ON TABLE daemon_instances IS
    'Running pagohubd processes and their heartbeat; job leases refer to them.';
