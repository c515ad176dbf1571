// The retry policy's verdicts and back-off, and the circuit breaker: no database needed.
#include <pagohub/integration/retry_policy.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>

#include "breaker.hpp"
#include "fixture.hpp"

namespace {

using namespace pagohub;
using namespace pagohub::integration;
using namespace pagohub::integration::test;
using namespace std::chrono_literals;

TEST(retry_policy, verdicts_backoff_and_exhaustion) {
  EXPECT_EQ(judge_status(200), verdict::delivered);
  EXPECT_EQ(judge_status(204), verdict::delivered);
  EXPECT_EQ(judge_status(409), verdict::delivered);
  EXPECT_EQ(judge_status(400), verdict::dead);
  EXPECT_EQ(judge_status(404), verdict::dead);
  EXPECT_EQ(judge_status(301), verdict::dead);
  EXPECT_EQ(judge_status(408), verdict::retry);
  EXPECT_EQ(judge_status(429), verdict::retry);
  EXPECT_EQ(judge_status(500), verdict::retry);
  EXPECT_EQ(judge_status(503), verdict::retry);
  // Not HTTP statuses: retried, neither delivered nor dead.
  EXPECT_EQ(judge_status(0), verdict::retry);
  EXPECT_EQ(judge_status(99), verdict::retry);
  EXPECT_EQ(judge_status(600), verdict::retry);
  EXPECT_EQ(judge_status(999), verdict::retry);
  config::integration i;
  i.backoff_initial = 100ms;
  i.backoff_max = 1000ms;
  std::mt19937_64 rng(42);
  std::chrono::milliseconds biggest{0};
  for (int k = 0; k < 2000; ++k) {
    EXPECT_LE(backoff_delay(1, i, rng), 100ms);
    EXPECT_LE(backoff_delay(3, i, rng), 400ms);
    const auto d = backoff_delay(30, i, rng);
    EXPECT_LE(d, 1000ms);
    biggest = std::max(biggest, d);
  }
  EXPECT_GT(biggest, 900ms);  // full jitter spreads over the whole range
  i.max_attempts = 3;
  i.max_age = 1h;
  EXPECT_FALSE(exhausted(2, t0(), t0() + 1min, i));
  EXPECT_TRUE(exhausted(3, t0(), t0() + 1min, i));
  EXPECT_TRUE(exhausted(1, t0(), t0() + 61min, i));
  EXPECT_EQ(truncate_utf8("aé", 2), "a");  // never half a character
}

TEST(breaker, opens_after_consecutive_failures_and_sends_one_probe) {
  using detail::batch_permit;
  using detail::breaker;
  const auto t = breaker::clock_type::now();
  breaker b;
  EXPECT_EQ(b.allow(t), breaker::permit::send);
  b.record(false, false, 3, 1000ms, t);
  b.record(true, false, 3, 1000ms, t);  // a success in between resets the count
  for (int i = 0; i < 3; ++i) b.record(false, false, 3, 1000ms, t);
  EXPECT_EQ(b.state(), breaker_state::open);
  EXPECT_EQ(b.allow(t + 500ms), breaker::permit::wait);
  {
    batch_permit p(b, t + 1s);
    ASSERT_TRUE(p.probe());
    EXPECT_EQ(b.state(), breaker_state::half_open);
    EXPECT_EQ(b.allow(t + 1s), breaker::permit::wait);  // one probe at a time
    p.record(true, 3, 1000ms, t + 1s);
  }
  EXPECT_EQ(b.state(), breaker_state::closed);
  EXPECT_EQ(b.allow(t + 1s), breaker::permit::send);
}

TEST(breaker, a_probe_batch_that_records_nothing_gives_its_turn_back) {
  using detail::batch_permit;
  using detail::breaker;
  const auto t = breaker::clock_type::now();
  breaker b;
  for (int i = 0; i < 2; ++i) b.record(false, false, 2, 1000ms, t);
  ASSERT_EQ(b.state(), breaker_state::open);
  // Nothing was due: the batch ends with no outcome.
  {
    batch_permit p(b, t + 1s);
    ASSERT_TRUE(p.probe());
  }
  // The claim threw (the database went away): the permit is given back on the way out.
  try {
    batch_permit p(b, t + 1s);
    ASSERT_TRUE(p.probe());
    throw std::runtime_error("connection lost");
  } catch (const std::runtime_error&) {
  }
  // So the next batch may still probe, and its failure opens the circuit again.
  {
    batch_permit p(b, t + 1s);
    ASSERT_TRUE(p.probe());
    p.record(false, 2, 1000ms, t + 1s);
  }
  EXPECT_EQ(b.state(), breaker_state::open);
  EXPECT_EQ(b.allow(t + 1500ms), breaker::permit::wait);
  // A probe that recorded its outcome leaves alone the probe that came after it.
  std::optional<batch_permit> first(std::in_place, b, t + 2s);
  ASSERT_TRUE(first->probe());
  first->record(false, 2, 1000ms, t + 2s);
  batch_permit second(b, t + 3s);
  ASSERT_TRUE(second.probe());
  first.reset();
  EXPECT_EQ(b.allow(t + 3s), breaker::permit::wait);
  // A batch allowed to send holds nothing back.
  breaker closed;
  { batch_permit p(closed, t); }
  EXPECT_EQ(closed.allow(t), breaker::permit::send);
}

}  // namespace
