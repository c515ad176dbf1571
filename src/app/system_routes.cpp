#include "system_routes.hpp"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::app {

namespace {

// Probes ask every few seconds: while the database is away, one log line per period says why.
class readiness_log {
 public:
  void unready(std::string_view request_id, std::string_view detail) {
    constexpr std::chrono::steady_clock::duration period = std::chrono::seconds(30);
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto last = last_.load(std::memory_order_relaxed);
    if (last != 0 && now - last < period.count()) {
      suppressed_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!last_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
      suppressed_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const auto more = suppressed_.exchange(0, std::memory_order_relaxed);
    spdlog::warn("readyz: not ready (request {}): {}{}", request_id, detail,
                 more > 0 ? " (" + std::to_string(more) + " more unready answers since)" : "");
  }

 private:
  std::atomic<std::chrono::steady_clock::rep> last_{0};
  std::atomic<std::uint64_t> suppressed_{0};
};

// The last answer, given again for a second: /readyz is open to anyone who reaches the port,
// and each probe takes a pool connection; a flood of probes must not starve the requests that
// matter. While one probe runs, the others get the last answer, however old.
class readiness_cache {
 public:
  struct answer {
    http::status status;
    std::string body;
  };

  // The answer to give without probing; nullopt: probe, then store().
  std::optional<answer> reuse() {
    std::lock_guard lock(mutex_);
    if (last_ && (probing_ || std::chrono::steady_clock::now() - at_ < freshness)) return last_;
    probing_ = true;
    return std::nullopt;
  }
  void store(answer a) {
    std::lock_guard lock(mutex_);
    last_ = std::move(a);
    at_ = std::chrono::steady_clock::now();
    probing_ = false;
  }
  void abandon() {
    std::lock_guard lock(mutex_);
    probing_ = false;
  }

 private:
  static constexpr std::chrono::seconds freshness{1};
  std::mutex mutex_;
  std::optional<answer> last_;
  std::chrono::steady_clock::time_point at_{};
  bool probing_ = false;
};

boost::asio::awaitable<http::response> probe(system_routes_deps deps, readiness_log& log,
                                             http::request_context& ctx) {
  nlohmann::json body;
  // The answer is for anyone who can reach the port: it says what is wrong in fixed words,
  // while the detail (libpq's messages name hosts, addresses and roles) goes to the log.
  auto unready = [&](std::string reason, std::string_view detail) {
    log.unready(ctx.request_id, detail);
    body["status"] = "unavailable";
    body["reason"] = std::move(reason);
    auto res = http::make_response(ctx.req, http::status::service_unavailable, body.dump(),
                                   "application/json");
    res.set(boost::beast::http::field::cache_control, "no-store");
    return res;
  };
  if (auto ok = co_await deps.db.ping(); !ok)
    co_return unready("database unavailable", "database: " + ok.error().message);
  int version = 0;
  std::string failure;
  try {
    // Bounded like the ping: a probe that waits on a busy pool is an unready answer, not a
    // request the load balancer times out on.
    version = co_await deps.db.transact_until(
        std::chrono::steady_clock::now() + std::chrono::seconds(2), [](pqxx::work& w) {
          auto r = w.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
          return r[0][0].as<int>();
        });
  } catch (const std::exception& e) {
    failure = std::string("database: ") + e.what();
  }
  if (!failure.empty()) co_return unready("database unavailable", failure);
  const auto versions = "database schema " + std::to_string(version) + ", this pagohubd's " +
                        std::to_string(deps.known_schema_version);
  if (version < deps.known_schema_version)
    co_return unready("database schema behind: migrations pending", versions);
  if (version > deps.known_schema_version)
    co_return unready("database schema newer than this pagohubd", versions);
  body["status"] = "ready";
  body["schemaVersion"] = version;
  auto res = http::make_response(ctx.req, http::status::ok, body.dump(), "application/json");
  res.set(boost::beast::http::field::cache_control, "no-store");
  co_return res;
}

boost::asio::awaitable<http::response> readyz(system_routes_deps deps, readiness_log& log,
                                              readiness_cache& cache, http::request_context& ctx) {
  const auto answered = [&](const readiness_cache::answer& a) {
    auto res = http::make_response(ctx.req, a.status, a.body, "application/json");
    res.set(boost::beast::http::field::cache_control, "no-store");
    return res;
  };
  if (auto known = cache.reuse()) co_return answered(*known);
  http::response res;
  try {
    res = co_await probe(deps, log, ctx);
  } catch (...) {
    cache.abandon();
    throw;
  }
  cache.store({res.result(), res.body()});
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
  r.add(
      http::verb::get, "/readyz",
      [deps, log = std::make_shared<readiness_log>(), cache = std::make_shared<readiness_cache>()](
          http::request_context& ctx) -> boost::asio::awaitable<http::response> {
        co_return co_await readyz(deps, *log, *cache, ctx);
      });
  r.add(http::verb::get, "/metrics",
        [deps](http::request_context& ctx) -> boost::asio::awaitable<http::response> {
          co_return http::make_response(ctx.req, http::status::ok, deps.metrics.render(),
                                        "text/plain; version=0.0.4; charset=utf-8");
        });
}

}  // namespace pagohub::app
