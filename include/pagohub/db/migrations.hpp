#pragma once
// The schema migrations runner (ARCHITECTURE §5): sql/NNNN_description.sql files, applied in
// order, each once, never edited once landed. The daemon applies them at start (or
// `pagohubd migrate` does, as a separate step) and refuses to run on a schema newer than it
// knows.
#include <pqxx/connection>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace pagohub::db {

/// One migration file.
struct migration {
  int version;         ///< NNNN from the file name, > 0
  std::string name;    ///< the description part: "foundation" for 0001_foundation.sql
  std::string sha256;  ///< lowercase hex digest of the file's bytes
  std::string sql;     ///< the file's text, run as one multi-statement script
};

/// A schema problem that must stop start-up: a bad migrations directory, an edited migration,
/// or a database that is ahead of this binary. The message says what to do.
class migration_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads every *.sql file of `sql_dir`, sorted by version. Other files are ignored. Throws
/// migration_error for a missing directory, a name that is not NNNN_description.sql (four
/// digits, then lowercase letters, digits and underscores), version 0, or two files with the
/// same number.
std::vector<migration> load_migrations(const std::filesystem::path& sql_dir);

/// What migrate() did.
struct migration_report {
  int applied = 0;          ///< migrations applied by this call
  int current_version = 0;  ///< the database's schema version afterwards
};

/// Brings the database up to the newest known migration. Creates schema_migrations(version,
/// name, checksum, applied_at) when missing; applies each pending migration in its own
/// transaction together with its schema_migrations row. A session advisory lock serialises
/// concurrent runners (several daemons starting on one database): the second one waits, then
/// finds nothing to do.
///
/// Throws migration_error, before applying anything, when a landed migration's checksum
/// changed, when the database holds a version newer than any known ("database schema N is
/// newer than this pagohubd (M)"), or when it holds an unknown or out-of-order version. A
/// migration whose SQL fails raises migration_error naming it, with the server's message; that
/// migration is rolled back, earlier ones stay applied. Connection errors propagate as libpqxx
/// exceptions. Migrations must not manage transactions themselves (no BEGIN/COMMIT, no
/// CREATE INDEX CONCURRENTLY).
migration_report migrate(pqxx::connection& c, const std::vector<migration>& migrations);

/// The database's schema against the known migrations, without changing anything.
struct schema_status {
  int db_version;       ///< highest applied version; 0 for an empty database
  int known_version;    ///< highest known version; 0 when there are none
  bool up_to_date;      ///< applied exactly the known migrations, unchanged
  std::string problem;  ///< empty when up to date; otherwise what is wrong, for people
};

/// Reads schema_migrations (if any) and compares. Never throws for schema problems: they are
/// reported in `problem` (pending migrations included); connection errors propagate.
schema_status check_schema(pqxx::connection& c, const std::vector<migration>& migrations);

}  // namespace pagohub::db
