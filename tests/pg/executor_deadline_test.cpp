// executor::transact_until: a transaction still queued at its deadline is withdrawn and never
// runs, its caller hears deadline_error while the pool is still busy, and one that started in
// time is waited for to its end.
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "pagohub/db/executor.hpp"
#include "support/io_thread.hpp"
#include "support/pg_database.hpp"

namespace {

namespace asio = boost::asio;
using pagohub::db::deadline_error;
using pagohub::db::executor;
using pagohub::db::pool_settings;
using namespace std::chrono_literals;

class db_executor_deadline : public pagohub::test_support::pg_test {
 protected:
  pool_settings one_connection() const { return pool_settings{conninfo(), 1}; }
};

using pagohub::test_support::io_thread;

TEST_F(db_executor_deadline, a_transaction_still_queued_at_its_deadline_never_runs) {
  io_thread io;
  executor db(one_connection());
  // The one connection is held by a transaction that waits for the test's word.
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> holding;
  auto blocker = asio::co_spawn(io.ioc, db.transact([&](pqxx::work& tx) {
    tx.exec("SELECT 1");
    holding.set_value();
    released.wait();
    return 1;
  }),
                                asio::use_future);
  holding.get_future().wait();

  std::atomic<bool> ran{false};
  auto late = asio::co_spawn(io.ioc,
                             db.transact_until(std::chrono::steady_clock::now() + 50ms,
                                               [&](pqxx::work& tx) {
                                                 ran = true;
                                                 tx.exec("CREATE TABLE never_made (x int)");
                                                 return 2;
                                               }),
                             asio::use_future);
  // The caller hears back while the connection is still taken.
  EXPECT_THROW(late.get(), deadline_error);
  EXPECT_EQ(blocker.wait_for(0s), std::future_status::timeout) << "the blocker still runs";

  release.set_value();
  EXPECT_EQ(blocker.get(), 1);
  // The worker reached the withdrawn job after the blocker and dropped it unrun.
  EXPECT_EQ(db.transact_sync([](pqxx::work& tx) {
    return tx.exec1("SELECT to_regclass('never_made') IS NULL")[0].as<bool>();
  }),
            true);
  EXPECT_FALSE(ran.load());
  const auto stats = db.stats();
  EXPECT_EQ(stats.withdrawn, 1U);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.waiting, 0);
}

TEST_F(db_executor_deadline, a_transaction_started_in_time_is_waited_for_to_its_end) {
  io_thread io;
  executor db(one_connection());
  const auto deadline = std::chrono::steady_clock::now() + 50ms;
  std::promise<void> release;
  auto released = release.get_future();
  std::promise<void> started;
  auto result = asio::co_spawn(io.ioc,
                               db.transact_until(deadline,
                                                 [&](pqxx::work& tx) {
                                                   started.set_value();
                                                   released.wait();  // until well past the deadline
                                                   return tx.exec1("SELECT 42")[0].as<int>();
                                                 }),
                               asio::use_future);
  started.get_future().wait();
  std::this_thread::sleep_until(deadline + 100ms);
  release.set_value();
  EXPECT_EQ(result.get(), 42);
  EXPECT_EQ(db.stats().withdrawn, 0U);
}

TEST_F(db_executor_deadline, a_started_transaction_is_not_retried_past_its_deadline) {
  // Every attempt loses its connection. Without a deadline that is six attempts, each with a
  // reconnect and a back-off; with one, the caller hears at about the deadline.
  io_thread io;
  executor db(one_connection());
  std::atomic<int> attempts{0};
  auto result = asio::co_spawn(io.ioc,
                               db.transact_until(std::chrono::steady_clock::now() + 300ms,
                                                 [&](pqxx::work& tx) {
                                                   ++attempts;
                                                   tx.exec(
                                                       "SELECT pg_terminate_backend("
                                                       "pg_backend_pid())");
                                                   return 1;
                                                 }),
                               asio::use_future);
  EXPECT_THROW(result.get(), pagohub::db::unavailable_error);
  EXPECT_GE(attempts.load(), 1);
  EXPECT_LT(attempts.load(), 6);
}

TEST_F(db_executor_deadline, failures_and_void_bodies_reach_the_caller) {
  io_thread io;
  executor db(one_connection());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  auto failed = asio::co_spawn(
      io.ioc,
      db.transact_until(deadline,
                        [](pqxx::work& tx) { return tx.exec1("SELECT 1/0")[0].as<int>(); }),
      asio::use_future);
  EXPECT_THROW(failed.get(), pqxx::data_exception);
  std::atomic<bool> ran{false};
  auto done = asio::co_spawn(io.ioc,
                             db.transact_until(deadline,
                                               [&](pqxx::work& tx) {
                                                 tx.exec("SELECT 1");
                                                 ran = true;
                                               }),
                             asio::use_future);
  done.get();
  EXPECT_TRUE(ran.load());
}

TEST_F(db_executor_deadline, a_stopped_executor_answers_unavailable_not_twice) {
  io_thread io;
  executor db(one_connection());
  db.stop();
  auto refused = asio::co_spawn(
      io.ioc,
      db.transact_until(std::chrono::steady_clock::now() + 20ms, [](pqxx::work&) { return 1; }),
      asio::use_future);
  EXPECT_THROW(refused.get(), pagohub::db::unavailable_error);
  // The deadline passes with nothing left to answer.
  std::this_thread::sleep_for(40ms);
}

}  // namespace
