#include "access.hpp"

#include <pagohub/api/api_key.hpp>
#include <pagohub/http/metrics.hpp>
#include <pagohub/http/problem.hpp>

#include <spdlog/spdlog.h>
#include <boost/beast/core/string.hpp>

namespace pagohub::api {
namespace {

constexpr const char* challenge = "Bearer realm=\"pagohub\"";
constexpr const char* challenge_invalid = "Bearer realm=\"pagohub\", error=\"invalid_token\"";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

http::response unauthorized(const http::request_context& ctx, std::string detail,
                            bool invalid_token) {
  auto res = http::make_problem(ctx, http::status::unauthorized, std::move(detail));
  // RFC 6750 §3: the challenge, with error="invalid_token" when a key was given but is wrong.
  res.set(boost::beast::http::field::www_authenticate,
          invalid_token ? challenge_invalid : challenge);
  return res;
}

}  // namespace

std::string_view presented_key(const http::request& req) noexcept {
  const auto auth = req[boost::beast::http::field::authorization];
  if (!auth.empty()) {
    const std::string_view value(auth.data(), auth.size());
    // The scheme is case-insensitive (RFC 9110 §11.1).
    if (value.size() > 7 && boost::beast::iequals(value.substr(0, 7), "Bearer ")) {
      return trim(value.substr(7));
    }
    return {};
  }
  const auto header = req["X-API-Key"];
  return trim(std::string_view(header.data(), header.size()));
}

std::expected<caller, http::response> access_guard::admit(const http::request_context& ctx,
                                                          std::string_view entity_fc,
                                                          bool take_token) {
  const bool has_auth = !ctx.req[boost::beast::http::field::authorization].empty();
  const std::string_view key = presented_key(ctx.req);
  if (key.empty()) {
    missing_key_.fetch_add(1, std::memory_order_relaxed);
    return std::unexpected(unauthorized(
        ctx,
        has_auth ? "the Authorization header must use the Bearer scheme"
                 : "an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>",
        has_auth));
  }
  caller c;
  c.snapshot = applications_.get();
  // Malformed keys are refused without hashing; well-formed ones are looked up by digest.
  const std::string digest = looks_like_api_key(key) ? api_key_digest(key) : std::string();
  if (!digest.empty()) c.app = c.snapshot->find_by_key_digest(digest);
  if (c.app == nullptr) {
    invalid_key_.fetch_add(1, std::memory_order_relaxed);
    // The key itself is never logged: only where the attempt came from.
    spdlog::warn("rid={} refused an unknown API key from {}", ctx.request_id, ctx.remote_address);
    return std::unexpected(unauthorized(ctx, "the API key is not valid", true));
  }
  // One bucket per key (its digest), so an application's keys are limited separately.
  const auto d = take_token ? limiter_->acquire(digest, c.app->rate_per_second, c.app->burst)
                            : rate_limiter::decision{};
  if (!d.allowed) {
    rate_limited_.fetch_add(1, std::memory_order_relaxed);
    return std::unexpected(rate_limited(ctx, c.app->rate_per_second, c.app->burst, d));
  }
  // Never trust the URL alone (ARCHITECTURE §5): the entity must be one of the key's.
  if (!c.app->grants_entity(entity_fc)) {
    forbidden_.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("rid={} application {} refused: entity not granted", ctx.request_id, c.app->id);
    return std::unexpected(
        http::make_problem(ctx, http::status::forbidden,
                           "this API key is not granted entity " + std::string(entity_fc)));
  }
  c.entity = c.snapshot->entities().find(entity_fc);
  if (c.entity == nullptr || !c.entity->enabled) {
    forbidden_.fetch_add(1, std::memory_order_relaxed);
    return std::unexpected(http::make_problem(
        ctx, http::status::forbidden,
        "entity " + std::string(entity_fc) + " is disabled in the configuration"));
  }
  return c;
}

void access_guard::append_metrics(std::string& out) const {
  const auto n = [](const std::atomic<std::uint64_t>& a) {
    return a.load(std::memory_order_relaxed);
  };
  http::append_counter(out, "pagohub_api_refusals_total",
                       "Back-office API requests refused before the handler.", "reason",
                       {{"missing_key", n(missing_key_)},
                        {"invalid_key", n(invalid_key_)},
                        {"forbidden", n(forbidden_)},
                        {"rate_limited", n(rate_limited_)}});
}

}  // namespace pagohub::api
