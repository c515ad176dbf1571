// What the operators' and admins' routes share (admin_support.hpp).
#include <pagohub/api/api_key.hpp>
#include <pagohub/core/utc_time.hpp>
#include <pagohub/db/errors.hpp>

#include <spdlog/spdlog.h>
#include <boost/beast/core/string.hpp>
#include <pqxx/pqxx>

#include <string>
#include <string_view>

#include "admin_support.hpp"

namespace pagohub::integration::detail {

using http::status;
using nlohmann::ordered_json;
using time_point = std::chrono::system_clock::time_point;

namespace {

std::expected<admin_caller, http::response> admit(admin_state& d,
                                                  const http::request_context& ctx) {
  const auto key = api::presented_key(ctx.req);
  admin_caller c;
  c.snapshot = d.applications.get();
  std::string digest;
  if (!key.empty() && api::looks_like_api_key(key)) {
    digest = api::api_key_digest(key);
    c.app = c.snapshot->find_by_key_digest(digest);
  }
  if (c.app == nullptr) {
    auto res =
        http::make_problem(ctx, status::unauthorized,
                           key.empty() ? "an API key is required" : "the API key is not valid");
    res.set(boost::beast::http::field::www_authenticate, "Bearer realm=\"pagohub\"");
    return std::unexpected(std::move(res));
  }
  if (c.app->role == config::application_role::backoffice) {
    spdlog::info(
        "rid={} application {} refused: delivery administration needs role operator or "
        "admin",
        ctx.request_id, c.app->id);
    return std::unexpected(http::make_problem(
        ctx, status::forbidden,
        "delivery administration needs an application with role operator or admin"));
  }
  if (const auto t = d.limiter->acquire(digest, c.app->rate_per_second, c.app->burst); !t.allowed)
    return std::unexpected(api::rate_limited(ctx, c.app->rate_per_second, c.app->burst, t));
  c.admin = c.app->role == config::application_role::admin;
  return c;
}

http::response db_unavailable(const http::request_context& ctx, std::string_view why) {
  return http::make_unavailable(ctx, std::string(why) + "; nothing was changed");
}

}  // namespace

http::handler guarded(std::shared_ptr<admin_state> d, handler_fn fn) {
  return [d, fn](http::request_context& ctx) -> boost::asio::awaitable<http::response> {
    auto c = admit(*d, ctx);
    if (!c) co_return std::move(c).error();
    try {
      co_return co_await fn(*d, ctx, *c);
    } catch (const pqxx::failure& e) {
      // Unreachable, or unable to take it now (db::unavailable_reason): rolled back, not a
      // defect.
      const auto why = db::unavailable_reason(e);
      if (!why) throw;
      co_return db_unavailable(ctx, *why);
    }
  };
}

ordered_json opt_time_json(const std::optional<time_point>& t) {
  return t ? ordered_json(core::format_utc(*t, 3)) : ordered_json(nullptr);
}

http::response json(const http::request_context& ctx, status st, const ordered_json& body) {
  return http::make_response(ctx.req, st,
                             body.dump(-1, ' ', false, ordered_json::error_handler_t::replace),
                             "application/json");
}

http::response bad_field(const http::request_context& ctx, std::string path, std::string message) {
  http::problem p;
  p.http_status = status::bad_request;
  p.detail = message;
  p.instance = std::string(ctx.path);
  p.request_id = ctx.request_id;
  p.errors.push_back({std::move(path), "invalid", std::move(message)});
  return http::make_problem(ctx.req, p);
}

// The JSON object body of a POST (empty body = {}), or a 400.
std::expected<nlohmann::json, http::response> body_object(const http::request_context& ctx) {
  if (ctx.req.body().empty()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(ctx.req.body(), nullptr, false);
  if (!j.is_object()) return std::unexpected(bad_field(ctx, "", "the body must be a JSON object"));
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return std::unexpected(bad_field(ctx, "/" + k, k + " must be a string"));
  }
  return j;
}

}  // namespace pagohub::integration::detail
