#include "support/pg_database.hpp"

#include <pagohub/db/migrations.hpp>

#include <pqxx/connection>
#include <pqxx/nontransaction>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace pagohub::test_support {
namespace {

constexpr const char* pg_file_variable = "PAGOHUB_TEST_PG_FILE";

std::filesystem::path pg_file() {
  const char* file = std::getenv(pg_file_variable);
  if (file == nullptr || *file == '\0') {
    throw std::runtime_error(pg_unavailable_reason());
  }
  return file;
}

std::string read_trimmed(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot read " + path.string() +
                             " (did the pg_cluster_setup test fail?)");
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string value = text.str();
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())) != 0) {
    value.pop_back();
  }
  if (value.empty()) throw std::runtime_error(path.string() + " is empty");
  return value;
}

// Database names are identifiers: lowercase letters, digits and single underscores, and short
// enough that the random suffix still fits in PostgreSQL's 63 bytes.
std::string sanitise(std::string_view label) {
  std::string out;
  for (char c : label) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0) {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
    if (out.size() >= 40) break;
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "db" : out;
}

std::string current_test_label() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return "db";
  return std::string(info->test_suite_name()) + "_" + info->name();
}

std::string random_suffix() {
  std::random_device device;
  std::uniform_int_distribution<unsigned> nibble(0, 15);
  std::string out;
  for (int i = 0; i < 8; ++i) out += "0123456789abcdef"[nibble(device)];
  return out;
}

void run_cluster_script(const char* command) {
  const std::string line = std::string("'") + PAGOHUB_PG_CLUSTER_SCRIPT + "' " + command + " '" +
                           cluster_dir().string() + "'";
  if (std::system(line.c_str()) != 0) {
    throw std::runtime_error(std::string("pg-cluster ") + command + " failed");
  }
}

}  // namespace

bool pg_available() {
  const char* file = std::getenv(pg_file_variable);
  return file != nullptr && *file != '\0';
}

std::string pg_unavailable_reason() {
  return std::string(pg_file_variable) +
         " is not set: PostgreSQL tests need the throwaway cluster that ctest starts "
         "(run them with ctest -L pg)";
}

std::string admin_conninfo() {
  return read_trimmed(pg_file());
}

std::filesystem::path cluster_dir() {
  return read_trimmed(pg_file().parent_path() / "pgtest.dir");
}

void stop_cluster() {
  run_cluster_script("stop");
}

void start_cluster() {
  run_cluster_script("start");
}

test_database::test_database(std::string_view label, std::string_view template_db) {
  const std::string admin = admin_conninfo();
  name_ = "t_" + sanitise(label.empty() ? current_test_label() : label) + "_" + random_suffix();
  pqxx::connection c(admin);
  pqxx::nontransaction tx(c);
  // Nobody connects to a template (template0, or schema_template() once made), so parallel
  // CREATE DATABASEs from it cannot trip over each other.
  tx.exec("CREATE DATABASE " + tx.quote_name(name_) + " TEMPLATE " +
          tx.quote_name(template_db.empty() ? std::string("template0") : std::string(template_db)));
  // Later keywords win in a libpq conninfo, so appending dbname retargets the admin one.
  conninfo_ = admin + " dbname=" + name_;
}

test_database::~test_database() {
  const char* keep = std::getenv("PAGOHUB_TEST_KEEP_DB");
  if (keep != nullptr && std::string_view(keep) == "1") {
    std::cerr << "keeping test database " << name_ << " (PAGOHUB_TEST_KEEP_DB=1)\n";
    return;
  }
  try {
    pqxx::connection c(admin_conninfo());
    pqxx::nontransaction tx(c);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    // The cluster is thrown away after the run anyway; a leftover database only costs space.
    std::cerr << "could not drop test database " << name_ << ": " << e.what() << '\n';
  }
}

std::string schema_template() {
  // Once per process; across the parallel test processes an advisory lock elects the one that
  // builds it. It is built under another name and renamed when complete, so a database by
  // this name always has the whole schema, even after a builder died halfway.
  static const std::string name = [] {
    const std::string made = "t_schema_template";
    pqxx::connection c(admin_conninfo());
    pqxx::nontransaction tx(c);
    tx.exec("SELECT pg_advisory_lock(7061676874657374)");  // "pagohtest"
    if (tx.exec("SELECT 1 FROM pg_database WHERE datname = " + tx.quote(made)).empty()) {
      const std::string building = "t_schema_building_" + random_suffix();
      tx.exec("CREATE DATABASE " + tx.quote_name(building) + " TEMPLATE template0");
      {
        pqxx::connection m(admin_conninfo() + " dbname=" + building);
        db::migrate(m, db::load_migrations(PAGOHUB_SQL_DIR));
      }
      tx.exec("ALTER DATABASE " + tx.quote_name(building) + " RENAME TO " + tx.quote_name(made));
    }
    tx.exec("SELECT pg_advisory_unlock(7061676874657374)");
    return made;
  }();
  return name;
}

void pg_test::SetUp() {
  if (!pg_available()) GTEST_SKIP() << pg_unavailable_reason();
  database_.emplace(std::string_view{}, template_database());
}

void pg_test::TearDown() {
  database_.reset();
}

}  // namespace pagohub::test_support
