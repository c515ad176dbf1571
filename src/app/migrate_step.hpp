#pragma once
#include <pagohub/config/config.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/db/migrations.hpp>

#include <chrono>
#include <initializer_list>
#include <string>
#include <vector>

namespace pagohub::app {

/// How long start-up waits for a database that cannot be reached yet (it often starts
/// alongside the daemon).
inline constexpr std::chrono::minutes database_wait_at_start{1};

/// Applies pending migrations before the daemon serves. A database that cannot be reached is
/// retried until `give_up`; a tampered or newer schema throws db::migration_error at once:
/// those need a person, not a retry.
db::migration_report apply_migrations_at_start(const config::db_settings& settings,
                                               const std::vector<db::migration>& migrations,
                                               std::chrono::steady_clock::time_point give_up);

/// With migrate_on_start false: refuses to start (db::migration_error) unless the database's
/// schema is exactly the one the binary knows. A binary rolled back after a migration, or
/// started before `pagohubd migrate` ran, would otherwise serve, run its jobs and write rows
/// against a schema it does not know. The database is waited for as by
/// apply_migrations_at_start.
void check_schema_at_start(const config::db_settings& settings,
                           const std::vector<db::migration>& migrations,
                           std::chrono::steady_clock::time_point give_up);

/// Blocks until a transaction through `db` succeeds; throws the executor's
/// db::unavailable_error when the database is still unreachable at `give_up`.
void wait_for_database(db::executor& db, std::chrono::steady_clock::time_point give_up);

/// Prometheus lines for the DB pools: the gauges of the shared pool (`[db] pool_size`), and
/// counters of the daemon's transactions through it and the `others` together, so that an
/// alert on failures or retries hears of every pool's.
void append_pool_metrics(std::string& out, const db::pool_stats& shared,
                         std::initializer_list<db::pool_stats> others);

/// The two gauges of a pool set apart for one kind of work, `pagohub_db_<name>_pool_in_use`
/// ("Connections of the <name> pool <doing> now.") and `..._waiting` ("<who> waiting for a
/// connection of their pool.").
void append_side_pool_metrics(std::string& out, const char* name, const char* doing,
                              const char* who, const db::pool_stats& s);

}  // namespace pagohub::app
