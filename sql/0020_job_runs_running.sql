-- 0020 job_runs: the runs still 'running', by index.
--
-- Claiming a job's lease marks the runs it left 'running' abandoned (a daemon that died mid-run,
-- or one whose run could not be recorded as finished). job_runs keeps every run, and
-- journal.seal alone adds one every few seconds, so that statement must find the few running
-- rows through an index of their own, not by reading the job's whole history.

CREATE INDEX job_runs_running_idx ON job_runs (name) WHERE outcome = 'running';
