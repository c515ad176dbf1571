#pragma once
// Test support for the pg, e2e and faults tiers (ARCHITECTURE §8). ctest's pg_cluster fixture
// starts one throwaway PostgreSQL cluster per run and points PAGOHUB_TEST_PG_FILE at a file
// holding its superuser conninfo; each test then works in a database of its own, so test
// binaries run in parallel without seeing each other's rows.
//
//   class my_test : public pagohub::test_support::pg_test {};
//   TEST_F(my_test, something) { pqxx::connection c{conninfo()}; ... }
//
// Without PAGOHUB_TEST_PG_FILE (a test binary run by hand), pg_test skips with a message.
// PAGOHUB_TEST_KEEP_DB=1 keeps the databases for a post-mortem.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::test_support {

/// True when PAGOHUB_TEST_PG_FILE is set (the test runs under ctest's pg_cluster fixture).
bool pg_available();

/// Why pg_available() is false, for skip messages.
std::string pg_unavailable_reason();

/// The cluster's superuser conninfo (dbname=postgres), read from PAGOHUB_TEST_PG_FILE.
/// Throws std::runtime_error when the variable is unset or the file unreadable.
std::string admin_conninfo();

/// The cluster's directory, for tests that stop and start it (label `faults`, which ctest runs
/// serially). Throws std::runtime_error when unknown.
std::filesystem::path cluster_dir();

/// Stops / starts the shared test cluster (fast shutdown; start waits until it accepts
/// connections). Only for `faults` tests: every other test uses the cluster meanwhile.
void stop_cluster();
void start_cluster();

/// A database of one's own: CREATE DATABASE t_<label>_<random> on construction, DROP DATABASE
/// ... WITH (FORCE) on destruction (open connections are terminated).
class test_database {
 public:
  /// `label` defaults to the running GoogleTest's suite and test name; the database is a copy
  /// of `template_db` (empty: template0). Throws std::runtime_error when no cluster is
  /// configured.
  explicit test_database(std::string_view label = {}, std::string_view template_db = {});
  ~test_database();
  test_database(const test_database&) = delete;
  test_database& operator=(const test_database&) = delete;

  const std::string& name() const { return name_; }
  /// Superuser conninfo for this database.
  const std::string& conninfo() const { return conninfo_; }

 private:
  std::string name_;
  std::string conninfo_;
};

/// The name of a database on the test cluster holding pagohub's schema (every migration of
/// sql/ applied), made once per cluster by whichever test process asks first, for
/// test_database to copy: copying it is much cheaper than applying the migrations per test.
std::string schema_template();

/// GoogleTest fixture: a fresh test_database per test, or a skip without a cluster. A derived
/// fixture that overrides SetUp calls pg_test::SetUp() first and returns if IsSkipped().
class pg_test : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  /// The database each test's copies (empty: template0, an empty database).
  virtual std::string template_database() const { return {}; }

  test_database& database() { return *database_; }
  const std::string& conninfo() const { return database_->conninfo(); }

 private:
  std::optional<test_database> database_;
};

/// A pg_test whose database already has pagohub's schema (a copy of schema_template()).
class migrated_pg_test : public pg_test {
 protected:
  std::string template_database() const override { return schema_template(); }
};

}  // namespace pagohub::test_support

/// In a TEST body (not a fixture): skips the test when no cluster is configured.
#define PAGOHUB_REQUIRE_PG()                                            \
  do {                                                                  \
    if (!::pagohub::test_support::pg_available()) {                     \
      GTEST_SKIP() << ::pagohub::test_support::pg_unavailable_reason(); \
    }                                                                   \
  } while (false)
