// Operators' delivery routes and integration suspend/resume
// (include/pagohub/integration/admin_routes.hpp); the integrations' views and settings are in
// admin_settings_routes.cpp.
#include <pagohub/core/utc_time.hpp>
#include <pagohub/integration/admin_routes.hpp>
#include <pagohub/integration/delivery.hpp>
#include <pagohub/integration/outbox_admin.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <cstdio>
#include <expected>

#include "admin_settings_routes.hpp"
#include "admin_support.hpp"

namespace pagohub::integration {

namespace {

using detail::admin_caller;
using detail::bad_field;
using detail::body_object;
using detail::guarded;
using detail::json;
using detail::opt_json;
using detail::opt_time_json;
using http::status;
using nlohmann::ordered_json;
using time_point = std::chrono::system_clock::time_point;

// "2026-11-27T08:00:00Z" (fraction and offset allowed) or a date "2026-11-27" (UTC midnight).
std::optional<time_point> parse_time(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  char tail[16] = {};
  if (s.size() == 10 && std::sscanf(s.c_str(), "%4d-%2d-%2d", &y, &mo, &d) == 3) {
  } else if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%15s", &y, &mo, &d, &h, &mi, &se,
                         tail) >= 6) {
    std::string t = tail;
    if (const auto dot = t.find('.'); dot == 0) {
      const auto end = t.find_first_not_of("0123456789", 1);
      t = end == std::string::npos ? "" : t.substr(end);
    }
    if (t != "Z" && t != "z" && t != "+00:00") return std::nullopt;
  } else {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 60) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{se};
}

ordered_json summary_json(const delivery_summary& s) {
  return {{"id", s.id},
          {"entityFiscalCode", s.entity_fc},
          {"kind", s.kind},
          {"key", s.key},
          {"state", s.state},
          {"integrationId", opt_json(s.integration_id)},
          {"applicationId", opt_json(s.application_id)},
          {"attempts", s.attempts},
          {"lastStatus", opt_json(s.last_status)},
          {"lastError", opt_json(s.last_error)},
          {"createdAt", core::format_utc(s.created_at, 3)},
          {"nextAttemptAt", opt_time_json(s.next_attempt_at)},
          {"lastAttemptAt", opt_time_json(s.last_attempt_at)},
          {"deliveredAt", opt_time_json(s.delivered_at)},
          {"deliveredVia", opt_json(s.delivered_via)},
          {"deadAt", opt_time_json(s.dead_at)}};
}

bool valid_state(const std::string& s) {
  return s == "PENDING" || s == "DELIVERING" || s == "DELIVERED" || s == "DEAD";
}

