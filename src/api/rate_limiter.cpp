#include <pagohub/api/rate_limiter.hpp>
#include <pagohub/http/problem.hpp>

#include <algorithm>
#include <cmath>

namespace pagohub::api {

rate_limiter::decision rate_limiter::acquire(std::string_view key, std::int64_t rate_per_second,
                                             std::int64_t burst) {
  const double rate = static_cast<double>(std::max<std::int64_t>(rate_per_second, 1));
  const double capacity = static_cast<double>(std::max<std::int64_t>(burst, 1));
  const auto now = clock_.now();
  auto& s = shards_[transparent_hash{}(key) % shard_count];
  const std::lock_guard lock(s.mutex);
  // A bucket idle long enough to have refilled is the same as no bucket: dropping such buckets
  // now and then keeps keys rotated out of the configuration from lingering for ever.
  if (++s.acquisitions % prune_every == 0) {
    std::erase_if(s.buckets, [&](const auto& entry) {
      const auto idle = std::chrono::duration<double>(now - entry.second.last);
      return idle > std::chrono::duration<double>(idle_limit) && idle >= entry.second.refill;
    });
  }
  auto it = s.buckets.find(key);
  if (it == s.buckets.end()) it = s.buckets.emplace(std::string(key), bucket{capacity, now}).first;
  auto& b = it->second;
  // A clock that steps back (NTP, a test) refills nothing rather than draining the bucket.
  const double elapsed = std::max(0.0, std::chrono::duration<double>(now - b.last).count());
  b.tokens = std::min(capacity, b.tokens + elapsed * rate);
  b.last = std::max(b.last, now);
  const bool allowed = b.tokens >= 1.0;
  if (allowed) b.tokens -= 1.0;
  b.refill = std::chrono::duration<double>((capacity - b.tokens) / rate);
  if (allowed) return {true, std::chrono::seconds(0)};
  // RFC 9110 §10.2.3: Retry-After in whole seconds; round up so that a client obeying it finds
  // a token waiting.
  const double wait = (1.0 - b.tokens) / rate;
  const auto seconds = static_cast<std::int64_t>(std::ceil(wait));
  return {false, std::chrono::seconds(std::max<std::int64_t>(seconds, 1))};
}

std::size_t rate_limiter::size() {
  std::size_t n = 0;
  for (auto& s : shards_) {
    const std::lock_guard lock(s.mutex);
    n += s.buckets.size();
  }
  return n;
}

http::response rate_limited(const http::request_context& ctx, std::int64_t rate_per_second,
                            std::int64_t burst, const rate_limiter::decision& d) {
  auto res = http::make_problem(ctx, http::status::too_many_requests,
                                "rate limit of " + std::to_string(rate_per_second) +
                                    " requests per second (burst " + std::to_string(burst) +
                                    ") exceeded; retry after " +
                                    std::to_string(d.retry_after.count()) + " s");
  res.set(boost::beast::http::field::retry_after, std::to_string(d.retry_after.count()));
  return res;
}

}  // namespace pagohub::api
