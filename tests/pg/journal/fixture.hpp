#pragma once
// A migrated database of one's own, an executor on it, and small helpers for journal tests.
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <pqxx/pqxx>

#include <memory>

#include "pagohub/db/executor.hpp"
#include "pagohub/journal/event.hpp"
#include "support/pg_database.hpp"

namespace pagohub::journal::test {

class journal_db : public test_support::migrated_pg_test {
 protected:
  void SetUp() override {
    migrated_pg_test::SetUp();
    if (IsSkipped()) return;
    db_ = std::make_unique<db::executor>(db::pool_settings{conninfo(), 4});
  }
  void TearDown() override {
    db_.reset();
    pg_test::TearDown();
  }

  /// Runs `sql` in its own committed transaction.
  pqxx::result sql(const std::string& text) {
    pqxx::connection c(conninfo());
    pqxx::work w(c);
    auto r = w.exec(text);
    w.commit();
    return r;
  }

  template <class T>
  T scalar(const std::string& text) {
    return sql(text)[0][0].as<T>();
  }

  std::unique_ptr<db::executor> db_;
};

/// An INTERNO event of `entity` at `time` (epoch seconds).
inline event internal_event(std::string entity, std::int64_t seconds, std::string type = "test") {
  event e;
  e.cat = category::interno;
  e.entity_fc = std::move(entity);
  e.type = std::move(type);
  e.subtype = "done";
  e.component = "tests";
  e.time = std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
  return e;
}

template <class T>
T run(boost::asio::io_context& ioc, boost::asio::awaitable<T> coroutine) {
  auto future = boost::asio::co_spawn(ioc, std::move(coroutine), boost::asio::use_future);
  ioc.run();
  ioc.restart();
  return future.get();
}

}  // namespace pagohub::journal::test

namespace pagohub::journal::test {

/// Seconds since the epoch of y-m-d h:00 UTC.
inline std::int64_t at(int y, unsigned m, unsigned d, int h = 12) {
  using namespace std::chrono;
  const auto t = sys_days(year_month_day{year(y), month(m), day(d)}) + hours(h);
  return duration_cast<seconds>(t.time_since_epoch()).count();
}

inline std::chrono::system_clock::time_point tp(std::int64_t seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

}  // namespace pagohub::journal::test
