#pragma once
// executor::transact_until's job: a transaction that must start before a deadline. Internal to
// db::executor.
//
// A caller that owes someone an answer in bounded time (the Nodo's verify, DIGEST §0) cannot
// wait for a free connection without limit, and the executor cannot take a job back out of its
// queue. So the job and a timer share a start gate: a worker that takes the job moves it to
// `started` and the body runs; the timer, at the deadline, moves a job still queued to
// `withdrawn` and answers the caller with deadline_error, and the worker that reaches it later
// drops it unrun. Whichever moves the gate first decides, so the body either runs and the caller
// gets its outcome, or never runs at all.
//
// For executor::transact_within the deadline also bounds the body once started: the worker hands
// it to the deadline watchdog (src/db/watchdog.hpp), which cancels the transaction if the body
// still runs when it passes.
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "pagohub/db/detail/jobs.hpp"
#include "pagohub/db/errors.hpp"

namespace pagohub::db::detail {

/// Decides, once, whether a queued job starts or is withdrawn.
class start_gate {
 public:
  /// True for the one caller that moves the gate from queued to started.
  bool start() noexcept { return leave_queue(phase::started); }
  /// True for the one caller that moves the gate from queued to withdrawn.
  bool withdraw() noexcept { return leave_queue(phase::withdrawn); }
  /// Whether the job was started (by the worker that took it).
  bool started() const noexcept { return phase_.load(std::memory_order_acquire) == phase::started; }

 private:
  enum class phase { queued, started, withdrawn };
  bool leave_queue(phase to) noexcept {
    phase expected = phase::queued;
    return phase_.compare_exchange_strong(expected, to, std::memory_order_acq_rel);
  }
  std::atomic<phase> phase_{phase::queued};
};

template <class F, class Handler>
class deadline_job final : public body_job<F> {
 public:
  deadline_job(F fn, Handler handler, isolation level, access mode)
      : body_job<F>(std::move(fn), level, mode),
        shared_(std::make_shared<shared>(std::move(handler))) {}

  /// Starts the deadline's timer; call before the job is queued. `cancel_running`: the body,
  /// once started, must not run past the deadline either.
  void arm(std::chrono::steady_clock::time_point deadline, bool cancel_running = false) {
    deadline_ = deadline;
    cancel_running_ = cancel_running;
    shared_->timer.expires_at(deadline);
    shared_->timer.async_wait([s = shared_](boost::system::error_code ec) {
      if (ec || !s->gate.withdraw()) return;  // cancelled, or the job started first
      s->poster.template fail<transact_result_t<F>>(std::make_exception_ptr(
          deadline_error("no database connection became free before the deadline")));
    });
  }

  std::optional<std::chrono::steady_clock::time_point> retry_until() const noexcept override {
    return deadline_;
  }

  std::optional<std::chrono::steady_clock::time_point> cancel_at() const noexcept override {
    if (!cancel_running_) return std::nullopt;
    return deadline_;
  }

  bool start() noexcept override {
    if (!shared_->gate.start()) return false;
    // The timer has nothing left to decide. Cancelled on its own strand: a timer is not safe
    // to touch from a worker thread.
    boost::asio::post(shared_->timer.get_executor(), [s = shared_] { s->timer.cancel(); });
    return true;
  }

  void complete(std::exception_ptr failure) noexcept override {
    // Completed without a start (the executor stopped with the job queued): the job answers
    // unless the timer already has.
    if (!shared_->gate.started() && !start()) return;
    this->answer(shared_->poster, failure);
  }

 private:
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  bool cancel_running_ = false;
  // Held by the job and by the timer's wait; only the side that moved the gate answers.
  struct shared {
    explicit shared(Handler handler)
        : timer(boost::asio::make_strand(boost::asio::get_associated_executor(handler))),
          poster(std::move(handler)) {}

    start_gate gate;
    boost::asio::steady_timer timer;
    handler_poster<Handler> poster;
  };

  std::shared_ptr<shared> shared_;
};

}  // namespace pagohub::db::detail
