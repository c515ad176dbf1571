-- 0006 jobs: leases and run history of the scheduler (ARCHITECTURE §4, §10).
--
-- Several daemons may share one database. Every scheduled job is driven by a timer in each of
-- them, and each run first takes the job's lease row: the row says which slot (the period's
-- start, or the day's run time) was last run to the end, and who runs one now and until when.
-- A slot therefore runs once across the fleet, and a lease whose holder died (its time ran out,
-- or its daemon_instances heartbeat went stale) is taken over by the next daemon that asks.

CREATE TABLE job_leases (
    name          text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    -- daemon_instances.id of the daemon running (or that last ran) the job. No foreign key:
    -- an instance row is removed when its daemon stops, the lease row stays.
    holder        text,
    -- The lease is free once this has passed. Set from the database's now() (one clock for
    -- all daemons) and pushed forward by the holder's heartbeat while a run lasts.
    expires_at    timestamptz NOT NULL DEFAULT '-infinity',
    ttl           interval    NOT NULL CHECK (ttl > interval '0'),
    -- The slot being run now, or NULL.
    running_slot  timestamptz,
    -- The newest slot run to the end (whatever its outcome): no daemon runs it again.
    done_slot     timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE job_leases IS
    'One row per scheduled job: who runs it and which period was last run (ARCHITECTURE §4).';

CREATE TABLE job_runs (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text        NOT NULL,
    instance_id  text        NOT NULL,
    slot         timestamptz NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    -- 'abandoned': the daemon stopped (or lost its lease) before the run ended.
    outcome      text        NOT NULL DEFAULT 'running'
                             CHECK (outcome IN ('running', 'ok', 'failed', 'abandoned')),
    detail       text        NOT NULL DEFAULT '',
    CHECK ((outcome = 'running') = (finished_at IS NULL))
);

-- Admin pages and tests read a job's history newest first.
CREATE INDEX job_runs_name_started_idx ON job_runs (name, started_at DESC);

COMMENT ON TABLE job_runs IS 'History of scheduled job runs, one row per run.';
