#pragma once
// The DB executor (ARCHITECTURE §4): the only way to the database. A fixed pool of libpqxx
// connections, each owned by its own worker thread, fed from one queue. I/O threads never block
// on the database: a coroutine does `co_await db.transact(fn)`, fn runs on a worker inside one
// transaction, and the coroutine resumes on its own executor with fn's result. Retries on
// serialization failures, deadlocks and lost connections live here, once.
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/transaction>

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "pagohub/core/error.hpp"
#include "pagohub/db/detail/deadline_job.hpp"
#include "pagohub/db/detail/jobs.hpp"
#include "pagohub/db/errors.hpp"

namespace pagohub::db {

/// How the pool connects and how hard it tries.
struct pool_settings {
  /// libpq conninfo, keyword form ("host=... dbname=...") or URI ("postgresql://...").
  std::string conninfo;
  /// Connections, and worker threads: one each.
  int size = 8;
  /// Server-side limit on every statement: sent as a startup option of each connection; a
  /// body may still `SET LOCAL statement_timeout` for one transaction. 0 disables it.
  std::chrono::milliseconds statement_timeout{30000};
  /// libpq connect_timeout (whole seconds, rounded up; libpq's minimum is 2 s). Overrides a
  /// connect_timeout in the conninfo; an application_name there is kept (default pagohubd).
  std::chrono::milliseconds connect_timeout{5000};
  /// Extra attempts after the first, on serialization failure, deadlock or a lost connection.
  int max_retries = 5;
  /// Names the pool's threads, "pagohub-<name>-<i>" and "pagohub-<name>-wd" (cut to the 15
  /// characters a thread name holds: keep it to three), so that `top -H` and a profile tell
  /// the pools apart.
  std::string name = "db";
};

/// The conninfo of a connection outside the pool (migrations): `conninfo` in keyword form with
/// the pool's connect_timeout and application_name rules, and no statement_timeout (a migration
/// may rightly take longer than any request). Without a connect timeout, connecting to an
/// address that drops packets hangs for minutes. Throws std::invalid_argument when libpq cannot
/// parse `conninfo`.
std::string standalone_conninfo(const std::string& conninfo,
                                std::chrono::milliseconds connect_timeout);

/// A snapshot of the pool's state and counters since start.
struct pool_stats {
  int size;                    ///< connections (= worker threads)
  int in_use;                  ///< workers running a transaction now
  int waiting;                 ///< transactions queued for a free worker
  std::uint64_t transactions;  ///< committed transactions
  std::uint64_t retries;       ///< attempts repeated after a retryable failure
  std::uint64_t reconnects;    ///< connections reopened after one was lost
  std::uint64_t failures;      ///< transactions that ended with an exception to the caller
  std::uint64_t rollbacks;     ///< bodies that rolled back on purpose (db::rollback)
  std::uint64_t withdrawn;     ///< transact_until jobs that reached their deadline queued
  std::uint64_t cancelled;     ///< transact_within bodies still running at their deadline
  bool connected;              ///< last known connectivity (see executor::healthy)
};

/// The pool. Construct once (app/ wires it), share by reference, destroy (or stop()) before the
/// io_context whose coroutines await it.
class executor {
 public:
  /// Starts the workers, which connect in the background: a database that is down at start is
  /// not an error here (transactions wait and retry, healthy() says false). Throws
  /// std::invalid_argument only for a malformed conninfo or a size below 1.
  explicit executor(pool_settings settings);
  /// Calls stop().
  ~executor();
  executor(const executor&) = delete;
  executor& operator=(const executor&) = delete;

  /// Fails queued transactions with unavailable_error, lets running ones finish for up to
  /// `patience`, then asks the server to cancel those still running (pg_cancel_backend: a
  /// transaction waiting for a lock, or a database that does not answer, would otherwise hold
  /// the stop for as long as it lasts), and joins the workers. The cancel is the deadline
  /// watchdog's: it reaches a body only, never its COMMIT, and is sent again until the body
  /// ends. A cancelled transaction rolls back: its caller, abandoned by a stop, never
  /// acknowledged it. Idempotent. Must not be called from inside a transaction body.
  void stop(std::chrono::milliseconds patience = std::chrono::seconds(2));

