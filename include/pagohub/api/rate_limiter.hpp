#pragma once
// Per-key request rate limit: a token bucket per API key (docs/operations.md "Rate limits").
// Sharded: a request locks one of several small maps for a few arithmetic operations, so the
// I/O threads hardly ever wait for each other.
#include <pagohub/core/clock.hpp>
#include <pagohub/http/router.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pagohub::api {

class rate_limiter {
 public:
  /// The answer for one request.
  struct decision {
    bool allowed = true;
    /// When refused: whole seconds until a token is available again (at least 1), the value of
    /// the Retry-After header.
    std::chrono::seconds retry_after{0};
  };

  /// `clock` must outlive the limiter; tests pass a core::fixed_clock.
  explicit rate_limiter(const core::clock& clock) : clock_(clock) {}

  /// Takes one token from `key`'s bucket, creating it full (`burst` tokens) on first use. The
  /// bucket refills at `rate_per_second` up to `burst`; both may change between calls (a
  /// configuration reload) and apply from then on. Thread-safe.
  decision acquire(std::string_view key, std::int64_t rate_per_second, std::int64_t burst);

 private:
  struct bucket {
    double tokens = 0;
    core::clock::time_point last{};
    /// How long after `last` the bucket is full again, at the rate of its last acquisition:
    /// only then is dropping it the same as keeping it.
    std::chrono::duration<double> refill{0};
  };
  struct transparent_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct shard {
    std::mutex mutex;
    std::unordered_map<std::string, bucket, transparent_hash, std::equal_to<>> buckets;
    std::uint64_t acquisitions = 0;
  };
  static constexpr std::size_t shard_count = 16;
  /// How often (in acquisitions per shard) idle buckets are swept, and how long a bucket must
  /// have been idle to go: an hour, or the time it takes to refill if longer (a burst of 100,000
  /// at 1 per second), so that a sweep never hands a key tokens it had not earned.
  static constexpr std::uint64_t prune_every = 4096;
  static constexpr std::chrono::hours idle_limit{1};

 public:
  /// Buckets held now (for tests and metrics).
  std::size_t size();

 private:
  const core::clock& clock_;
  std::array<shard, shard_count> shards_;
};

/// The 429 answer to a refused request: a problem naming the limit, with Retry-After.
http::response rate_limited(const http::request_context& ctx, std::int64_t rate_per_second,
                            std::int64_t burst, const rate_limiter::decision& d);

}  // namespace pagohub::api