bool valid_fc(const std::string& s) {
  return s.size() == 11 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A filter from a source of named values (query or JSON body); `where` prefixes paths.
template <class Get>
std::expected<delivery_filter, http::response> read_filter(const http::request_context& ctx,
                                                           const admin_caller& c, Get get,
                                                           const std::string& where) {
  delivery_filter f = c.scope();
  if (auto v = get("entity")) {
    if (!valid_fc(*v))
      return std::unexpected(
          bad_field(ctx, where + "entity", "an entity fiscal code is 11 digits"));
    if (!c.admin && std::find(f.scope.begin(), f.scope.end(), *v) == f.scope.end()) {
      return std::unexpected(
          http::make_problem(ctx, status::forbidden, "this key is not granted entity " + *v));
    }
    f.entity = *v;
  }
  if (auto v = get("state")) {
    if (!valid_state(*v)) {
      return std::unexpected(
          bad_field(ctx, where + "state", "state is PENDING, DELIVERING, DELIVERED or DEAD"));
    }
    f.state = *v;
  }
  if (auto v = get("integration")) f.integration = *v;
  if (auto v = get("kind")) f.kind = *v;
  for (const char* name : {"from", "to"}) {
    if (auto v = get(name)) {
      auto t = parse_time(*v);
      if (!t) {
        return std::unexpected(bad_field(
            ctx, where + name, "a date (2026-11-27) or a UTC time (2026-11-27T08:00:00Z)"));
      }
      (std::string_view(name) == "from" ? f.from : f.to) = *t;
    }
  }
  return f;
}

std::optional<std::string> member(const nlohmann::json& j, const char* name) {
  if (!j.contains(name)) return std::nullopt;
  return j[name].get<std::string>();
}

// ---- handlers -------------------------------------------------------------------------------

boost::asio::awaitable<http::response> list(admin_route_deps& d, http::request_context& ctx,
                                            const admin_caller& c) {
  auto f = read_filter(
      ctx, c, [&](const char* n) { return http::query_param(ctx.query, n); }, "/query/");
  if (!f) co_return std::move(f).error();
  int limit = 50;
  if (auto v = http::query_param(ctx.query, "limit")) {
    if (v->empty() || v->size() > 3 || !std::all_of(v->begin(), v->end(), ::isdigit) ||
        std::stoi(*v) < 1 || std::stoi(*v) > 500) {
      co_return bad_field(ctx, "/query/limit", "limit is 1..500");
    }
    limit = std::stoi(*v);
  }
  std::optional<std::int64_t> before;
  if (auto v = http::query_param(ctx.query, "cursor")) {
    if (v->empty() || v->size() > 18 || !std::all_of(v->begin(), v->end(), ::isdigit)) {
      co_return bad_field(ctx, "/query/cursor", "cursor is the nextCursor of the previous page");
    }
    before = std::stoll(*v);
  }
  const auto filter = *f;
  auto page = co_await d.db.transact(
      [&](pqxx::work& w) { return list_deliveries(w, filter, before, limit); },
      db::isolation::read_committed, db::access::read_only);
  ordered_json items = ordered_json::array();
  for (const auto& s : page.items) items.push_back(summary_json(s));
  co_return json(ctx, status::ok,
                 {{"items", std::move(items)},
                  {"nextCursor", page.next_cursor ? ordered_json(std::to_string(*page.next_cursor))
                                                  : ordered_json(nullptr)}});
}

std::optional<std::int64_t> path_id(const http::request_context& ctx) {
  const auto v = ctx.params.get("id");
  if (v.empty() || v.size() > 18 || !std::all_of(v.begin(), v.end(), ::isdigit))
    return std::nullopt;
  return std::stoll(std::string(v));
}

boost::asio::awaitable<http::response> inspect(admin_route_deps& d, http::request_context& ctx,
                                               const admin_caller& c) {
  const auto id = path_id(ctx);
  if (!id) co_return bad_field(ctx, "/path/id", "a delivery id is a positive integer");
  const auto scope = c.scope();
  auto detail = co_await d.db.transact([&](pqxx::work& w) { return get_delivery(w, scope, *id); },
                                       db::isolation::read_committed, db::access::read_only);
  if (!detail)
    co_return http::make_problem(ctx, status::not_found, "no delivery " + std::to_string(*id));
  ordered_json body = summary_json(detail->summary);
  body["payload"] = ordered_json::parse(detail->payload, nullptr, false);
  ordered_json attempts = ordered_json::array();
  for (const auto& a : detail->attempts) {
    attempts.push_back({{"attempt", a.attempt},
                        {"startedAt", core::format_utc(a.started_at, 3)},
                        {"durationMs", a.duration_ms},
                        {"httpStatus", opt_json(a.http_status)},
                        {"responseBody", opt_json(a.response_body)},
                        {"error", opt_json(a.error)},
                        {"outcome", a.outcome},
                        {"instanceId", opt_json(a.instance_id)}});
  }
  body["attemptLog"] = std::move(attempts);
  co_return json(ctx, status::ok, body);
}

boost::asio::awaitable<http::response> resend(admin_route_deps& d, http::request_context& ctx,
                                              const admin_caller& c) {
  const auto id = path_id(ctx);
  if (!id) co_return bad_field(ctx, "/path/id", "a delivery id is a positive integer");
  auto body = body_object(ctx);
  if (!body) co_return std::move(body).error();
  const std::string reason = member(*body, "reason").value_or("");
  const auto scope = c.scope();
  const auto now = d.clock.now();
  auto r = co_await d.db.transact(
      [&](pqxx::work& w) { return resend_one(w, scope, *id, c.actor(), reason, now); });
  if (!r) co_return http::make_problem(ctx, r.error());
  if (d.delivery) d.delivery->wake();
  co_return json(ctx, status::ok, summary_json(*r));
}

boost::asio::awaitable<http::response> resend_many(admin_route_deps& d, http::request_context& ctx,
                                                   const admin_caller& c, bool dead_only) {
  auto body = body_object(ctx);
  if (!body) co_return std::move(body).error();
  if (dead_only && body->contains("state")) {
    co_return bad_field(ctx, "/state", "requeue-dead always takes DEAD messages; leave state out");
  }
  auto f = read_filter(
      ctx, c, [&](const char* n) { return member(*body, n); }, "/");
  if (!f) co_return std::move(f).error();
  if (dead_only) f->state = "DEAD";
  if (!f->state)
    co_return bad_field(ctx, "/state", "state is required (DEAD, DELIVERED or PENDING)");
  const std::string reason = member(*body, "reason").value_or("");
  const auto filter = *f;
  const auto now = d.clock.now();
  auto n = co_await d.db.transact(
      [&](pqxx::work& w) { return resend_matching(w, filter, c.actor(), reason, now); });
  if (!n) co_return http::make_problem(ctx, n.error());
  if (d.delivery) d.delivery->wake();
  co_return json(ctx, status::ok, {{"resent", *n}});
}

boost::asio::awaitable<http::response> set_state(admin_route_deps& d, http::request_context& ctx,
                                                 const admin_caller& c, bool suspend) {
  const std::string id(ctx.params.get("integrationId"));
  const auto registry = d.integrations.get();
  const auto* i = registry->find(id);
  if (i == nullptr || !c.sees(*i))
    co_return http::make_problem(ctx, status::not_found, "no integration " + id);
  if (!c.admin && !std::all_of(i->entities.begin(), i->entities.end(),
                               [&](const auto& fc) { return c.app->grants_entity(fc); })) {
    co_return http::make_problem(ctx, status::forbidden,
                                 "integration " + id + " serves entities this key is not granted");
  }
  auto body = body_object(ctx);
  if (!body) co_return std::move(body).error();
  const std::string reason = member(*body, "reason").value_or("");
  if (reason.size() > 500) co_return bad_field(ctx, "/reason", "reason is at most 500 characters");
  const auto now = d.clock.now();
  auto rt = co_await d.db.transact(
      [&](pqxx::work& w) { return set_integration_state(w, id, suspend, c.actor(), reason, now); });
  if (d.delivery) d.delivery->refresh_states();
  co_return json(ctx, status::ok,
                 {{"id", id},
                  {"state", rt.suspended ? "SUSPENDED" : "ACTIVE"},
                  {"stateChangedAt", opt_time_json(rt.changed_at)},
                  {"stateChangedBy", rt.changed_by},
                  {"stateReason", rt.reason}});
}

}  // namespace

