// The per-key token bucket, driven by a fixed clock.
#include <pagohub/api/rate_limiter.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace pagohub::api {
namespace {

using namespace std::chrono_literals;

core::fixed_clock::time_point start() {
  return core::fixed_clock::time_point(std::chrono::sys_days(std::chrono::year(2025) / 3 / 1));
}

TEST(rate_limiter, a_full_bucket_allows_burst_requests_then_refuses) {
  core::fixed_clock clock(start());
  rate_limiter limiter(clock);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.acquire("k", 1, 5).allowed) << i;
  const auto refused = limiter.acquire("k", 1, 5);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 1s);
}

TEST(rate_limiter, tokens_come_back_at_the_rate) {
  core::fixed_clock clock(start());
  rate_limiter limiter(clock);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.acquire("k", 10, 10).allowed);
  EXPECT_FALSE(limiter.acquire("k", 10, 10).allowed);
  clock.advance(100ms);  // one token at 10/s
  EXPECT_TRUE(limiter.acquire("k", 10, 10).allowed);
  EXPECT_FALSE(limiter.acquire("k", 10, 10).allowed);
  clock.advance(350ms);  // three and a half tokens
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.acquire("k", 10, 10).allowed) << i;
  EXPECT_FALSE(limiter.acquire("k", 10, 10).allowed);
  clock.advance(50ms);  // the half left over plus half: one
  EXPECT_TRUE(limiter.acquire("k", 10, 10).allowed);
}

TEST(rate_limiter, the_bucket_never_holds_more_than_burst) {
  core::fixed_clock clock(start());
  rate_limiter limiter(clock);
  EXPECT_TRUE(limiter.acquire("k", 100, 3).allowed);
  clock.advance(std::chrono::hours(1));
  int allowed = 0;
  while (limiter.acquire("k", 100, 3).allowed) ++allowed;
  EXPECT_EQ(allowed, 3);
}

TEST(rate_limiter, retry_after_rounds_up_to_whole_seconds) {
  core::fixed_clock clock(start());
  rate_limiter limiter(clock);
  // One request per 10 s (rate is per second, so: burst 1, rate 1, and a slow refill below).
  ASSERT_TRUE(limiter.acquire("slow", 1, 1).allowed);
  auto d = limiter.acquire("slow", 1, 1);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 1s);
  clock.advance(400ms);
  d = limiter.acquire("slow", 1, 1);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 1s);  // 0.6 s rounds up
  clock.advance(600ms);
  EXPECT_TRUE(limiter.acquire("slow", 1, 1).allowed);
}

TEST(rate_limiter, buckets_of_keys_gone_quiet_are_dropped) {
  core::fixed_clock clock(start());
  rate_limiter limiter(clock);
  // Keys used once (rotated out, say), then an hour and more of traffic on one key only.
  for (int i = 0; i < 100; ++i) limiter.acquire("old-" + std::to_string(i), 10, 10);
  EXPECT_EQ(limiter.size(), 100u);
  clock.advance(2h);
  for (int i = 0; i < 64 * 4096; ++i)
    limiter.acquire("busy-" + std::to_string(i % 256), 1000000, 1);
  EXPECT_EQ(limiter.size(), 256u);
  // A dropped bucket comes back full: nobody gains or loses tokens by the sweep.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.acquire("old-1", 10, 10).allowed) << i;
  EXPECT_FALSE(limiter.acquire("old-1", 10, 10).allowed);
}

// A large burst refilled slowly takes longer than the sweep's hour to refill: its bucket is kept
// until it would be full, or a key that drained it would get the whole burst back early.
TEST(rate_limiter, a_bucket_still_refilling_is_not_swept) {
  core::fixed_clock clock(start());
  rate_limiter limiter(clock);
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(limiter.acquire("big", 1, 100000).allowed) << i;
  EXPECT_FALSE(limiter.acquire("big", 1, 100000).allowed);
  clock.advance(2h);  // 7,200 tokens back, of 100,000
  for (int i = 0; i < 64 * 4096; ++i)
    limiter.acquire("busy-" + std::to_string(i % 256), 1000000, 1);
  int allowed = 0;
  while (limiter.acquire("big", 1, 100000).allowed) ++allowed;
  EXPECT_LE(allowed, 7201);
  EXPECT_GE(allowed, 7199);
}

TEST(rate_limiter, keys_have_separate_buckets) {
  core::fixed_clock clock(start());
  rate_limiter limiter(clock);
  ASSERT_TRUE(limiter.acquire("a", 1, 1).allowed);
  EXPECT_FALSE(limiter.acquire("a", 1, 1).allowed);
  EXPECT_TRUE(limiter.acquire("b", 1, 1).allowed);
}

TEST(rate_limiter, a_clock_stepping_back_refills_nothing) {
  core::fixed_clock clock(start());
  rate_limiter limiter(clock);
  ASSERT_TRUE(limiter.acquire("k", 1, 1).allowed);
  clock.advance(-10s);
  EXPECT_FALSE(limiter.acquire("k", 1, 1).allowed);
  clock.advance(10s);
  EXPECT_FALSE(limiter.acquire("k", 1, 1).allowed);  // time already counted is not counted twice
  clock.advance(1s);
  EXPECT_TRUE(limiter.acquire("k", 1, 1).allowed);
}

TEST(rate_limiter, concurrent_callers_never_get_more_than_burst) {
  core::fixed_clock clock(start());
  rate_limiter limiter(clock);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (limiter.acquire("shared", 1, 500).allowed) ++allowed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 500);
}

}  // namespace
}  // namespace pagohub::api
