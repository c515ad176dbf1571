#include "system_routes.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace pagohub::app {

namespace {
boost::asio::awaitable<http::response> readyz(system_routes_deps deps, http::request_context& ctx) {
  nlohmann::json body;
  auto unready = [&](std::string reason) {
    body["status"] = "unavailable";
    body["reason"] = std::move(reason);
    auto res = http::make_response(ctx.req, http::status::service_unavailable, body.dump(),
                                   "application/json");
    res.set(boost::beast::http::field::cache_control, "no-store");
    return res;
  };
  if (auto ok = co_await deps.db.ping(); !ok) co_return unready("database: " + ok.error().message);
  int version = 0;
  try {
    version = co_await deps.db.transact([](pqxx::work& w) {
      auto r = w.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
      return r[0][0].as<int>();
    });
  } catch (const std::exception& e) {
    co_return unready(std::string("database: ") + e.what());
  }
  if (version < deps.known_schema_version)
    co_return unready("database schema " + std::to_string(version) + " is behind " +
                      std::to_string(deps.known_schema_version) + ": migrations pending");
  if (version > deps.known_schema_version)
    co_return unready("database schema " + std::to_string(version) +
                      " is newer than this pagohubd (" + std::to_string(deps.known_schema_version) +
                      ")");
  body["status"] = "ready";
  body["schemaVersion"] = version;
  auto res = http::make_response(ctx.req, http::status::ok, body.dump(), "application/json");
  res.set(boost::beast::http::field::cache_control, "no-store");
  co_return res;
}
}  // namespace

void add_system_routes(http::router& r, system_routes_deps deps) {
  // Liveness: the process answers. Nothing else, so an orchestrator never restarts a daemon
  // because its database is down.
  r.add(http::verb::get, "/healthz",
        [](http::request_context& ctx) -> boost::asio::awaitable<http::response> {
          co_return http::make_response(ctx.req, http::status::ok, R"({"status":"alive"})",
                                        "application/json");
        });
  r.add(http::verb::get, "/readyz",
        [deps](http::request_context& ctx) -> boost::asio::awaitable<http::response> {
          co_return co_await readyz(deps, ctx);
        });
  r.add(http::verb::get, "/metrics",
        [deps](http::request_context& ctx) -> boost::asio::awaitable<http::response> {
          co_return http::make_response(ctx.req, http::status::ok, deps.metrics.render(),
                                        "text/plain; version=0.0.4; charset=utf-8");
        });
}

}  // namespace pagohub::app
