#pragma once
#include <pagohub/config/config.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/db/migrations.hpp>

#include <chrono>
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

}  // namespace pagohub::app