  /// Runs fn(pqxx::work&) on a worker inside one transaction, commits after fn returns, and
  /// resumes the awaiting coroutine on its own executor with fn's result (any move-constructible
  /// type, or void).
  ///
  /// fn may run more than once: the whole transaction is retried, up to max_retries with
  /// backoff, on pqxx::serialization_failure, pqxx::deadlock_detected and on a connection lost
  /// before COMMIT was sent (the worker reconnects). So fn must keep its effects inside the
  /// transaction. Exhausted retries on a lost connection raise unavailable_error; a connection
  /// lost during COMMIT raises commit_unknown_error (never retried); any other exception from
  /// fn or libpqxx rolls back and propagates to the awaiting coroutine as is.
  ///
  /// fn may take `pqxx::work&`, or any transaction (`pqxx::transaction_base&`,
  /// `pqxx::dbtransaction&`): the latter starts with one round trip whatever the level and
  /// mode (see takes_any_transaction_v), so hot reads should take `pqxx::transaction_base&`.
  /// Statements a body runs often belong in db/prepared.hpp.
  ///
  /// fn may refer to the coroutine's locals: the coroutine is suspended until fn is done.
  template <class F>
  auto transact(F fn, isolation level = isolation::read_committed, access mode = access::read_write)
      -> boost::asio::awaitable<transact_result_t<F>>;

  /// As transact, for a caller that must answer in bounded time: a transaction still waiting
  /// for a free worker at `deadline` is withdrawn, fn never runs, and the coroutine resumes
  /// with deadline_error (an unavailable_error) at the deadline. A transaction that started in
  /// time is waited for to the end: bound its statements with `statement_timeout`, or use
  /// transact_within.
  template <class F>
  auto transact_until(std::chrono::steady_clock::time_point deadline, F fn,
                      isolation level = isolation::read_committed, access mode = access::read_write)
      -> boost::asio::awaitable<transact_result_t<F>>;

  /// As transact_until, and `deadline` bounds the started transaction too, not only its wait
  /// for a worker: a body still running at the deadline is cancelled server-side
  /// (pg_cancel_backend: the statement it is running, or its next one, fails with
  /// query_canceled), its transaction rolls back, and the coroutine resumes with deadline_error,
  /// whatever the body made of the cancel. A body that returned before the deadline commits,
  /// however long the COMMIT takes. Costs no round trip; the first cancel opens one more
  /// connection, kept for the next. Keep a `statement_timeout` in the body as well if the
  /// deadline must hold when that connection cannot be made (max_connections reached).
  template <class F>
  auto transact_within(std::chrono::steady_clock::time_point deadline, F fn,
                       isolation level = isolation::read_committed,
                       access mode = access::read_write)
      -> boost::asio::awaitable<transact_result_t<F>>;

  /// Runs fn(pqxx::transaction_base&) on a worker with no transaction block around it (a
  /// pqxx::nontransaction: each statement commits on its own), and resumes the awaiting
  /// coroutine on its own executor with fn's result. For hot reads of one statement: one round
  /// trip instead of three (BEGIN, the statement, COMMIT), as `pgbench -S` does. fn must only
  /// read; it runs again after a connection lost mid-way (never committing anything, it can),
  /// and statements of one body see different snapshots, so a body that needs one consistent
  /// view of several statements belongs in transact(..., access::read_only).
  template <class F>
  auto read(F fn) -> boost::asio::awaitable<read_result_t<F>>;

  /// Same as transact, blocking the calling thread until the commit: for tools, jobs' start-up
  /// work and tests. Never call it from an I/O thread or from inside a transaction body.
  template <class F>
  auto transact_sync(F fn, isolation level = isolation::read_committed,
                     access mode = access::read_write) -> transact_result_t<F>;

  /// Counters and gauges for metrics and the admin pages.
  pool_stats stats() const;

  /// Last known connectivity: true after a successful connect or commit, false after a failed
  /// connection attempt (a lost session is followed by one at once). False until the first
  /// connection is made.
  bool healthy() const;

  /// `SELECT 1` through the pool within `deadline` (including any wait for a free worker);
  /// errc::unavailable with the reason when the database does not answer in time.
  boost::asio::awaitable<core::result<void>> ping(
      std::chrono::milliseconds deadline = std::chrono::seconds(2));

 private:
  struct state;

  /// Queues a job; when the executor is stopped, completes it with unavailable_error instead.
  void submit(std::unique_ptr<detail::job> job);

