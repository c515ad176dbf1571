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

void append_pool_metrics(std::string& out, const db::pool_stats& shared,
                         std::initializer_list<db::pool_stats> others) {
  db::pool_stats s = shared;
  for (const auto& o : others) {
    s.transactions += o.transactions;
    s.retries += o.retries;
    s.reconnects += o.reconnects;
    s.failures += o.failures;
    s.rollbacks += o.rollbacks;
    s.withdrawn += o.withdrawn;
    s.cancelled += o.cancelled;
  }
  auto line = [&](const char* name, const char* type, const char* help, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(value) + "\n";
  };
  line("pagohub_db_pool_size", "gauge", "Connections in the DB pool.", s.size);
  line("pagohub_db_pool_in_use", "gauge", "Connections running a transaction now.", s.in_use);
  line("pagohub_db_pool_waiting", "gauge", "Transactions waiting for a connection.", s.waiting);
  line("pagohub_db_transactions_total", "counter", "Transactions committed or failed.",
       s.transactions);
  line("pagohub_db_retries_total", "counter", "Transactions retried (serialization, reconnect).",
       s.retries);
  line("pagohub_db_reconnects_total", "counter", "Connections re-established.", s.reconnects);
  line("pagohub_db_failures_total", "counter", "Transactions that failed after retries.",
       s.failures);
  line("pagohub_db_rollbacks_total", "counter",
       "Transactions rolled back on purpose: a refusal found after some writes.", s.rollbacks);
  line("pagohub_db_withdrawn_total", "counter",
       "Transactions withdrawn unstarted: no connection became free before their deadline.",
       s.withdrawn);
  line("pagohub_db_cancelled_total", "counter",
       "Transactions cancelled and rolled back: still running at their deadline.", s.cancelled);
  line("pagohub_db_up", "gauge", "1 when the last contact with the database succeeded.",
       s.connected ? 1 : 0);
}

void append_side_pool_metrics(std::string& out, const char* name, const char* doing,
                              const char* who, const db::pool_stats& s) {
  const std::string metric = std::string("pagohub_db_") + name + "_pool_";
  out += "# HELP " + metric + "in_use Connections of the " + name + " pool " + doing +
         " now.\n# TYPE " + metric + "in_use gauge\n" + metric + "in_use " +
         std::to_string(s.in_use) + "\n# HELP " + metric + "waiting " + who +
         " waiting for a connection of their pool.\n# TYPE " + metric + "waiting gauge\n" + metric +
         "waiting " + std::to_string(s.waiting) + "\n";
}

}  // namespace pagohub::app
