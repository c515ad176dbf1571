// The migrations runner against a real database: apply, idempotence, and the refusals that
// keep a daemon off a schema it does not understand (ARCHITECTURE §5).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "pagohub/db/migrations.hpp"
#include "support/pg_database.hpp"

namespace {

using pagohub::db::check_schema;
using pagohub::db::load_migrations;
using pagohub::db::migrate;
using pagohub::db::migration_error;
using ::testing::HasSubstr;

// A scratch migrations directory, removed afterwards.
class sql_dir {
 public:
  sql_dir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("pagohub-migrations-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~sql_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  sql_dir(const sql_dir&) = delete;
  sql_dir& operator=(const sql_dir&) = delete;

  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary | std::ios::trunc) << text;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const migration_error& e) {
    return e.what();
  }
  return "(no migration_error thrown)";
}

int count(pqxx::connection& c, const std::string& sql) {
  pqxx::work tx(c);
  return tx.exec1(sql)[0].as<int>();
}

TEST(load_migrations, reads_the_repository_migrations_in_order) {
  const auto migrations = load_migrations(PAGOHUB_SQL_DIR);
  ASSERT_FALSE(migrations.empty());
  EXPECT_EQ(migrations.front().version, 1);
  EXPECT_EQ(migrations.front().name, "foundation");
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].sha256.size(), 64U);
    if (i > 0) {
      EXPECT_LT(migrations[i - 1].version, migrations[i].version);
    }
  }
}

