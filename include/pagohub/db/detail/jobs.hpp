#pragma once
// The executor's unit of work, and the two ways a caller waits for it: a coroutine (resumed on
// its own executor) or a blocked thread (a future). Internal to db::executor.
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <pqxx/transaction>

#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace pagohub::db {

/// Isolation level of one executor transaction.
enum class isolation { read_committed, repeatable_read, serializable };

/// Whether the transaction may write. Read-only transactions let PostgreSQL skip work (and
/// under SERIALIZABLE they can never cause a serialization failure for others).
enum class access { read_write, read_only };

/// What `executor::transact(fn)` yields: fn's return type.
template <class F>
using transact_result_t = std::invoke_result_t<F&, pqxx::work&>;

/// What `executor::read(fn)` yields: fn's return type.
template <class F>
using read_result_t = std::invoke_result_t<F&, pqxx::transaction_base&>;

/// True when fn takes any libpqxx transaction (`pqxx::transaction_base&` or
/// `pqxx::dbtransaction&`), not only `pqxx::work&`. Such a body runs in a transaction whose
/// BEGIN carries the isolation level and access mode (`BEGIN; SET TRANSACTION ...`, one round
/// trip); a `pqxx::work&` body needs a separate SET TRANSACTION for anything but READ
/// COMMITTED READ WRITE. Hot read-only paths should take `pqxx::transaction_base&`.
template <class F>
inline constexpr bool takes_any_transaction_v = std::is_invocable_v<F&, pqxx::dbtransaction&>;

namespace detail {

/// A transaction body queued on the pool. run() may be called several times (the executor
/// retries on serialization failures and lost connections); complete() is called exactly once,
/// with null after a successful commit or with the final failure, unless start() refused.
class job {
 public:
  job(isolation level, access mode, bool any_transaction = false, int max_retries = -1)
      : level_(level), mode_(mode), any_transaction_(any_transaction), max_retries_(max_retries) {}
  /// A job for executor::read: no transaction block at all (pqxx::nontransaction).
  struct autocommit_t {};
  explicit job(autocommit_t)
      : level_(isolation::read_committed),
        mode_(access::read_only),
        any_transaction_(true),
        max_retries_(-1),
        autocommit_(true) {}
  virtual ~job() = default;
  job(const job&) = delete;
  job& operator=(const job&) = delete;

  /// `tx` is a pqxx::work unless any_transaction() says the body takes any transaction.
  virtual void run(pqxx::dbtransaction& tx) = 0;
  /// For autocommit() jobs, instead of run(): `tx` is a pqxx::nontransaction.
  virtual void run_autocommit(pqxx::transaction_base&) {
    throw std::logic_error("this job needs a transaction");
  }
  virtual void complete(std::exception_ptr failure) noexcept = 0;
  /// Called by the worker that takes the job, before its first attempt. False: the job was
  /// withdrawn while queued (deadline_job) and its caller already answered; the worker drops
  /// it without running or completing it.
  virtual bool start() noexcept { return true; }

  isolation level() const noexcept { return level_; }
  access mode() const noexcept { return mode_; }
  /// The body accepts any transaction type (takes_any_transaction_v).
  bool any_transaction() const noexcept { return any_transaction_; }
  /// Retry budget for this job; negative means the pool's setting.
  int max_retries() const noexcept { return max_retries_; }
  /// Runs outside any transaction block (executor::read).
  bool autocommit() const noexcept { return autocommit_; }
  /// When set, the job is not tried again past this time (executor::transact_until): its
  /// caller owes an answer by then, and a retry after it would only keep the caller waiting.
  virtual std::optional<std::chrono::steady_clock::time_point> retry_until() const noexcept {
    return std::nullopt;
  }
  /// When set, a body still running at this time is cancelled and its transaction rolled back
  /// (executor::transact_within).
  virtual std::optional<std::chrono::steady_clock::time_point> cancel_at() const noexcept {
    return std::nullopt;
  }

 private:
  isolation level_;
  access mode_;
  bool any_transaction_;
  int max_retries_;
  bool autocommit_ = false;
};

/// Holds the body's result between the body and the commit. A retried attempt starts over,
/// so a value from an attempt that failed to commit never leaks out.
template <class F>
decltype(auto) invoke_body(F& fn, pqxx::dbtransaction& tx) {
  if constexpr (takes_any_transaction_v<F>) {
    return std::invoke(fn, tx);
  } else {
    // The executor opens a pqxx::work for every body that is not takes_any_transaction_v.
    return std::invoke(fn, static_cast<pqxx::work&>(tx));
  }
}

template <class R>
struct result_slot {
  std::optional<R> value;

  template <class F>
  void fill(F& fn, pqxx::dbtransaction& tx) {
    value.reset();
    value.emplace(invoke_body(fn, tx));
  }
};

template <>
struct result_slot<void> {
  template <class F>
  void fill(F& fn, pqxx::dbtransaction& tx) {
    invoke_body(fn, tx);
  }
};

/// For transact_sync: the caller blocks on a future, so the body can be held by reference.
template <class F>
class sync_job final : public job {
 public:
  using result_type = transact_result_t<F>;

