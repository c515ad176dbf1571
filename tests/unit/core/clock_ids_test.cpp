#include <pagohub/core/clock.hpp>
#include <pagohub/core/ids.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

namespace pagohub::core {
namespace {

bool is_lower_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(clock, fixed_clock_is_settable) {
  const clock::time_point start{std::chrono::seconds{1'700'000'000}};
  fixed_clock c(start);
  const clock& as_base = c;
  EXPECT_EQ(as_base.now(), start);
  c.advance(std::chrono::seconds{5});
  EXPECT_EQ(as_base.now(), start + std::chrono::seconds{5});
  c.set(start);
  EXPECT_EQ(as_base.now(), start);
}

TEST(clock, system_clock_moves) {
  const system_clock c;
  const auto before = std::chrono::system_clock::now();
  const auto now = c.now();
  EXPECT_GE(now, before);
}

TEST(ids, random_hex) {
  EXPECT_EQ(random_hex(0), "");
  const auto h = random_hex(8);
  EXPECT_EQ(h.size(), 16u);
  EXPECT_TRUE(is_lower_hex(h));
}

TEST(ids, request_ids_are_distinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto id = new_request_id();
    EXPECT_EQ(id.size(), 32u);
    EXPECT_TRUE(is_lower_hex(id));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

// The time comes first, so the journal's request-id index grows at its right edge.
TEST(ids, request_ids_begin_with_the_time) {
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const auto id = new_request_id();
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  const long long ms = std::stoll(id.substr(0, 12), nullptr, 16);
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, after);
  EXPECT_NE(id.substr(12), new_request_id().substr(12));
}

TEST(ids, uuid_v4_layout) {
  for (int i = 0; i < 100; ++i) {
    const auto u = new_uuid();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[8], '-');
    EXPECT_EQ(u[13], '-');
    EXPECT_EQ(u[18], '-');
    EXPECT_EQ(u[23], '-');
    EXPECT_EQ(u[14], '4');                                          // version
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos);  // variant 10xx
    std::string hex = u;
    std::erase(hex, '-');
    EXPECT_TRUE(is_lower_hex(hex));
  }
}

}  // namespace
}  // namespace pagohub::core
