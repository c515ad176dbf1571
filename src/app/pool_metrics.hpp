#pragma once
// The /metrics lines of the daemon's database pools (docs/operations.md "Metrics").

#include <pagohub/db/executor.hpp>

#include <initializer_list>
#include <string>

namespace pagohub::app {

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
