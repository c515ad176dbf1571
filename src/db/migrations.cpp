#include "pagohub/db/migrations.hpp"

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "sha256.hpp"

namespace pagohub::db {
namespace {

// Key of the session advisory lock that serialises migration runners: "pagohub" in ASCII.
constexpr std::int64_t migration_lock_key = 0x7061676f687562;

std::string label(int version, const std::string& name) {
  std::string digits = std::to_string(version);
  if (digits.size() < 4) digits.insert(0, 4 - digits.size(), '0');
  return digits + "_" + name;
}

struct applied_migration {
  int version;
  std::string name;
  std::string checksum;
};

struct analysis {
  int db_version = 0;
  int known_version = 0;
  std::vector<const migration*> pending;
  std::string problem;  // fatal: migrate refuses to touch the database
};

// The known migrations, sorted; refuses duplicates (load_migrations already does, but callers
// may build the list themselves).
std::vector<const migration*> sorted_known(const std::vector<migration>& migrations) {
  std::vector<const migration*> known;
  known.reserve(migrations.size());
  for (const auto& m : migrations) known.push_back(&m);
  std::sort(known.begin(), known.end(),
            [](const migration* a, const migration* b) { return a->version < b->version; });
  for (std::size_t i = 1; i < known.size(); ++i) {
    if (known[i]->version == known[i - 1]->version) {
      throw migration_error("two migrations have number " + std::to_string(known[i]->version) +
                            ": " + label(known[i - 1]->version, known[i - 1]->name) + " and " +
                            label(known[i]->version, known[i]->name));
    }
  }
  return known;
}

std::vector<applied_migration> read_applied(pqxx::transaction_base& tx) {
  const auto exists = tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists[0][0].as<bool>()) return {};
  std::vector<applied_migration> applied;
  for (const auto& row :
       tx.exec("SELECT version, name, checksum FROM schema_migrations ORDER BY version")) {
    applied.push_back({row[0].as<int>(), row[1].as<std::string>(), row[2].as<std::string>()});
  }
  return applied;
}

analysis analyse(const std::vector<applied_migration>& applied,
                 const std::vector<const migration*>& known) {
  analysis a;
  a.known_version = known.empty() ? 0 : known.back()->version;
  std::map<int, const applied_migration*> by_version;
  for (const auto& row : applied) {
    by_version[row.version] = &row;
    a.db_version = std::max(a.db_version, row.version);
  }

  // A newer schema first: it is the common case (a rollback to an older binary) and the one
  // that explains every other mismatch.
  if (a.db_version > a.known_version) {
    a.problem = "database schema " + std::to_string(a.db_version) +
                " is newer than this pagohubd (" + std::to_string(a.known_version) +
                "): run the pagohubd release that migrated it, or a newer one";
    return a;
  }
  std::map<int, const migration*> known_by_version;
  for (const auto* m : known) known_by_version[m->version] = m;
  for (const auto& row : applied) {
    const auto it = known_by_version.find(row.version);
    if (it == known_by_version.end()) {
      a.problem = "database has migration " + label(row.version, row.name) +
                  ", which this pagohubd does not know";
      return a;
    }
    if (it->second->sha256 != row.checksum) {
      a.problem = "migration " + label(row.version, it->second->name) +
                  " was changed after it was applied (checksum in the database " + row.checksum +
                  ", file " + it->second->sha256 +
                  "); a landed migration is never edited: restore it and add a new migration";
      return a;
    }
  }
  for (const auto* m : known) {
    if (by_version.contains(m->version)) continue;
    if (m->version < a.db_version) {
      a.problem = "migration " + label(m->version, m->name) +
                  " is not applied but the later migration " + std::to_string(a.db_version) +
                  " is: migrations apply in order, so renumber it after the latest one";
      return a;
    }
    a.pending.push_back(m);
  }
  return a;
}

// Holds the session advisory lock for the runner's lifetime. The lock also dies with the
// session, so a runner killed halfway never leaves it stuck.
class migration_lock {
 public:
  explicit migration_lock(pqxx::connection& c) : c_(c) {
    pqxx::nontransaction tx(c_);
    tx.exec("SELECT pg_advisory_lock(" + std::to_string(migration_lock_key) + ")");
  }
  ~migration_lock() {
    try {
      pqxx::nontransaction tx(c_);
      tx.exec("SELECT pg_advisory_unlock(" + std::to_string(migration_lock_key) + ")");
    } catch (const std::exception& e) {
      spdlog::debug("releasing the migration lock: {}", e.what());
    }
  }
  migration_lock(const migration_lock&) = delete;
  migration_lock& operator=(const migration_lock&) = delete;