  /// transact_until and transact_within: a deadline_job, cancelled at the deadline if it is
  /// still running when `cancel_running`.
  template <class F>
  auto deadline_transaction(std::chrono::steady_clock::time_point deadline, bool cancel_running,
                            F fn, isolation level, access mode)
      -> boost::asio::awaitable<transact_result_t<F>>;

  /// Awaits the job `initiation(handler, fn)` submits, and yields its body's result R.
  template <class R, class Initiation, class F>
  static auto await_transaction(Initiation initiation, F fn) -> boost::asio::awaitable<R>;

  std::unique_ptr<state> state_;
};

template <class R, class Initiation, class F>
auto executor::await_transaction(Initiation initiation, F fn) -> boost::asio::awaitable<R> {
  static_assert(!std::is_reference_v<R>,
                "a transaction body must return a value, not a reference into the transaction");
  static_assert(std::is_void_v<R> || std::is_move_constructible_v<R>);
  // The result travels as an optional so that result types need no default constructor: the
  // completion signature must be callable with an exception and no value.
  if constexpr (std::is_void_v<R>) {
    co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                         void(std::exception_ptr)>(
        std::move(initiation), boost::asio::use_awaitable, std::move(fn));
  } else {
    std::optional<R> value =
        co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                             void(std::exception_ptr, std::optional<R>)>(
            std::move(initiation), boost::asio::use_awaitable, std::move(fn));
    co_return std::move(*value);
  }
}

template <class F>
auto executor::transact(F fn, isolation level, access mode)
    -> boost::asio::awaitable<transact_result_t<F>> {
  return await_transaction<transact_result_t<F>>(
      [this, level, mode](auto handler, F body) {
        submit(std::make_unique<detail::async_job<F, decltype(handler)>>(
            std::move(body), std::move(handler), level, mode));
      },
      std::move(fn));
}

template <class F>
auto executor::deadline_transaction(std::chrono::steady_clock::time_point deadline,
                                    bool cancel_running, F fn, isolation level, access mode)
    -> boost::asio::awaitable<transact_result_t<F>> {
  return await_transaction<transact_result_t<F>>(
      [this, deadline, cancel_running, level, mode](auto handler, F body) {
        auto job = std::make_unique<detail::deadline_job<F, decltype(handler)>>(
            std::move(body), std::move(handler), level, mode);
        job->arm(deadline, cancel_running);
        submit(std::move(job));
      },
      std::move(fn));
}

template <class F>
auto executor::transact_until(std::chrono::steady_clock::time_point deadline, F fn, isolation level,
                              access mode) -> boost::asio::awaitable<transact_result_t<F>> {
  return deadline_transaction(deadline, false, std::move(fn), level, mode);
}

template <class F>
auto executor::transact_within(std::chrono::steady_clock::time_point deadline, F fn,
                               isolation level, access mode)
    -> boost::asio::awaitable<transact_result_t<F>> {
  return deadline_transaction(deadline, true, std::move(fn), level, mode);
}

template <class F>
auto executor::read(F fn) -> boost::asio::awaitable<read_result_t<F>> {
  using result_type = read_result_t<F>;
  static_assert(!std::is_void_v<result_type>, "a read returns what it read");
  static_assert(!std::is_reference_v<result_type>,
                "a read body must return a value, not a reference into the result");
  static_assert(std::is_move_constructible_v<result_type>);
  auto initiation = [this](auto handler, F body) {
    submit(std::make_unique<detail::async_read_job<F, decltype(handler)>>(std::move(body),
                                                                          std::move(handler)));
  };
  std::optional<result_type> value =
      co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                           void(std::exception_ptr, std::optional<result_type>)>(
          std::move(initiation), boost::asio::use_awaitable, std::move(fn));
  co_return std::move(*value);
}

template <class F>
auto executor::transact_sync(F fn, isolation level, access mode) -> transact_result_t<F> {
  using result_type = transact_result_t<F>;
  static_assert(!std::is_reference_v<result_type>,
                "a transaction body must return a value, not a reference into the transaction");
  auto job = std::make_unique<detail::sync_job<F>>(fn, level, mode);
  auto future = job->get_future();
  submit(std::move(job));
  return future.get();
}

}  // namespace pagohub::db
