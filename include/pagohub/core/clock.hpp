#pragma once
// Injectable time source: components take a `const clock&` so that tests can fix the time
// (ARCHITECTURE §8: tests inject clock and id sources).
#include <chrono>
#include <mutex>

namespace pagohub::core {

/// A source of the current time (UTC, system clock epoch).
class clock {
 public:
  using time_point = std::chrono::system_clock::time_point;

  virtual ~clock() = default;

  /// The current time.
  virtual time_point now() const = 0;
};

/// The real wall clock.
class system_clock final : public clock {
 public:
  time_point now() const override { return std::chrono::system_clock::now(); }
};

/// A clock that reports a time set by the test; safe to read and set from several threads.
class fixed_clock final : public clock {
 public:
  explicit fixed_clock(time_point start) : now_(start) {}

  time_point now() const override;

  /// Sets the time reported from now on.
  void set(time_point t);

  /// Moves the reported time forward (or back, with a negative duration).
  void advance(std::chrono::system_clock::duration d);

 private:
  mutable std::mutex mutex_;
  time_point now_;
};

}  // namespace pagohub::core
