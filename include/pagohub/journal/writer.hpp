#pragma once
// The journal writer: INTERFACCIA events (every request and response, in and out) recorded
// without a database round trip on the request's path. Events go into a bounded in-memory
// queue; one worker thread writes them in batches (one COPY per batch) through the DB
// executor, at least every flush_interval; stop() drains the queue. When the queue is full,
// events of exchanges that changed nothing are dropped (counted, logged), while events of
// exchanges that changed state wait for room: those are never dropped.
//
// INTERNO events that belong to a state change are not written here but inside the state
// change's own transaction (journal::record_internal).
#include <pagohub/config/journal_settings.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/http/metrics.hpp>
#include <pagohub/journal/event.hpp>
#include <pagohub/journal/record.hpp>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace pagohub::journal {

/// What the writer does with rows the database did not take.
enum class write_failure {
  /// The database failed, not the rows (out of disk or memory, a cancelled statement, a lock
  /// or statement timeout, a read-only server during failover, conflicts past their retries,
  /// a lost connection): the rows are kept and written again after a pause.
  retry,
  /// One of the rows was refused (SQLSTATE class 22, data exception, or 23, integrity
  /// violation): the rows are written one at a time so that only the refused one is lost.
  row,
};

/// Classifies a failed write by its SQLSTATE; an empty one (no answer from the server) is
/// `retry`.
write_failure classify_write_failure(std::string_view sqlstate) noexcept;

/// Counters since start (the metrics behind append_metrics()).
struct writer_stats {
  std::uint64_t written_interfaccia = 0;  ///< committed
  std::uint64_t written_interno = 0;      ///< committed (daemon lifecycle, reloads...)
  std::uint64_t dropped_queue_full = 0;   ///< exchanges that changed nothing, queue full
  std::uint64_t dropped_write_error = 0;  ///< rows the database refused, or lost at stop
  std::uint64_t skipped_disabled = 0;     ///< INTERFACCIA events with recording off
  std::uint64_t queue_full = 0;           ///< enqueues that found the queue full
  std::uint64_t waited = 0;               ///< state-changing enqueues that had to wait
  std::uint64_t flushes = 0;
  std::uint64_t flush_failures = 0;  ///< write attempts that failed (and were retried)
  std::size_t depth = 0;             ///< events queued now
  std::size_t bytes = 0;             ///< payload bytes queued now
};

class writer {
 public:
  /// `rules` must outlive the writer. Nothing runs until start().
  writer(db::executor& db, const config::journal_settings& settings, const payload_rules& rules,
         const core::clock& clock);
  /// stop()s.
  ~writer();
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  /// Starts the worker thread.
  void start();

  /// Stops taking events into the queue, writes everything queued (retrying a database that
  /// is away for up to `drain_deadline`), joins the worker. Events still unwritten then are
  /// counted as dropped and logged. Idempotent; blocking: call it after the I/O threads are
  /// done. Later enqueues are written directly, one transaction each.
  void stop(std::chrono::milliseconds drain_deadline = std::chrono::seconds(30));

  /// False when [journal] enabled_interfaccia is off: INTERFACCIA events are then skipped.
  bool recording_interfaccia() const noexcept { return enabled_interfaccia_; }

  /// Queues `e` from a coroutine; never blocks the thread. With room, returns true at once.
  /// When the queue is full: if `changed_state`, the coroutine waits (in short timer steps)
  /// until there is room, and returns true; otherwise the event is dropped and false returned.
  /// INTERFACCIA events with recording off are skipped (true). An event time at the epoch is
  /// set to the writer's clock now.
  boost::asio::awaitable<bool> enqueue(event e, bool changed_state);

  /// Queues `e` without ever waiting: false (dropped, counted) when the queue is full.
  bool try_enqueue(event e);

  /// For threads that may block (jobs' workers, start-up, tools): like enqueue, but waiting
  /// blocks the calling thread. Never call it from an I/O thread.
  bool enqueue_blocking(event e, bool changed_state);

  /// Counters and gauges now.
  writer_stats stats() const;

  /// Prometheus lines: events written per category, dropped by reason, queue depth and
  /// capacity, flush latency histogram.
  void append_metrics(std::string& out) const;

 private:
  enum class admit { queued, full, skipped, stopped };
  admit push(event& e);
  void run();
  void write(std::deque<event>& batch);
  void count_written(const event& e);
  /// After a failed attempt that is worth repeating: false when the drain deadline of stop()
  /// has passed, else waits `backoff` (doubling it) and returns true.
  bool pause_before_retry(std::chrono::milliseconds& backoff, std::size_t rows,
                          const std::exception& e);
  void note_full(bool dropped);

  db::executor& db_;
  const payload_rules& rules_;
  const core::clock& clock_;
  const bool enabled_interfaccia_;
  const std::size_t capacity_;
  const std::size_t max_bytes_;
  const std::size_t batch_size_;
  const std::chrono::milliseconds flush_interval_;

  mutable std::mutex mutex_;
  std::condition_variable work_;  ///< events queued, or stop
  std::condition_variable room_;  ///< a batch was taken: blocking enqueuers may retry
  std::deque<event> queue_;
  std::size_t bytes_ = 0;
  bool accepting_ = true;  ///< false once stop() began
  bool stop_ = false;
  std::chrono::steady_clock::time_point drain_until_{};
  std::thread worker_;
  std::chrono::steady_clock::time_point last_full_log_{};

  std::atomic<std::uint64_t> written_interfaccia_{0}, written_interno_{0};
  std::atomic<std::uint64_t> dropped_full_{0}, dropped_error_{0}, skipped_{0};
  std::atomic<std::uint64_t> full_{0}, waited_{0}, flushes_{0}, flush_failures_{0};
  http::latency_histogram flush_latency_;  // guarded by mutex_
};

}  // namespace pagohub::journal
