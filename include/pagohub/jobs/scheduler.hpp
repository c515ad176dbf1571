#pragma once
// The job scheduler (ARCHITECTURE §4): jobs run on the daemon's io_context from timers, and the
// work itself goes through the DB executor, so no I/O thread ever blocks. Each run first takes
// the job's lease row (job_leases), so with several daemons on one database each slot of a
// schedule runs once; every run is recorded in job_runs. The scheduler also keeps this
// daemon's row in daemon_instances alive (the heartbeat), which lets the others recognise an
// abandoned lease.
#include <pagohub/core/clock.hpp>
#include <pagohub/core/error.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/jobs/schedule.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace pagohub::jobs {

/// What a running job knows about its run.
struct run_context {
  std::string_view name;              ///< the job's name
  schedule::time_point slot;          ///< the slot being run
  std::string_view instance_id;       ///< the daemon running it
  std::chrono::seconds lease_ttl{0};  ///< how long the lease lasts without a heartbeat
};

/// A job body: awaits its DB work through the executor and returns a short detail for
/// job_runs ("created 2 partitions"), or an error (the run is recorded as failed; the next
/// slot tries again). Exceptions are caught and recorded as failures too.
using job_body = std::function<boost::asio::awaitable<core::result<std::string>>(run_context)>;

/// A job to register.
struct job_spec {
  /// [a-z][a-z0-9_.-]{0,62}: the lease row's key, a metrics label, shown in logs.
  std::string name;
  schedule when = schedule::every(std::chrono::hours(1));
  job_body body;
  /// How long a lease lasts without the holder's heartbeat renewing it: a daemon that dies
  /// mid-run blocks the job at most this long (or until its heartbeat goes stale).
  std::chrono::seconds lease_ttl{300};
};

/// Settings of one scheduler (one per daemon).
struct scheduler_settings {
  /// This daemon's id in daemon_instances (a UUID, core::new_uuid()).
  std::string instance_id;
  std::string hostname;
  int pid = 0;
  std::string version;
  /// How often daemon_instances.last_seen is refreshed and running leases are renewed.
  std::chrono::milliseconds heartbeat_interval{10'000};
  /// A holder whose heartbeat is older than this has its leases taken over before they
  /// expire. At least three heartbeats, so a slow database is not mistaken for a dead daemon.
  std::chrono::milliseconds stale_after{60'000};
  /// After finding a job's lease held by a live daemon, how soon to look again (at most).
  std::chrono::milliseconds busy_retry{5'000};
};

/// What one attempt at a job did.
enum class tick_outcome {
  ran_ok,      ///< this daemon ran the slot; the job reported success
  ran_failed,  ///< this daemon ran the slot; the job failed (recorded in job_runs)
  done,        ///< the slot had already been run (by any daemon)
  busy,        ///< another live daemon holds the lease
};

/// "ran_ok", "ran_failed", "done", "busy".
std::string_view to_string(tick_outcome o) noexcept;

class scheduler {
 public:
  /// `clock` decides slots (tests fix it); lease expiry uses the database's clock.
  scheduler(boost::asio::io_context& ioc, db::executor& db, scheduler_settings settings,
            const core::clock& clock);
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  /// Registers a job; only before start(). Throws std::invalid_argument for a bad or
  /// duplicate name.
  void add(job_spec spec);

  /// Registers this daemon in daemon_instances (blocking: call it at start-up, not from an I/O
  /// thread), then starts the heartbeat and one timer loop per job on the io_context. Each job
  /// looks at its current slot at once, so a slot missed while no daemon ran is caught up.
  void start();

  /// Cancels the timers: no new run starts. Runs in flight are left to finish or, if the
  /// io_context stops first, are marked abandoned by close(). Thread-safe, idempotent.
  void stop();

  /// After the io_context has stopped: marks this daemon's unfinished runs abandoned, frees
  /// its leases for the other daemons and removes its daemon_instances row. Blocking.
  void close();

  /// One attempt at `name`'s current slot, as the timer loop makes it: take the lease, run,
  /// record. For tests and admin triggers. Unknown names: std::invalid_argument.
  boost::asio::awaitable<tick_outcome> tick(std::string_view name);

  /// Prometheus lines: pagohub_job_runs_total{job,outcome}, pagohub_job_last_run_timestamp.
  void append_metrics(std::string& out) const;

  const std::string& instance_id() const noexcept;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace pagohub::jobs
