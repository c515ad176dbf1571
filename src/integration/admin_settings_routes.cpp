// The integrations as operators and admins see them, and the admins' runtime overrides of their
// settings (admin_settings_routes.hpp; docs/integration.md "Changing settings at runtime").
//
// An item shows three sets of settings: `configured` (the TOML files), `override` (what an admin
// changed, or null) and `effective` (their merge, what the delivery service and the on-demand
// lookups use). The effective settings are computed here from the stored override, not taken
// from this daemon's memory, so every daemon answers the same while they catch up (each reloads
// the overrides with the suspended states, every 2 s at most).
#include <pagohub/integration/bo_client.hpp>
#include <pagohub/integration/delivery.hpp>
#include <pagohub/integration/endpoint.hpp>
#include <pagohub/integration/settings_store.hpp>

#include <boost/asio/this_coro.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <variant>

#include "admin_settings_routes.hpp"
#include "settings_json.hpp"

namespace pagohub::integration::detail {

namespace {

using http::status;
using nlohmann::ordered_json;
using override_rows = std::vector<stored_override>;

std::string etag_of(std::int64_t version) {
  return "\"" + std::to_string(version) + "\"";
}

// RFC 9110 §13.1.1: If-Match compares strongly; "*" matches (the settings of a configured
// integration always exist, overridden or not). No header = unconditional.
bool if_match_holds(const http::request& req, std::int64_t version) {
  const auto it = req.find(boost::beast::http::field::if_match);
  if (it == req.end()) return true;
  const std::string want = etag_of(version);
  std::string_view list(it->value().data(), it->value().size());
  while (!list.empty()) {
    const auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*" || item == want) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

const stored_override* find_row(const override_rows& rows, std::string_view id) {
  const auto it =
      std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.integration_id == id; });
  return it == rows.end() ? nullptr : &*it;
}

void add_override_meta(ordered_json& item, const stored_override* row) {
  item["settingsVersion"] = row ? row->version : 0;
  if (row != nullptr && row->changed_at) {
    item["overrideChangedAt"] = opt_time_json(row->changed_at);
    item["overrideChangedBy"] = row->changed_by;
    item["overrideReason"] = row->reason;
  }
}

// One configured integration with its runtime state and settings.
// An endpoint that cannot be used: why, since when, and where the work still goes under
// `still_at` (the previous endpoint's base URL, or null when none is left).
ordered_json failure_json(const endpoint_failure& f, const char* still_at) {
  return {
      {"error", f.error},
      {"since", opt_time_json(f.since)},
      {still_at, f.delivering_to.empty() ? ordered_json(nullptr) : ordered_json(f.delivering_to)}};
}

ordered_json item_json(const admin_route_deps& d, const admin_caller& c,
                       const config::integration& configured,
                       const std::optional<integration_runtime>& rt, const stored_override* row) {
  config::integration effective = configured;
  std::string ignored;
  if (row != nullptr && !row->settings.empty()) {
    const auto problems = config::check_override(configured, row->settings, false);
    if (problems.empty()) {
      effective = config::apply_override(configured, row->settings);
    } else {
      ignored = patch_path(problems.front().key).substr(1) + " " + problems.front().message;
    }
  }
  const bool suspended = rt ? rt->suspended : configured.initially_suspended;
  ordered_json item = {
      {"id", configured.id},
      {"mode", std::string(config::to_string(effective.mode))},
      {"entities", c.entities_of(configured)},
      {"applicationId", configured.application.empty() ? ordered_json(nullptr)
                                                       : ordered_json(configured.application)},
      {"state", suspended ? "SUSPENDED" : "ACTIVE"}};
  if (effective.mode == config::integration_mode::push) {
    item["baseUrl"] = effective.base_url;
    item["auth"] = std::string(config::to_string(effective.auth));
    if (d.delivery) item["breaker"] = std::string(to_string(d.delivery->breaker(configured.id)));
  }
  // This daemon's, like the breaker: the files are read by each daemon on its own machine.
  if (d.delivery) {
    if (const auto f = d.delivery->failed_endpoint(configured.id))
      item["endpointFailure"] = failure_json(*f, "deliveringTo");
  }
  // The lookups keep clients of their own (on_demand/targets.hpp): an integration answering
  // on-demand lookups, push or not, may fail there alone.
  if (d.lookup_failure) {
    if (const auto f = d.lookup_failure(configured.id))
      item["lookupEndpointFailure"] = failure_json(*f, "lookingUpAt");
  }
  if (rt) {
    item["stateChangedAt"] = opt_time_json(rt->changed_at);
    item["stateChangedBy"] = rt->changed_by;
    item["stateReason"] = rt->reason;
  }
  item["orphaned"] = false;
  item["configured"] = settings_json(configured);
  item["override"] = row != nullptr && !row->settings.empty() ? override_json(row->settings)
                                                              : ordered_json(nullptr);
  item["effective"] = settings_json(effective);
  if (!ignored.empty()) item["overrideIgnored"] = ignored;
  add_override_meta(item, row);
  return item;
}

// An override whose integration the configuration no longer has: shown, never applied.
ordered_json orphan_json(const stored_override& row) {
  ordered_json item = {{"id", row.integration_id},
                       {"orphaned", true},
                       {"configured", nullptr},
                       {"override", override_json(row.settings)},
                       {"effective", nullptr}};
  add_override_meta(item, &row);
  return item;
}

struct snapshot {
  std::vector<integration_runtime> runtimes;
  override_rows overrides;
};

boost::asio::awaitable<snapshot> read_snapshot(admin_route_deps& d) {
  co_return co_await d.db.transact(
      [](pqxx::work& w) {
        return snapshot{integration_runtimes(w), load_overrides(w)};
      },
      db::isolation::repeatable_read, db::access::read_only);
}

std::optional<integration_runtime> runtime_of(const snapshot& s, std::string_view id) {
  const auto it = std::find_if(s.runtimes.begin(), s.runtimes.end(),
                               [&](const auto& r) { return r.integration_id == id; });
  if (it == s.runtimes.end()) return std::nullopt;
  return *it;
}

http::response with_etag(http::response res, std::int64_t version) {
  res.set(boost::beast::http::field::etag, etag_of(version));
  return res;
}

// ---- GET ------------------------------------------------------------------------------------

boost::asio::awaitable<http::response> list(admin_route_deps& d, http::request_context& ctx,
                                            const admin_caller& c) {
  const auto configured = d.integrations.configured();
  const auto s = co_await read_snapshot(d);
  ordered_json items = ordered_json::array();
  for (const auto& i : configured->all()) {
    if (!c.sees(i)) continue;
    items.push_back(item_json(d, c, i, runtime_of(s, i.id), find_row(s.overrides, i.id)));
  }
  // Orphaned overrides name no entity: only admins see them.
  if (c.admin) {
    for (const auto& row : s.overrides)
      if (!row.settings.empty() && configured->find(row.integration_id) == nullptr)
        items.push_back(orphan_json(row));
  }
  co_return json(ctx, status::ok, {{"items", std::move(items)}});
}

boost::asio::awaitable<http::response> one(admin_route_deps& d, http::request_context& ctx,
                                           const admin_caller& c) {
  const std::string id(ctx.params.get("integrationId"));
  const auto configured = d.integrations.configured();
  const auto* i = configured->find(id);
  if (i != nullptr && !c.sees(*i))
    co_return http::make_problem(ctx, status::not_found, "no integration " + id);
  const auto s = co_await read_snapshot(d);
  const auto* row = find_row(s.overrides, id);
  const std::int64_t version = row ? row->version : 0;
  if (i != nullptr) {
    co_return with_etag(json(ctx, status::ok, item_json(d, c, *i, runtime_of(s, id), row)),
                        version);
  }
  if (c.admin && row != nullptr && !row->settings.empty()) {
    co_return with_etag(json(ctx, status::ok, orphan_json(*row)), version);
  }
  co_return http::make_problem(ctx, status::not_found, "no integration " + id);
}

// ---- PATCH / DELETE ---------------------------------------------------------------------------

// What a change transaction ends with: the new row (and every override, for this daemon's
// holder), or the If-Match that failed, or the reasons the merged override was refused.
struct changed {
  stored_override row;
  config::integration_holder::override_map all;
  bool unchanged = false;  // a reset of settings that were not overridden
};
struct stale {
  std::int64_t version;
};
using change_outcome = std::variant<changed, stale, std::vector<config::override_problem>>;

std::optional<http::response> admins_only(const http::request_context& ctx, const admin_caller& c) {
  if (c.admin) return std::nullopt;
  return http::make_problem(ctx, status::forbidden,
                            "changing an integration's settings needs an application with role "
                            "admin");
}

// A change that gives a push integration another endpoint (base URL, mode, timeout or
// concurrency) is refused when that endpoint cannot be used now: its client reads the configured
// TLS files again, and with one unreadable or invalid the change would leave the integration on
// its previous endpoint, or without deliveries. The files can still break after the change; the
// delivery service then keeps the previous endpoint (client_builder.hpp).
void check_endpoint(const boost::asio::any_io_executor& ex, const config::integration& configured,
                    const config::integration_override& was,
                    const config::integration_override& next,
                    std::vector<config::override_problem>& problems) {
  const auto after = config::apply_override(configured, next);
  if (after.mode != config::integration_mode::push) return;
  // In force until now: the stored override, unless it no longer applies (then ignored).
  const bool applied = !was.empty() && config::check_override(configured, was, false).empty();
  const auto before = applied ? config::apply_override(configured, was) : configured;
  if (before.mode == config::integration_mode::push && same_endpoint(before, after)) return;
  try {
    const bo_client probe(ex, endpoint_of(after));
  } catch (const std::exception& e) {
    const char* key = next.base_url != was.base_url                 ? "base_url"
                      : next.mode != was.mode                       ? "mode"
                      : next.timeout != was.timeout                 ? "timeout_ms"
                      : next.max_concurrency != was.max_concurrency ? "max_concurrency"
                                                                    : "base_url";
    problems.push_back({key, std::string("cannot be used now: the endpoint's client cannot be "
                                         "built (") +
                                 e.what() +
                                 "); the TLS files the configuration names must be readable and "
                                 "valid first"});
  }
}

http::response refused(const http::request_context& ctx,
                       const std::vector<http::field_error>& errors) {
  http::problem p;
  p.http_status = status::bad_request;
  p.detail = errors.size() == 1 ? errors.front().message
                                : std::to_string(errors.size()) + " fields are not valid";
  p.instance = std::string(ctx.path);
  p.request_id = ctx.request_id;
  p.errors = errors;
  return http::make_problem(ctx.req, p);
}

// Answers a change transaction's outcome; refreshes this daemon's settings after a change.
boost::asio::awaitable<http::response> answer(admin_route_deps& d, http::request_context& ctx,
                                              const admin_caller& caller,
                                              const config::integration* configured,
                                              change_outcome outcome) {
  if (const auto* s = std::get_if<stale>(&outcome)) {
    http::problem p;
    p.http_status = status::precondition_failed;
    p.detail = "the settings changed since you read them (now version " +
               std::to_string(s->version) + "): read them again";
    p.instance = std::string(ctx.path);
    p.request_id = ctx.request_id;
    p.errors.push_back({"/header/If-Match", "precondition_failed", p.detail});
    co_return with_etag(http::make_problem(ctx.req, p), s->version);
  }
  if (const auto* problems = std::get_if<std::vector<config::override_problem>>(&outcome)) {
    std::vector<http::field_error> errors;
    for (const auto& p : *problems) {
      const auto path = patch_path(p.key);
      errors.push_back({path, "invalid", path.substr(1) + " " + p.message});
    }
    co_return refused(ctx, errors);
  }
  auto& c = std::get<changed>(outcome);
  if (!c.unchanged) {
    // This daemon at once; the others at their next refresh of the states.
    d.integrations.set_overrides(std::move(c.all));
    if (d.delivery) d.delivery->refresh_states();
  }
  const auto s = co_await read_snapshot(d);
  const auto* row = find_row(s.overrides, c.row.integration_id);
  ordered_json body =
      configured != nullptr
          ? item_json(d, caller, *configured, runtime_of(s, c.row.integration_id), row)
          : (row != nullptr && !row->settings.empty()
                 ? orphan_json(*row)
                 : ordered_json{{"id", c.row.integration_id},
                                {"orphaned", true},
                                {"configured", nullptr},
                                {"override", nullptr},
                                {"effective", nullptr},
                                {"settingsVersion", c.row.version}});
  co_return with_etag(json(ctx, status::ok, body), c.row.version);
}

boost::asio::awaitable<http::response> patch(admin_route_deps& d, http::request_context& ctx,
                                             const admin_caller& c) {
  if (auto no = admins_only(ctx, c)) co_return std::move(*no);
  const std::string id(ctx.params.get("integrationId"));
  const auto registry = d.integrations.configured();
  const auto* configured = registry->find(id);
  if (configured == nullptr) {
    co_return http::make_problem(ctx, status::not_found,
                                 "no integration " + id + " in the configuration");
  }
  auto body = nlohmann::json::parse(ctx.req.body(), nullptr, false);
  if (!body.is_object()) {
    co_return bad_field(ctx, "", "the body must be a JSON object (a merge patch of the settings)");
  }
  std::vector<http::field_error> errors;
  std::string reason;
  if (!body.contains("reason") || !body["reason"].is_string() ||
      body["reason"].get<std::string>().empty() || body["reason"].get<std::string>().size() > 500) {
    errors.push_back({"/reason", "invalid", "reason is required: 1..500 characters saying why"});
  } else {
    reason = body["reason"].get<std::string>();
  }
  // The shape first (types, unknown and not overridable members), before any transaction.
  config::integration_override scratch;
  const int named = apply_patch(body, scratch, errors);
  if (errors.empty() && named == 0) {
    errors.push_back({"", "invalid", "the patch names no setting"});
  }
  if (!errors.empty()) co_return refused(ctx, errors);

  const auto now = d.clock.now();
  const auto actor = c.actor();
  const auto& req = ctx.req;
  const auto ex = co_await boost::asio::this_coro::executor;
  auto outcome = co_await d.db.transact([&](pqxx::work& w) -> change_outcome {
    const auto old = lock_override(w, id);
    if (!if_match_holds(req, old.version)) return stale{old.version};
    config::integration_override next = old.settings;
    std::vector<http::field_error> ignore;
    apply_patch(body, next, ignore);
    auto problems = config::check_override(*configured, next, true);
    if (problems.empty()) check_endpoint(ex, *configured, old.settings, next, problems);
    // Bad input changes nothing: returning without a write leaves the row as it was.
    if (!problems.empty()) return problems;
    auto row = write_override(w, old, next, actor, reason, now);
    return changed{std::move(row), load_override_map(w)};
  });
  co_return co_await answer(d, ctx, c, configured, std::move(outcome));
}

boost::asio::awaitable<http::response> reset(admin_route_deps& d, http::request_context& ctx,
                                             const admin_caller& c) {
  if (auto no = admins_only(ctx, c)) co_return std::move(*no);
  const std::string id(ctx.params.get("integrationId"));
  auto body = body_object(ctx);
  if (!body) co_return std::move(body).error();
  for (const auto& [k, v] : body->items()) {
    if (k != "reason") co_return bad_field(ctx, "/" + k, k + " is not known: only reason is");
  }
  const std::string reason = body->value("reason", std::string());
  if (reason.size() > 500) co_return bad_field(ctx, "/reason", "reason is at most 500 characters");
  const auto registry = d.integrations.configured();
  const auto* configured = registry->find(id);
  const auto now = d.clock.now();
  const auto actor = c.actor();
  const auto& req = ctx.req;
  bool unknown = false;
  auto outcome = co_await d.db.transact([&](pqxx::work& w) -> change_outcome {
    const auto old = lock_override(w, id);
    if (configured == nullptr && old.version == 0) {
      unknown = true;
      return changed{old, {}, true};
    }
    if (!if_match_holds(req, old.version)) return stale{old.version};
    // Nothing overridden: already as configured, and nothing to journal.
    if (old.settings.empty()) return changed{old, {}, true};
    auto row = write_override(w, old, {}, actor, reason, now);
    return changed{std::move(row), load_override_map(w)};
  });
  if (unknown) co_return http::make_problem(ctx, status::not_found, "no integration " + id);
  co_return co_await answer(d, ctx, c, configured, std::move(outcome));
}

}  // namespace

void add_admin_settings_routes(http::router& r, std::shared_ptr<admin_state> d) {
  const std::string base = "/api/v1/admin/integrations";
  r.add(http::verb::get, base, guarded(d, list));
  r.add(http::verb::get, base + "/{integrationId}", guarded(d, one));
  r.add(http::verb::patch, base + "/{integrationId}/settings", guarded(d, patch));
  r.add(http::verb::delete_, base + "/{integrationId}/settings", guarded(d, reset));
}

}  // namespace pagohub::integration::detail
