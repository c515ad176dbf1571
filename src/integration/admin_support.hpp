#pragma once
// What the operators' and admins' routes share (admin_routes.cpp, admin_settings_routes.cpp):
// who is calling (admission by API key, role, per-key rate limit), the guard that wraps every
// handler, and the JSON and problem answers.
#include <pagohub/api/rate_limiter.hpp>
#include <pagohub/http/problem.hpp>
#include <pagohub/integration/admin_routes.hpp>
#include <pagohub/integration/outbox_admin.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace pagohub::integration::detail {

struct admin_caller {
  const config::application* app = nullptr;
  std::shared_ptr<const config::application_registry> snapshot;
  bool admin = false;
  journal::actor actor() const { return {std::string(config::to_string(app->role)), app->id}; }
  /// An integration is an operator's to see when it serves one of the operator's entities;
  /// one that serves none is answered as unknown (404), so that ids cannot be probed.
  bool sees(const config::integration& i) const {
    return admin || std::any_of(i.entities.begin(), i.entities.end(),
                                [&](const auto& fc) { return app->grants_entity(fc); });
  }
  /// The entities of `i` this caller may know of: an operator does not learn the fiscal codes
  /// of other entities an integration also serves.
  std::vector<std::string> entities_of(const config::integration& i) const {
    if (admin) return i.entities;
    std::vector<std::string> out;
    for (const auto& fc : i.entities)
      if (app->grants_entity(fc)) out.push_back(fc);
    return out;
  }
  delivery_filter scope() const {
    delivery_filter f;
    f.all_entities = admin;
    if (!admin) f.scope = app->entities;
    return f;
  }
};

// The routes' shared state: what they were given, with the token buckets of the keys that call
// them (the back-office API's, when given).
struct admin_state : admin_route_deps {
  explicit admin_state(admin_route_deps d) : admin_route_deps(std::move(d)) {
    if (!limiter) limiter = std::make_shared<api::rate_limiter>(clock);
  }
};

using handler_fn = std::function<boost::asio::awaitable<http::response>(
    admin_route_deps&, http::request_context&, const admin_caller&)>;

/// Admission (401, 403 for back-office keys, 429), then `fn`; a lost database answers 503.
http::handler guarded(std::shared_ptr<admin_state> d, handler_fn fn);

template <class T>
nlohmann::ordered_json opt_json(const std::optional<T>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}
nlohmann::ordered_json opt_time_json(const std::optional<std::chrono::system_clock::time_point>& t);

http::response json(const http::request_context& ctx, http::status st,
                    const nlohmann::ordered_json& body);

/// A 400 with one field error.
http::response bad_field(const http::request_context& ctx, std::string path, std::string message);

/// The JSON object body of a POST (empty body = {}) whose members are all strings, or a 400.
std::expected<nlohmann::json, http::response> body_object(const http::request_context& ctx);

}  // namespace pagohub::integration::detail
