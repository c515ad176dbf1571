#pragma once
// Polling with a deadline, for tests that wait on another process or thread (ARCHITECTURE §8:
// tests poll for the outcome rather than sleep a guessed time).
#include <chrono>
#include <thread>

namespace pagohub::test_support {

/// Calls `condition` until it returns true or `within` has passed, sleeping `step` between
/// calls; returns the last answer (one more call after the deadline).
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds within = std::chrono::seconds(20),
                std::chrono::milliseconds step = std::chrono::milliseconds(20)) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(step);
  }
  return condition();
}

}  // namespace pagohub::test_support
