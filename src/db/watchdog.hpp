#pragma once
// The executor's watchdog: it cancels a transaction server-side while its body runs, when the
// body's deadline passes (executor::transact_within, so the deadline bounds the whole
// transaction rather than each statement) or when the executor's stop runs out of patience.
// Internal to db::executor.
//
// A worker arms its slot before every body and disarms it after, before COMMIT or ROLLBACK is
// sent; neither costs a round trip. At the deadline (or at cancel_all()) the watchdog's thread
// marks the slot fired and sends `pg_cancel_backend(pid)` from a connection of its own (libpqxx
// gives no cancel handle that another thread may use), holding the slot's lock while it does.
// A worker that ends its body meanwhile waits for that lock, so a cancel can only reach the
// transaction it was meant for, never its COMMIT: pg_cancel_backend has signalled the server
// process by the time it returns, and a signal that finds the process idle (between two
// statements, or before the worker's next command) is dropped by the server, never kept for a
// later statement. A cancel that lands between two statements is therefore lost, so the
// watchdog sends it again every few milliseconds until the body ends; and a body that returns
// after its slot fired is rolled back, not committed.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace pagohub::db::detail {

class session;

class watchdog {
 public:
  using clock = std::chrono::steady_clock;

  /// `conninfo` for the watchdog's own connection, opened the first time a deadline passes and
  /// kept; `workers`, the pool's size (slots 0 .. workers-1); `thread_name`, its thread's.
  watchdog(std::string conninfo, int workers, std::string thread_name = "pagohub-db-wd");
  /// Stops the watchdog's thread. The workers must be done with their slots.
  ~watchdog();
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  /// Worker `worker` is about to run a body, in the transaction of server process `pid`, that
  /// must not run past `deadline` (none: only cancel_all() cancels it). False, arming nothing,
  /// when the deadline has passed already.
  bool arm(int worker, int pid, std::optional<clock::time_point> deadline);

  /// Cancels every body running now, and every body armed from now on: the executor is
  /// stopping and has run out of patience. Returns at once; the watchdog's thread sends them.
  void cancel_all();

  /// What made the watchdog cancel a body, if anything: the first of its deadline and
  /// cancel_all().
  enum class fired_by { none, deadline, stop };

  /// The body armed by `worker` ended (returned or threw). Other than none when its deadline
  /// passed, or cancel_all() was called, while it ran: a cancel was or may have been sent, and
  /// the transaction must not commit. After it returns the watchdog sends nothing more for
  /// this transaction.
  fired_by disarm(int worker);

 private:
  // One per worker. Guarded by its own mutex, which the watchdog holds while it sends a cancel.
  struct slot {
    std::mutex mutex;
    std::uint64_t generation = 0;  // which arming the watchdog's entries refer to
    int pid = 0;
    bool armed = false;
    fired_by fired = fired_by::none;
  };
  struct due {
    clock::time_point at;
    int worker;
    std::uint64_t generation;
    bool stopping = false;  // sent by cancel_all(), not at a deadline
    bool operator>(const due& other) const { return at > other.at; }
  };

  // Queues entries for the watchdog's thread, starting it the first time, and wakes it when
  // one comes before what it waits for.
  void enqueue(std::span<const due> entries);
  void main();
  // At an entry's time: marks its slot fired and sends the cancel. True when the body still
  // runs and the cancel should be sent again.
  bool fire(const due& entry);
  // Sends pg_cancel_backend(pid) on the watchdog's connection; false when that failed.
  bool cancel(int pid) noexcept;

  std::string conninfo_;
  std::string thread_name_;
  std::vector<std::unique_ptr<slot>> slots_;
  // Only the watchdog's thread touches it.
  std::unique_ptr<session> session_;

  // Set by cancel_all(); sequentially consistent, read by arm() without mutex_.
  std::atomic<bool> cancelling_all_{false};

  std::mutex mutex_;  // guards what follows; never taken while holding a slot's
  std::condition_variable wake_;
  std::priority_queue<due, std::vector<due>, std::greater<>> queue_;
  bool stopping_ = false;
  std::thread thread_;  // started by the first entry queued
};

}  // namespace pagohub::db::detail
