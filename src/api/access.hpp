#pragma once
// The gate in front of every back-office route: who is calling (API key), how often (rate
// limit), and whether the entity in the URL is theirs. Route families (positions, imports) share
// one access_guard so that a key has one bucket whatever route it calls.
#include <pagohub/api/rate_limiter.hpp>
#include <pagohub/config/application.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/http/types.hpp>
#include <pagohub/positions/store.hpp>

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

namespace pagohub::api {

/// An admitted request: the application behind the key and the entity of the URL, both read
/// from one registry snapshot, which the caller keeps alive.
struct caller {
  std::shared_ptr<const config::application_registry> snapshot;
  const config::application* app = nullptr;
  const config::entity* entity = nullptr;

  /// The actor recorded with the caller's writes: the application id, never the key.
  positions::actor actor(const http::request_context& ctx) const {
    return {"application", app->id, ctx.request_id};
  }
};

class access_guard {
 public:
  /// `limiter`: the token buckets shared by every route family a key may call; null: its own.
  access_guard(config::application_holder& applications, const core::clock& clock,
               std::shared_ptr<rate_limiter> limiter = nullptr)
      : applications_(applications),
        limiter_(limiter ? std::move(limiter) : std::make_shared<rate_limiter>(clock)) {}

  /// Authenticates the key (401), takes a rate-limit token (429 with Retry-After), checks that
  /// `entity_fc` is granted (403) and enabled (403). On refusal, the problem response to send.
  /// `take_token` false: the request was admitted (and charged) already on its head, before its
  /// body was read (route_options::before_body), and is only checked again.
  std::expected<caller, http::response> admit(const http::request_context& ctx,
                                              std::string_view entity_fc, bool take_token = true);

  /// Prometheus lines: refusals by reason.
  void append_metrics(std::string& out) const;

 private:
  config::application_holder& applications_;
  std::shared_ptr<rate_limiter> limiter_;
  std::atomic<std::uint64_t> missing_key_{0};
  std::atomic<std::uint64_t> invalid_key_{0};
  std::atomic<std::uint64_t> forbidden_{0};
  std::atomic<std::uint64_t> rate_limited_{0};
};

}  // namespace pagohub::api
