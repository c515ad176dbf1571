// The DB executor when things break: backends killed under the pool, a server that is not
// there, and shutdown with work queued. None of these stops the shared cluster, so they run
// with the rest of the pg tier.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "pagohub/db/errors.hpp"
#include "pagohub/db/executor.hpp"
#include "support/eventually.hpp"
#include "support/pg_database.hpp"

namespace {

namespace asio = boost::asio;
using pagohub::db::executor;
using pagohub::db::pool_settings;
using pagohub::db::unavailable_error;
using pagohub::test_support::eventually;
using ::testing::HasSubstr;

class db_executor_faults : public pagohub::test_support::pg_test {
 protected:
  // The pool's backends, seen from the admin connection.
  int pool_backends(const std::string& extra_condition = "true") {
    pqxx::connection admin(pagohub::test_support::admin_conninfo());
    pqxx::work tx(admin);
    return tx
        .exec_params1(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pagohubd' "
            "AND datname = $1 AND " +
                extra_condition,
            database().name())[0]
        .as<int>();
  }

  int terminate_pool_backends() {
    pqxx::connection admin(pagohub::test_support::admin_conninfo());
    pqxx::work tx(admin);
    const auto killed = tx.exec_params(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'pagohubd' AND datname = $1",
        database().name());
    tx.commit();
    return static_cast<int>(killed.size());
  }
};

TEST_F(db_executor_faults, the_pool_survives_killed_backends) {
  pool_settings s;
  s.conninfo = conninfo();
  s.size = 2;
  executor db(s);
  ASSERT_TRUE(eventually([&] { return pool_backends() == 2; })) << "both workers connect";
  db.transact_sync([](pqxx::work& tx) { tx.exec0("CREATE TABLE t (v integer)"); });

  ASSERT_EQ(terminate_pool_backends(), 2);
  ASSERT_TRUE(eventually([&] { return pool_backends() == 0; })) << "the backends exit";

  // Both connections are dead; whichever worker takes this finds out, reconnects and retries.
  db.transact_sync([](pqxx::work& tx) { tx.exec0("INSERT INTO t VALUES (1)"); });
  EXPECT_EQ(db.transact_sync(
                [](pqxx::work& tx) { return tx.exec1("SELECT count(*) FROM t")[0].as<int>(); }),
            1);
  const auto stats = db.stats();
  EXPECT_GE(stats.reconnects, 1U);
  EXPECT_GE(stats.retries, 1U);
  EXPECT_EQ(stats.failures, 0U);
  EXPECT_TRUE(db.healthy());
}

TEST_F(db_executor_faults, a_backend_killed_inside_a_transaction_is_retried_on_a_new_one) {
  pool_settings s;
  s.conninfo = conninfo();
  s.size = 1;
  executor db(s);
  db.transact_sync([](pqxx::work& tx) { tx.exec0("CREATE TABLE t (v integer)"); });

  std::atomic<int> attempts{0};
  const int pid = db.transact_sync([&](pqxx::work& tx) {
    tx.exec0("INSERT INTO t VALUES (1)");
    if (attempts.fetch_add(1) == 0) {
      // The session dies mid-transaction: the insert above must not survive it.
      tx.exec("SELECT pg_terminate_backend(pg_backend_pid())");
    }
    return tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
  });
  EXPECT_EQ(attempts.load(), 2);
  EXPECT_GT(pid, 0);
  EXPECT_EQ(db.transact_sync(
                [](pqxx::work& tx) { return tx.exec1("SELECT count(*) FROM t")[0].as<int>(); }),
            1);
  EXPECT_EQ(db.stats().reconnects, 1U);
}

// What the routes answer 503 for (db::unavailable_reason): a statement the statement or lock
// timeout cancelled, a read-only server, a server short of resources, and a database that
// cannot be reached; not a defect such as bad SQL or a refused row.
TEST_F(db_executor_faults, unavailable_reason_tells_a_slow_or_absent_database_from_a_defect) {
  const auto reason_of = [this](const auto& body) -> std::optional<std::string> {
    try {
      pqxx::connection c(conninfo());
      pqxx::work w(c);
      body(w);
    } catch (const std::exception& e) {
      if (const auto why = pagohub::db::unavailable_reason(e)) return std::string(*why);
      return std::string("(none)");
    }
    return std::nullopt;
  };
  EXPECT_EQ(reason_of([](pqxx::work& w) {
              w.exec("SET LOCAL statement_timeout = '20ms'");
              w.exec("SELECT pg_sleep(2)");
            }),
            "the database did not finish the request in time");
  EXPECT_EQ(reason_of([](pqxx::work& w) {
              w.exec("SET TRANSACTION READ ONLY");
              w.exec("CREATE TEMPORARY TABLE never (x int)");
            }),
            "the database accepts no changes now");
  {
    // A lock timeout while another session holds the lock.
    pqxx::connection holder(conninfo());
    pqxx::work held(holder);
    held.exec("CREATE TABLE IF NOT EXISTS locked_here (x int)");
    held.commit();
    pqxx::work locking(holder);
    locking.exec("LOCK TABLE locked_here IN ACCESS EXCLUSIVE MODE");
    EXPECT_EQ(reason_of([](pqxx::work& w) {
                w.exec("SET LOCAL lock_timeout = '20ms'");
                w.exec("SELECT * FROM locked_here");
              }),
              "the database did not finish the request in time");
  }
  EXPECT_EQ(reason_of([](pqxx::work& w) { w.exec("SELECT no_such_column FROM pg_class"); }),
            "(none)");
  EXPECT_EQ(reason_of([](pqxx::work& w) { w.exec("SELECT 1 / 0"); }), "(none)");
  // Conditions of the server a test cannot bring about, by their SQLSTATE.
  const pqxx::sql_error disk_full("could not extend file", "INSERT", "53100");
  EXPECT_EQ(pagohub::db::unavailable_reason(disk_full), "the database is short of resources");
  const pqxx::serialization_failure conflict("could not serialize access");
  EXPECT_EQ(pagohub::db::unavailable_reason(conflict),
            "the request met concurrent changes too often");
  const pqxx::deadlock_detected deadlock("deadlock detected");
  EXPECT_EQ(pagohub::db::unavailable_reason(deadlock),
            "the request met concurrent changes too often");
  const pqxx::statement_completion_unknown in_doubt("lost during the statement");
  EXPECT_EQ(pagohub::db::unavailable_reason(in_doubt), std::nullopt);
  const pqxx::sql_error io("could not read block", "SELECT", "58030");
  EXPECT_EQ(pagohub::db::unavailable_reason(io),
            "the database could not read or write its storage");
  const pqxx::unique_violation duplicate("duplicate key", "INSERT", "23505");
  EXPECT_EQ(pagohub::db::unavailable_reason(duplicate), std::nullopt);
  const unavailable_error absent("database unavailable after 3 attempts");
  EXPECT_EQ(pagohub::db::unavailable_reason(absent), "the database is not reachable");
  EXPECT_EQ(pagohub::db::unavailable_reason(std::runtime_error("a bug")), std::nullopt);
}

TEST(db_executor_unreachable, start_does_not_throw_and_work_fails_as_unavailable) {
  pool_settings s;
  // Nothing listens on port 1, so connecting fails at once.
  s.conninfo = "host=127.0.0.1 port=1 dbname=none user=none";
  s.size = 2;
  s.max_retries = 2;
  // Declared first: the executor must go before the io_context its coroutines run on.
  asio::io_context ioc;
  executor db(s);
  EXPECT_FALSE(db.healthy());

  try {
    db.transact_sync([](pqxx::work& tx) { tx.exec("SELECT 1"); });
    ADD_FAILURE() << "no exception";
  } catch (const unavailable_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("database unavailable after 3 attempts"));
  }
  const auto stats = db.stats();
  EXPECT_EQ(stats.retries, 2U);
  EXPECT_EQ(stats.failures, 1U);
  EXPECT_FALSE(stats.connected);

