#pragma once
#include <pagohub/config/config.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/db/migrations.hpp>

#include <string>
#include <vector>

namespace pagohub::app {

/// Applies pending migrations before the daemon serves. A database that cannot be reached is
/// retried for up to a minute (the database often starts alongside the daemon); a tampered or
/// newer schema throws db::migration_error at once: those need a person, not a retry.
db::migration_report apply_migrations_at_start(const config::db_settings& settings,
                                               const std::vector<db::migration>& migrations);

/// Prometheus lines for the DB pool.
void append_pool_metrics(std::string& out, const db::pool_stats& s);

}  // namespace pagohub::app
