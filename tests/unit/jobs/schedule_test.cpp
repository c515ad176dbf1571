// Slots of a schedule: every daemon must compute the same ones from the same time.
#include <gtest/gtest.h>

#include "pagohub/jobs/schedule.hpp"

namespace {

using pagohub::jobs::schedule;
using namespace std::chrono;
using namespace std::chrono_literals;

schedule::time_point at(std::int64_t s) {
  return schedule::time_point(seconds(s));
}

TEST(jobs_schedule, periodic_slots_are_aligned_to_the_epoch) {
  const auto every = schedule::every(60s);
  EXPECT_EQ(every.slot_of(at(1'800'000'059)), at(1'799'999'940 + 60));
  EXPECT_EQ(every.slot_of(at(1'800'000'000)), at(1'800'000'000));
  EXPECT_EQ(every.slot_of(at(1'799'999'999)), at(1'799'999'940));
  EXPECT_EQ(every.next_slot(at(1'800'000'000)), at(1'800'000'060));
  EXPECT_EQ(every.slot_of(at(1'800'000'000) + 999ms), at(1'800'000'000));
  EXPECT_EQ(every.describe(), "every 1m");
  EXPECT_EQ(schedule::every(6h).describe(), "every 6h");
  EXPECT_EQ(schedule::every(5s).describe(), "every 5s");
  EXPECT_THROW(schedule::every(0s), std::invalid_argument);
}

TEST(jobs_schedule, daily_slots_start_at_their_utc_time) {
  const auto daily = schedule::daily_at(2, 30);
  // 2027-01-15 (Unix day 20833) at 01:00 belongs to the previous day's 02:30 slot.
  const std::int64_t day = 20833LL * 86400;
  EXPECT_EQ(daily.slot_of(at(day + 3600)), at(day - 86400 + 9000));
  EXPECT_EQ(daily.slot_of(at(day + 9000)), at(day + 9000));
  EXPECT_EQ(daily.next_slot(at(day + 9000)), at(day + 86400 + 9000));
  EXPECT_EQ(daily.describe(), "daily at 02:30 UTC");
  EXPECT_THROW(schedule::daily_at(24, 0), std::invalid_argument);
  EXPECT_THROW(schedule::daily_at(1, 60), std::invalid_argument);
}

}  // namespace