  sync_job(F& fn, isolation level, access mode)
      : job(level, mode, takes_any_transaction_v<F>), fn_(fn) {}

  std::future<result_type> get_future() { return promise_.get_future(); }

  void run(pqxx::dbtransaction& tx) override { slot_.fill(fn_, tx); }

  void complete(std::exception_ptr failure) noexcept override {
    if (failure) {
      promise_.set_exception(failure);
      return;
    }
    try {
      if constexpr (std::is_void_v<result_type>) {
        promise_.set_value();
      } else {
        promise_.set_value(std::move(*slot_.value));
      }
    } catch (...) {
      promise_.set_exception(std::current_exception());
    }
  }

 private:
  F& fn_;
  std::promise<result_type> promise_;
  result_slot<result_type> slot_;
};

/// Completes an Asio handler by posting it to the handler's own executor, so the awaiting
/// coroutine resumes on its I/O thread, never on a DB worker (ARCHITECTURE §4). The handler's
/// executor is kept busy (outstanding work) meanwhile, so a run() loop does not return under a
/// coroutine waiting for the database.
template <class Handler>
class handler_poster {
 public:
  explicit handler_poster(Handler handler)
      : handler_(std::move(handler)),
        work_(boost::asio::prefer(boost::asio::get_associated_executor(handler_),
                                  boost::asio::execution::outstanding_work.tracked)) {}

  // Each post hands the handler over once. The work guard goes with it: the posted handler
  // keeps the executor busy from then on, and a poster that outlives its post (a withdrawn
  // deadline_job waiting in the queue) must not.

  /// For a body returning void.
  void post(std::exception_ptr failure) noexcept {
    const auto work = std::move(work_);
    boost::asio::post(work,
                      [h = std::move(handler_), failure]() mutable { std::move(h)(failure); });
  }

  /// A failure, for a body returning R (void or a value).
  template <class R>
  void fail(std::exception_ptr failure) noexcept {
    if constexpr (std::is_void_v<R>) {
      post(failure);
    } else {
      post(failure, std::optional<R>{});
    }
  }

  /// For a body returning a value: empty when it failed.
  template <class R>
  void post(std::exception_ptr failure, std::optional<R> value) noexcept {
    const auto work = std::move(work_);
    boost::asio::post(work, [h = std::move(handler_), failure, v = std::move(value)]() mutable {
      std::move(h)(failure, std::move(v));
    });
  }

 private:
  using work_executor = std::decay_t<decltype(boost::asio::prefer(
      std::declval<boost::asio::associated_executor_t<Handler>>(),
      boost::asio::execution::outstanding_work.tracked))>;

  Handler handler_;
  work_executor work_;
};

/// A job that owns its transaction body and holds the body's result until the commit: what
/// every job awaited by a coroutine runs (async_job, deadline_job).
template <class F>
class body_job : public job {
 public:
  using result_type = transact_result_t<F>;

  body_job(F fn, isolation level, access mode)
      : job(level, mode, takes_any_transaction_v<F>), fn_(std::move(fn)) {}

  void run(pqxx::dbtransaction& tx) override { slot_.fill(fn_, tx); }

 protected:
  /// Completes `poster`'s handler with the outcome: the body's result after a commit.
  template <class Handler>
  void answer(handler_poster<Handler>& poster, std::exception_ptr failure) noexcept {
    if (failure) {
      poster.template fail<result_type>(failure);
    } else if constexpr (std::is_void_v<result_type>) {
      poster.post(nullptr);
    } else {
      poster.post(nullptr, std::move(slot_.value));
    }
  }

 private:
  F fn_;
  result_slot<result_type> slot_;
};

/// For transact: runs the body in a transaction and completes the awaiting coroutine through a
/// handler_poster.
template <class F, class Handler>
class async_job final : public body_job<F> {
 public:
  async_job(F fn, Handler handler, isolation level, access mode)
      : body_job<F>(std::move(fn), level, mode), poster_(std::move(handler)) {}

  void complete(std::exception_ptr failure) noexcept override { this->answer(poster_, failure); }

 private:
  handler_poster<Handler> poster_;
};

/// For executor::read: like async_job, for a body run by a pqxx::nontransaction.
template <class F, class Handler>
class async_read_job final : public job {
 public:
  using result_type = read_result_t<F>;

  async_read_job(F fn, Handler handler)
      : job(autocommit_t{}), fn_(std::move(fn)), poster_(std::move(handler)) {}

  void run(pqxx::dbtransaction&) override {
    throw std::logic_error("a read job runs outside a transaction");
  }
  void run_autocommit(pqxx::transaction_base& tx) override {
    value_.reset();
    value_.emplace(std::invoke(fn_, tx));
  }

  void complete(std::exception_ptr failure) noexcept override {
    std::optional<result_type> value;
    if (!failure) value = std::move(value_);
    poster_.post(failure, std::move(value));
  }

 private:
  F fn_;
  handler_poster<Handler> poster_;
  std::optional<result_type> value_;
};

}  // namespace detail
}  // namespace pagohub::db