  auto outcome = asio::co_spawn(ioc, db.ping(std::chrono::seconds(5)), asio::use_future);
  ioc.run();
  const auto result = outcome.get();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, pagohub::core::errc::unavailable);
  EXPECT_THAT(result.error().message, HasSubstr("database unreachable"));
}

TEST_F(db_executor_faults, ping_gives_up_at_its_deadline_when_the_pool_is_busy) {
  pool_settings s;
  s.conninfo = conninfo();
  s.size = 1;
  // Declared first: the executor must go before the io_context its coroutines run on.
  asio::io_context ioc;
  executor db(s);
  // Occupy the only worker well past the ping's deadline.
  auto busy = asio::co_spawn(
      ioc, db.transact([](pqxx::work& tx) { tx.exec("SELECT pg_sleep(1)"); }), asio::use_future);
  auto ping = asio::co_spawn(ioc, db.ping(std::chrono::milliseconds(100)), asio::use_future);
  const auto started = std::chrono::steady_clock::now();
  const auto result = [&] {
    while (ping.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
      ioc.run_one();
    }
    return ping.get();
  }();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(900));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, pagohub::core::errc::unavailable);
  EXPECT_THAT(result.error().message, HasSubstr("did not answer within 100 ms"));
  ioc.run();
  busy.get();
}

TEST(db_executor_stop, queued_and_later_work_fails_as_unavailable) {
  pool_settings s;
  s.conninfo = "host=127.0.0.1 port=1 dbname=none user=none";
  s.size = 1;
  // Declared first: the executor must go before the io_context its coroutines run on.
  asio::io_context ioc;
  executor db(s);
  db.stop();
  db.stop();  // idempotent
  EXPECT_THROW(db.transact_sync([](pqxx::work&) {}), unavailable_error);

  auto later = asio::co_spawn(ioc, db.transact([](pqxx::work&) { return 1; }), asio::use_future);
  ioc.run();
  EXPECT_THROW(later.get(), unavailable_error);
}

}  // namespace
