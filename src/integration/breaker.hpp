#pragma once
// The circuit breaker of one endpoint: after `failures` consecutive failures (no answer, or a
// retryable status) it opens, and nothing is sent for `open_for`; then one probe message goes
// (half-open): its success closes the circuit, its failure opens it again. While open, due
// messages simply stay PENDING, so a back-office that is down costs one probe per period
// instead of a retry storm.
#include <pagohub/integration/delivery.hpp>

#include <atomic>
#include <chrono>
#include <mutex>

namespace pagohub::integration::detail {

class breaker {
 public:
  using clock_type = std::chrono::steady_clock;
  enum class permit { send, probe, wait };

  /// What a batch may do now: send normally, send one probe message, or nothing.
  permit allow(clock_type::time_point now) {
    std::lock_guard lock(mutex_);
    if (state_ == breaker_state::closed) return permit::send;
    if (state_ == breaker_state::open && now >= open_until_) state_ = breaker_state::half_open;
    if (state_ == breaker_state::half_open && !probing_) {
      probing_ = true;
      return permit::probe;
    }
    return permit::wait;
  }

  /// The outcome of one attempt (`endpoint_ok`: the endpoint answered with a status that is
  /// not a retryable failure), and whether it was the probe.
  void record(bool endpoint_ok, bool was_probe, int failures_to_open,
              std::chrono::milliseconds open_for, clock_type::time_point now) {
    std::lock_guard lock(mutex_);
    if (was_probe) probing_ = false;
    if (endpoint_ok) {
      failures_ = 0;
      if (state_ != breaker_state::closed && (was_probe || state_ == breaker_state::half_open)) {
        state_ = breaker_state::closed;
      }
      return;
    }
    ++failures_;
    if (was_probe || (state_ == breaker_state::closed && failures_ >= failures_to_open)) {
      state_ = breaker_state::open;
      open_until_ = now + open_for;
    }
  }

  /// A probe that recorded nothing (no message was due, the claim failed, the message was
  /// held back) gives its turn back. Use through batch_permit, which calls it exactly then.
  void release_probe() {
    std::lock_guard lock(mutex_);
    probing_ = false;
  }

  breaker_state state() const {
    std::lock_guard lock(mutex_);
    return state_;
  }

 private:
  mutable std::mutex mutex_;
  breaker_state state_ = breaker_state::closed;
  int failures_ = 0;
  bool probing_ = false;
  clock_type::time_point open_until_{};
};

/// One batch's permission from the breaker, for as long as the batch runs. A probe batch that
/// ends without the probe's outcome recorded (nothing was due, the claim or anything after it
/// threw, the message never left) gives the probe's turn back when it is destroyed: otherwise
/// the breaker would stay half-open with a probe that never ends, and the endpoint would get
/// nothing more from this daemon.
class batch_permit {
 public:
  batch_permit(breaker& b, breaker::clock_type::time_point now) : b_(b), kind_(b.allow(now)) {}
  ~batch_permit() {
    if (kind_ == breaker::permit::probe && !recorded_.load()) b_.release_probe();
  }
  batch_permit(const batch_permit&) = delete;
  batch_permit& operator=(const batch_permit&) = delete;

  breaker::permit kind() const noexcept { return kind_; }
  bool probe() const noexcept { return kind_ == breaker::permit::probe; }

  /// The outcome of one attempt of this batch (see breaker::record). Thread-safe.
  void record(bool endpoint_ok, int failures_to_open, std::chrono::milliseconds open_for,
              breaker::clock_type::time_point now) {
    b_.record(endpoint_ok, probe(), failures_to_open, open_for, now);
    if (probe()) recorded_ = true;
  }

 private:
  breaker& b_;
  const breaker::permit kind_;
  std::atomic<bool> recorded_{false};
};

}  // namespace pagohub::integration::detail
