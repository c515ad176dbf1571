#include "migrate_step.hpp"

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <thread>

namespace pagohub::app {

namespace {

// Runs fn(connection) on a connection of its own, retrying while the database cannot be reached,
// until `give_up`: at start it often comes up alongside the daemon.
template <class F>
auto with_database_at_start(const config::db_settings& settings,
                            std::chrono::steady_clock::time_point give_up, F fn) {
  using namespace std::chrono;
  const auto conninfo = db::standalone_conninfo(settings.conninfo, settings.connect_timeout);
  auto pause = milliseconds(250);
  for (;;) {
    try {
      pqxx::connection c(conninfo);
      return fn(c);
    } catch (const pqxx::broken_connection& e) {
      if (steady_clock::now() >= give_up) throw;
      // libpq's message can carry the host but never the password; keep it short anyway.
      spdlog::warn("database not reachable yet, retrying: {}", e.what());
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, milliseconds(5000));
    }
  }
}

}  // namespace

db::migration_report apply_migrations_at_start(const config::db_settings& settings,
                                               const std::vector<db::migration>& migrations,
                                               std::chrono::steady_clock::time_point give_up) {
  return with_database_at_start(settings, give_up, [&](pqxx::connection& c) {
    auto report = db::migrate(c, migrations);
    if (report.applied > 0)
      spdlog::info("applied {} migration(s); schema version {}", report.applied,
                   report.current_version);
    else
      spdlog::info("schema up to date at version {}", report.current_version);
    return report;
  });
}

void check_schema_at_start(const config::db_settings& settings,
                           const std::vector<db::migration>& migrations,
                           std::chrono::steady_clock::time_point give_up) {
  with_database_at_start(settings, give_up, [&](pqxx::connection& c) {
    const auto status = db::check_schema(c, migrations);
    if (!status.up_to_date) {
      throw db::migration_error(
          "the database schema is not the one this pagohubd expects, and migrate_on_start is "
          "false: " +
          status.problem + " (run `pagohubd migrate`, or deploy the matching pagohubd)");
    }
    spdlog::info("schema up to date at version {}", status.db_version);
  });
}

void wait_for_database(db::executor& db, std::chrono::steady_clock::time_point give_up) {
  using namespace std::chrono;
  auto pause = milliseconds(250);
  for (;;) {
    try {
      // The executor already retries a lost connection a few times within the call.
      db.transact_sync([](pqxx::work& w) { static_cast<void>(w.exec1("SELECT 1")); });
      return;
    } catch (const pqxx::broken_connection& e) {
      if (steady_clock::now() >= give_up) throw;
      spdlog::warn("database not reachable yet, retrying: {}", e.what());
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, milliseconds(5000));
    }
  }
}

}  // namespace pagohub::app