 private:
  pqxx::connection& c_;
};

}  // namespace

std::vector<migration> load_migrations(const std::filesystem::path& sql_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(sql_dir, ec)) {
    throw migration_error("migrations directory " + sql_dir.string() + " does not exist");
  }
  static const std::regex file_name(R"(([0-9]{4})_([a-z0-9_]+)\.sql)");
  std::vector<migration> migrations;
  for (const auto& entry : fs::directory_iterator(sql_dir)) {
    const std::string name = entry.path().filename().string();
    // Editor backups and lock files are not migrations; any other .sql file must be one.
    if (name.starts_with('.') || entry.path().extension() != ".sql") continue;
    if (!entry.is_regular_file()) continue;
    std::smatch match;
    if (!std::regex_match(name, match, file_name)) {
      throw migration_error("bad migration file name " + name +
                            ": expected NNNN_description.sql (four digits, then lowercase "
                            "letters, digits and underscores)");
    }
    const int version = std::stoi(match[1].str());
    if (version == 0) {
      throw migration_error("bad migration file name " + name + ": numbers start at 0001");
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) throw migration_error("cannot read migration " + entry.path().string());
    std::string sql = std::move(text).str();
    std::string checksum = detail::sha256_hex(sql);
    migrations.push_back({version, match[2].str(), std::move(checksum), std::move(sql)});
  }
  std::sort(migrations.begin(), migrations.end(),
            [](const migration& a, const migration& b) { return a.version < b.version; });
  sorted_known(migrations);  // throws on duplicate numbers
  return migrations;
}

migration_report migrate(pqxx::connection& c, const std::vector<migration>& migrations) {
  const auto known = sorted_known(migrations);
  migration_lock lock(c);
  {
    pqxx::work tx(c);
    // The runner's own bookkeeping, not a migration: it must exist before the first one runs.
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    tx.commit();
  }

  analysis state;
  {
    pqxx::work tx(c);
    state = analyse(read_applied(tx), known);
  }
  if (!state.problem.empty()) throw migration_error(state.problem);

  migration_report report{0, state.db_version};
  for (const migration* m : state.pending) {
    const auto started = std::chrono::steady_clock::now();
    pqxx::work tx(c);
    try {
      tx.exec(m->sql);
    } catch (const pqxx::sql_error& e) {
      throw migration_error("migration " + label(m->version, m->name) + " failed: " + e.what());
    }
    tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                   m->version, m->name, m->sha256);
    tx.commit();
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    spdlog::info("applied migration {} ({} ms)", label(m->version, m->name), elapsed.count());
    ++report.applied;
    report.current_version = m->version;
  }
  return report;
}

schema_status check_schema(pqxx::connection& c, const std::vector<migration>& migrations) {
  const auto known = sorted_known(migrations);
  pqxx::read_transaction tx(c);
  const auto state = analyse(read_applied(tx), known);
  schema_status status{state.db_version, state.known_version, false, state.problem};
  if (status.problem.empty() && !state.pending.empty()) {
    status.problem = std::to_string(state.pending.size()) + " migration" +
                     (state.pending.size() == 1 ? "" : "s") + " pending (" +
                     label(state.pending.front()->version, state.pending.front()->name) +
                     (state.pending.size() == 1 ? std::string()
                                                : " to " + label(state.pending.back()->version,
                                                                 state.pending.back()->name)) +
                     "): run pagohubd migrate";
  }
  status.up_to_date = status.problem.empty();
  return status;
}

}  // namespace pagohub::db