TEST(load_migrations, checksum_is_the_sha256_of_the_file) {
  sql_dir dir;
  dir.write("0001_empty.sql", "");
  dir.write("0002_abc.sql", "abc");
  dir.write("README.md", "not a migration");
  const auto migrations = load_migrations(dir.path());
  ASSERT_EQ(migrations.size(), 2U);
  EXPECT_EQ(migrations[0].sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(migrations[1].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(migrations[1].sql, "abc");
}

TEST(load_migrations, refuses_bad_names_duplicates_and_zero) {
  {
    sql_dir dir;
    dir.write("1_short.sql", "");
    EXPECT_THAT(error_of([&] { load_migrations(dir.path()); }),
                HasSubstr("bad migration file name 1_short.sql"));
  }
  {
    sql_dir dir;
    dir.write("0001_Capitals.sql", "");
    EXPECT_THAT(error_of([&] { load_migrations(dir.path()); }), HasSubstr("0001_Capitals.sql"));
  }
  {
    sql_dir dir;
    dir.write("0001_one.sql", "");
    dir.write("0001_other.sql", "");
    EXPECT_THAT(error_of([&] { load_migrations(dir.path()); }),
                HasSubstr("two migrations have number 1"));
  }
  {
    sql_dir dir;
    dir.write("0000_zero.sql", "");
    EXPECT_THAT(error_of([&] { load_migrations(dir.path()); }), HasSubstr("start at 0001"));
  }
  EXPECT_THAT(error_of([] { load_migrations("/nonexistent/pagohub/sql"); }),
              HasSubstr("does not exist"));
}

class migrations : public pagohub::test_support::pg_test {};

TEST_F(migrations, apply_on_an_empty_database_then_nothing_the_second_time) {
  const auto known = load_migrations(PAGOHUB_SQL_DIR);
  pqxx::connection c(conninfo());

  const auto status_before = check_schema(c, known);
  EXPECT_EQ(status_before.db_version, 0);
  EXPECT_FALSE(status_before.up_to_date);
  EXPECT_THAT(status_before.problem, HasSubstr("pending"));

  const auto first = migrate(c, known);
  EXPECT_EQ(first.applied, static_cast<int>(known.size()));
  EXPECT_EQ(first.current_version, known.back().version);
  EXPECT_EQ(count(c, "SELECT count(*) FROM daemon_instances"), 0);
  EXPECT_EQ(count(c, "SELECT count(*) FROM schema_migrations"), static_cast<int>(known.size()));
  {
    pqxx::work tx(c);
    const auto row = tx.exec1("SELECT name, checksum FROM schema_migrations WHERE version = 1");
    EXPECT_EQ(row[0].as<std::string>(), "foundation");
    EXPECT_EQ(row[1].as<std::string>(), known.front().sha256);
  }

  const auto second = migrate(c, known);
  EXPECT_EQ(second.applied, 0);
  EXPECT_EQ(second.current_version, first.current_version);

  const auto status = check_schema(c, known);
  EXPECT_TRUE(status.up_to_date) << status.problem;
  EXPECT_EQ(status.db_version, known.back().version);
  EXPECT_EQ(status.known_version, known.back().version);
}

// docs/architecture.md "Constraints": a rule on one column is a constraint of the column's own
// domain, never a table CHECK (PostgreSQL re-prepares those for every writing statement). This
// holds the later migrations to it.
TEST_F(migrations, one_column_rules_are_domain_constraints) {
  pqxx::connection c(conninfo());
  migrate(c, load_migrations(PAGOHUB_SQL_DIR));
  pqxx::work tx(c);
  const auto expect_none = [&tx](const char* what, const char* sql) {
    for (const auto& row : tx.exec(sql)) ADD_FAILURE() << what << ": " << row[0];
  };
  expect_none("table CHECK on one column",
              "SELECT k.conrelid::regclass::text || ' ' || k.conname FROM pg_constraint k"
              " JOIN pg_class r ON r.oid = k.conrelid"
              " WHERE k.contype = 'c' AND cardinality(k.conkey) = 1"
              "   AND r.relnamespace = current_schema()::regnamespace");
  // Every domain is <table>__<column> and types that column; its constraints kept their names.
  expect_none("domain of no column of its name",
              "SELECT t.typname FROM pg_type t"
              " WHERE t.typtype = 'd' AND t.typnamespace = current_schema()::regnamespace"
              "   AND NOT EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_class r"
              "                     ON r.oid = a.attrelid WHERE a.atttypid = t.oid"
              "                    AND t.typname = r.relname || '__' || a.attname)");
  const auto kept = tx.exec1(
      "SELECT count(*) FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid"
      " WHERE t.typname = 'positions__status' AND k.conname = 'positions_status_check'");
  EXPECT_EQ(kept[0].as<int>(), 1);
}

// sql/0031: an option dropped before the migration is found in the journal (its position's
// INTERNO events name the application), so its notice does not become no application's.
TEST_F(migrations, notice_owners_learns_the_options_dropped_before_it) {
  auto known = load_migrations(PAGOHUB_SQL_DIR);
  std::vector<pagohub::db::migration> before;
  for (const auto& m : known)
    if (m.version < 31) before.push_back(m);
  pqxx::connection c(conninfo());
  migrate(c, before);
  {
    pqxx::work tx(c);
    tx.exec0(
        "INSERT INTO positions (entity_fiscal_code, application_id, external_id, status,"
        " debtor_type, debtor_fiscal_code, debtor_full_name, description, service_code,"
        " reference_year, due_date, created_at, updated_at) VALUES ('01234567897', 'tax', 'p-1',"
        " 'DRAFT', 'F', 'ANONIMO', 'Mario Rossi', 'TARI', 'TARI', 2030, '2030-12-31', now(),"
        " now())");
    for (const std::string k : {"1", "2"}) {  // instalments 1 and 2
      const std::string iuv = k == "1" ? "01000000000000144" : "01000000000000155";
      tx.exec0(
          "INSERT INTO payment_options (entity_fiscal_code, position_id, ordinal, kind,"
          " instalment, notice_number, iuv, amount, due_date, description)"
          " SELECT entity_fiscal_code, id, " +
          k + ", 'INSTALMENT', " + k + ", '3" + iuv + "', '" + iuv +
          "', 100, '2030-12-31', 'TARI' FROM positions");
    }
    // Its CREATED event, one per option (sql/0016); then the first option goes.
    tx.exec0(
        "INSERT INTO position_events (entity_fiscal_code, position_id, event, to_status, at,"
        " actor_kind, actor_id) SELECT entity_fiscal_code, id, 'CREATED', 'DRAFT', now(),"
        " 'application', 'tax' FROM positions");
    tx.exec0("DELETE FROM payment_options WHERE iuv = '01000000000000144'");
    tx.commit();
  }
  migrate(c, known);
  pqxx::work tx(c);
  const auto rows = tx.exec("SELECT iuv, application_id FROM notice_owners ORDER BY iuv");
  ASSERT_EQ(rows.size(), 1U) << "the live option names its owner itself";
  EXPECT_EQ(rows[0][0].as<std::string>(), "01000000000000144");
  EXPECT_EQ(rows[0][1].as<std::string>(), "tax");
}

TEST_F(migrations, a_domain_rule_refuses_a_value_with_check_violation_naming_the_column) {
  pqxx::connection c(conninfo());
  migrate(c, load_migrations(PAGOHUB_SQL_DIR));
  pqxx::work tx(c);
  try {
    tx.exec(
        "INSERT INTO integration_states (integration_id, state, changed_at, changed_by_kind,"
        " changed_by_id) VALUES ('bo-1', 'SLEEPING', now(), 'admin', 'root')");
    ADD_FAILURE() << "the insert was accepted";
  } catch (const pqxx::check_violation& e) {
    EXPECT_THAT(e.what(), HasSubstr("integration_states__state"));
    EXPECT_THAT(e.what(), HasSubstr("integration_states_state_check"));
  }
}

TEST_F(migrations, a_changed_migration_is_refused) {
  sql_dir dir;
  dir.write("0001_first.sql", "CREATE TABLE first (id integer);");
  dir.write("0002_second.sql", "CREATE TABLE second (id integer);");
  pqxx::connection c(conninfo());
  ASSERT_EQ(migrate(c, load_migrations(dir.path())).applied, 2);

  dir.write("0002_second.sql", "CREATE TABLE second (id bigint);");
  dir.write("0003_third.sql", "CREATE TABLE third (id integer);");
  const auto edited = load_migrations(dir.path());
  const auto message = error_of([&] { migrate(c, edited); });
  EXPECT_THAT(message, HasSubstr("migration 0002_second was changed after it was applied"));
  EXPECT_THAT(message, HasSubstr("never edited"));
  // Refused before anything ran: 0003 is not applied either.
  EXPECT_EQ(count(c, "SELECT count(*) FROM schema_migrations"), 2);
  EXPECT_EQ(count(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'third'"), 0);

  const auto status = check_schema(c, edited);
  EXPECT_FALSE(status.up_to_date);
  EXPECT_THAT(status.problem, HasSubstr("0002_second was changed"));
}

TEST_F(migrations, a_newer_database_is_refused) {
  sql_dir dir;
  dir.write("0001_first.sql", "CREATE TABLE first (id integer);");
  dir.write("0002_second.sql", "CREATE TABLE second (id integer);");
  pqxx::connection c(conninfo());
  migrate(c, load_migrations(dir.path()));

  std::filesystem::remove(dir.path() / "0002_second.sql");
  const auto older = load_migrations(dir.path());
  EXPECT_THAT(error_of([&] { migrate(c, older); }),
              HasSubstr("database schema 2 is newer than this pagohubd (1)"));
  const auto status = check_schema(c, older);
  EXPECT_FALSE(status.up_to_date);
  EXPECT_EQ(status.db_version, 2);
  EXPECT_EQ(status.known_version, 1);
  EXPECT_THAT(status.problem, HasSubstr("newer than this pagohubd"));
}

TEST_F(migrations, a_failing_migration_rolls_back_alone) {
  sql_dir dir;
  dir.write("0001_first.sql", "CREATE TABLE first (id integer);");
  dir.write("0002_broken.sql", "CREATE TABLE second (id integer);\nSELECT no_such_column;");
  pqxx::connection c(conninfo());
  const auto message = error_of([&] { migrate(c, load_migrations(dir.path())); });
  EXPECT_THAT(message, HasSubstr("migration 0002_broken failed"));
  EXPECT_THAT(message, HasSubstr("no_such_column"));
  EXPECT_EQ(count(c, "SELECT max(version) FROM schema_migrations"), 1);
  EXPECT_EQ(count(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'second'"), 0);
}

TEST_F(migrations, concurrent_runners_apply_each_migration_once) {
  sql_dir dir;
  for (int i = 1; i <= 5; ++i) {
    dir.write("000" + std::to_string(i) + "_step.sql",
              "CREATE TABLE step_" + std::to_string(i) + " (id integer);");
  }
  const auto known = load_migrations(dir.path());
  int applied[2] = {-1, -1};
  std::exception_ptr errors[2];
  {
    std::jthread runners[2];
    for (int i = 0; i < 2; ++i) {
      runners[i] = std::jthread([&, i] {
        try {
          pqxx::connection c(conninfo());
          applied[i] = migrate(c, known).applied;
        } catch (...) {
          errors[i] = std::current_exception();
        }
      });
    }
  }
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  EXPECT_EQ(applied[0] + applied[1], 5);
  pqxx::connection c(conninfo());
  EXPECT_EQ(count(c, "SELECT count(*) FROM schema_migrations"), 5);
}

}  // namespace