void add_admin_routes(http::router& r, admin_route_deps deps) {
  auto d = std::make_shared<detail::admin_state>(deps);
  const std::string base = "/api/v1/admin";
  r.add(http::verb::get, base + "/deliveries", guarded(d, list));
  r.add(http::verb::get, base + "/deliveries/{id}", guarded(d, inspect));
  r.add(http::verb::post, base + "/deliveries/{id}/resend", guarded(d, resend));
  r.add(http::verb::post, base + "/deliveries/resend",
        guarded(d,
                [](auto& dd, auto& ctx, const auto& c) { return resend_many(dd, ctx, c, false); }));
  r.add(
      http::verb::post, base + "/deliveries/requeue-dead",
      guarded(d, [](auto& dd, auto& ctx, const auto& c) { return resend_many(dd, ctx, c, true); }));
  detail::add_admin_settings_routes(r, d);
  r.add(http::verb::post, base + "/integrations/{integrationId}/suspend",
        guarded(d, [](auto& dd, auto& ctx, const auto& c) { return set_state(dd, ctx, c, true); }));
  r.add(
      http::verb::post, base + "/integrations/{integrationId}/resume",
      guarded(d, [](auto& dd, auto& ctx, const auto& c) { return set_state(dd, ctx, c, false); }));
}

}  // namespace pagohub::integration
