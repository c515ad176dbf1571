#pragma once
// The integration module's pg tests: a migrated database of their own and one connection to
// it, with small helpers to run SQL in committed transactions.

#include <pqxx/pqxx>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "support/pg_database.hpp"
#include "support/transaction.hpp"

namespace pagohub::integration::test {

/// 2026-03-02 10:00 UTC: the tests' "now".
inline std::chrono::system_clock::time_point t0() {
  using namespace std::chrono;
  return sys_days(year_month_day{year(2026), month(3), day(2)}) + hours(10);
}

class integration_pg : public test_support::migrated_pg_test {
 protected:
  void SetUp() override {
    migrated_pg_test::SetUp();
    if (IsSkipped()) return;
    conn_.emplace(conninfo());
  }
  void TearDown() override {
    conn_.reset();
    pg_test::TearDown();
  }

  /// Runs `text` in its own committed transaction.
  pqxx::result sql(const std::string& text) {
    pqxx::work w(*conn_);
    auto r = w.exec(text);
    w.commit();
    return r;
  }
  long long count(const std::string& text) { return sql(text)[0][0].as<long long>(); }

  /// Runs f(pqxx::work&) and commits; returns what f returns.
  template <class F>
  auto tx(F f) {
    return test_support::committed(*conn_, std::move(f));
  }

  std::optional<pqxx::connection> conn_;
};

}  // namespace pagohub::integration::test
