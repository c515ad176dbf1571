#pragma once
// The import processor (docs/imports.md): worker threads, each with database connections of
// its own, that take queued imports and carry them to done or failed. Not on the I/O threads
// and not on the DB executor's pool: an import holds its connections for seconds to minutes
// (COPY, the load transaction), which would starve the short REST transactions.
//
// Claiming is a session advisory lock on the import, taken with a try-lock: an import is
// processed by one worker of one daemon at a time, and a daemon that dies releases its locks
// with its connections, so any daemon sharing the database resumes its imports (ARCHITECTURE
// §10). Resuming always starts again from the stored upload: the staging table is rebuilt, and
// the load is one transaction that sets the final state, so nothing is ever half-applied.
#include <pagohub/config/application.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/imports/model.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pagohub::imports {

struct service_settings {
  /// libpq conninfo of the database (the daemon's [db]); each worker opens four connections.
  std::string conninfo;
  /// Imports processed at once by this daemon.
  int workers = 1;
  /// How often idle workers look for work queued elsewhere (another daemon, a restart).
  std::chrono::milliseconds poll_interval{5000};
  /// Processing starts after which an import that keeps failing is given up (state failed).
  int max_attempts = 3;
  /// Decodes NDJSON lines (the REST module's position codec).
  ndjson_decoder decode_ndjson;
  /// Past this many records with errors the pass stops and the import fails as a whole, its
  /// report one line saying so: each staged record and report line costs disk (the staging
  /// table, the report), and a file of junk (a quote never closed, then a line per byte) would
  /// otherwise stage hundreds of millions. No real file of positions comes near it.
  std::int64_t max_invalid_rows = 1'000'000;
};

/// Tests only: called at named points of processing, "parsed" (staging written, before the
/// load) and "loaded" (inside the load transaction, before its commit). An exception thrown
/// from it aborts processing at that point, as a crash would: nothing of the load is kept and
/// the import stays unfinished, to be resumed.
using fail_point = std::function<void(std::string_view where)>;

class service {
 public:
  /// `applications` and `clock` must outlive the service. Nothing runs before start().
  service(service_settings settings, config::application_holder& applications,
          const core::clock& clock);
  /// Calls stop().
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  /// Starts the worker threads; they resume unfinished imports at once.
  void start();
  /// Stops the workers: statements in progress are cancelled and their imports left to be
  /// resumed by the next start (here or in another daemon). Idempotent.
  void stop();
  /// Wakes an idle worker: an import was just queued.
  void notify() noexcept;

  /// Processes at most one unfinished import on the calling thread (tests, tools); its id, or
  /// nullopt when there was none to take. Exceptions from `hook` propagate (see fail_point).
  std::optional<std::int64_t> run_once(const fail_point& hook = {});

  /// Prometheus lines: imports finished by outcome, rows loaded, workers busy.
  void append_metrics(std::string& out) const;

 private:
  struct worker_state;
  void worker_loop(std::size_t index);
  std::optional<std::int64_t> process_next(worker_state& ws, const fail_point& hook);

  service_settings settings_;
  config::application_holder& applications_;
  const core::clock& clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::uint64_t wake_count_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<worker_state>> workers_;
  std::vector<std::jthread> threads_;
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> rows_loaded_{0};
  std::atomic<int> busy_{0};
};

}  // namespace pagohub::imports
