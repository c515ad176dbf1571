// executor::transact_within: the deadline bounds the started transaction as a whole. A body
// still running at the deadline is cancelled server-side and rolled back, however its time is
// spread over statements, and a transaction that ended before its deadline is left alone, as is
// the next transaction on the same connection.
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
using steady = std::chrono::steady_clock;

class db_executor_watchdog : public pagohub::test_support::pg_test {
 protected:
  pool_settings one_connection() const { return pool_settings{conninfo(), 1}; }

  bool table_exists(const std::string& name) {
    pqxx::connection c(conninfo());
    pqxx::nontransaction n(c);
    return !n.exec_params1("SELECT to_regclass($1) IS NULL", name)[0].as<bool>();
  }
};

using pagohub::test_support::io_thread;

// Each statement stays well inside its statement timeout, but together they would take 4 s:
// the deadline, 400 ms away, ends the transaction.
TEST_F(db_executor_watchdog, a_body_of_many_slow_statements_is_cancelled_at_the_deadline) {
  io_thread io;
  executor db(one_connection());
  std::atomic<int> statements{0};
  const auto t0 = steady::now();
  auto result = asio::co_spawn(io.ioc,
                               db.transact_within(t0 + 400ms,
                                                  [&](pqxx::work& tx) {
                                                    tx.exec("SET LOCAL statement_timeout = '1s'");
                                                    tx.exec("CREATE TABLE never_kept (x int)");
                                                    for (int i = 0; i < 20; ++i) {
                                                      tx.exec("SELECT pg_sleep(0.2)");
                                                      ++statements;
                                                    }
                                                    return 1;
                                                  }),
                               asio::use_future);
  EXPECT_THROW(result.get(), deadline_error);
  const auto took = steady::now() - t0;
  EXPECT_GE(took, 350ms);
  EXPECT_LT(took, 2s) << "well before the 4 s of the statements, or the 1 s of one timeout";
  EXPECT_LT(statements.load(), 20);
  EXPECT_FALSE(table_exists("never_kept"));
  const auto stats = db.stats();
  EXPECT_EQ(stats.cancelled, 1U);
  EXPECT_EQ(stats.withdrawn, 0U);
  // The connection serves the next transaction as if nothing happened.
  EXPECT_EQ(db.transact_sync([](pqxx::work& tx) { return tx.exec1("SELECT 7")[0].as<int>(); }), 7);
}

// The same with lock waits: another session holds a lock, releases it, and the body's next
// statement waits for a second one. Each wait is shorter than the statement timeout; their sum
// is not.
TEST_F(db_executor_watchdog, lock_waits_one_after_another_are_cancelled_at_the_deadline) {
  {
    pqxx::connection c(conninfo());
    pqxx::work w(c);
    w.exec("CREATE TABLE first_lock (id int PRIMARY KEY); INSERT INTO first_lock VALUES (1)");
    w.exec("CREATE TABLE second_lock (id int PRIMARY KEY); INSERT INTO second_lock VALUES (1)");
    w.commit();
  }
  pqxx::connection holder1(conninfo());
  pqxx::work hold1(holder1);
  hold1.exec("SELECT * FROM first_lock FOR UPDATE");
  pqxx::connection holder2(conninfo());
  pqxx::work hold2(holder2);
  hold2.exec("SELECT * FROM second_lock FOR UPDATE");

  io_thread io;
  executor db(one_connection());
  const auto t0 = steady::now();
  std::atomic<bool> first_taken{false};
  auto result =
      asio::co_spawn(io.ioc,
                     db.transact_within(t0 + 600ms,
                                        [&](pqxx::work& tx) {
                                          tx.exec("SET LOCAL statement_timeout = '1500ms'");
                                          tx.exec("UPDATE first_lock SET id = id WHERE id = 1");
                                          first_taken = true;
                                          tx.exec("UPDATE second_lock SET id = id WHERE id = 1");
                                          return 1;
                                        }),
                     asio::use_future);
  std::this_thread::sleep_for(400ms);
  hold1.abort();  // the first wait ends; the second begins
  EXPECT_THROW(result.get(), deadline_error);
  const auto took = steady::now() - t0;
  hold2.abort();
  EXPECT_TRUE(first_taken.load());
  EXPECT_GE(took, 550ms);
  EXPECT_LT(took, 1500ms) << "before the second wait's own statement timeout, let alone the sum";
  EXPECT_EQ(db.stats().cancelled, 1U);
}

// A cancel reaching the server between two statements is dropped there; the body's next
// statement must not then get its whole statement timeout, and a body that returns after the
// deadline must not commit.
TEST_F(db_executor_watchdog, a_body_past_its_deadline_between_statements_does_not_commit) {
  io_thread io;
  executor db(one_connection());
  const auto t0 = steady::now();
  auto slow = asio::co_spawn(io.ioc,
                             db.transact_within(t0 + 100ms,
                                                [&](pqxx::work& tx) {
                                                  tx.exec("SELECT 1");
                                                  std::this_thread::sleep_for(300ms);
                                                  tx.exec("SELECT pg_sleep(5)");
                                                  return 1;
                                                }),
                             asio::use_future);
  EXPECT_THROW(slow.get(), deadline_error);
  EXPECT_LT(steady::now() - t0, 3s) << "the statement after the deadline was cancelled too";

  auto returned = asio::co_spawn(io.ioc,
                                 db.transact_within(steady::now() + 100ms,
                                                    [&](pqxx::work& tx) {
                                                      tx.exec("CREATE TABLE too_late (x int)");
                                                      std::this_thread::sleep_for(300ms);
                                                      return 1;
                                                    }),
                                 asio::use_future);
  EXPECT_THROW(returned.get(), deadline_error);
  EXPECT_FALSE(table_exists("too_late"));
  const auto stats = db.stats();
  EXPECT_EQ(stats.cancelled + stats.withdrawn, 2U);  // withdrawn: not started within 100 ms
}

// The race guard. Bodies that take about 25 ms get deadlines from 10 to 40 ms: some are cancelled,
// some end just before their deadline (the watchdog's cancel may be on its way). Those that end
// in time commit; those that do not leave nothing; and the next transaction on the same
// connection, which runs across the earlier deadline, is never hit by a cancel meant for it.
TEST_F(db_executor_watchdog, a_transaction_ended_in_time_is_not_cancelled_nor_the_next_one) {
  {
    pqxx::connection c(conninfo());
    pqxx::work w(c);
    w.exec("CREATE TABLE rows_kept (i int PRIMARY KEY)");
    w.commit();
  }
  io_thread io;
  executor db(one_connection());
  int committed = 0;
  int cancelled = 0;
  for (int i = 0; i < 31; ++i) {
    auto near =
        asio::co_spawn(io.ioc,
                       db.transact_within(steady::now() + std::chrono::milliseconds(10 + i),
                                          [i](pqxx::work& tx) {
                                            tx.exec("SELECT pg_sleep(0.025)");
                                            tx.exec_params("INSERT INTO rows_kept VALUES ($1)", i);
                                          }),
                       asio::use_future);
    try {
      near.get();
      ++committed;
    } catch (const deadline_error&) {
      ++cancelled;
    }
    // Runs across the earlier deadline, on the one connection of the pool.
    auto next = asio::co_spawn(io.ioc, db.transact([](pqxx::work& tx) {
      tx.exec("SELECT pg_sleep(0.05)");
      return tx.exec1("SELECT 1")[0].as<int>();
    }),
                               asio::use_future);
    EXPECT_EQ(next.get(), 1) << "iteration " << i;
  }
  EXPECT_EQ(committed + cancelled, 31);
  // A loaded machine may not even start a body within 10 ms: that one is withdrawn unstarted.
  const auto stats = db.stats();
  EXPECT_EQ(stats.cancelled + stats.withdrawn, static_cast<std::uint64_t>(cancelled));
  EXPECT_EQ(db.transact_sync([](pqxx::work& tx) {
    return tx.exec1("SELECT count(*) FROM rows_kept")[0].as<int>();
  }),
            committed);

  // A body that ends well before its deadline commits, and nothing is cancelled later.
  auto kept = asio::co_spawn(io.ioc,
                             db.transact_within(steady::now() + 300ms,
                                                [](pqxx::work& tx) {
                                                  tx.exec("CREATE TABLE kept (x int)");
                                                  return 1;
                                                }),
                             asio::use_future);
  EXPECT_EQ(kept.get(), 1);
  EXPECT_EQ(db.transact_sync([](pqxx::work& tx) {
    tx.exec("SELECT pg_sleep(0.5)");  // across the deadline of the one before
    return tx.exec1("SELECT count(*) FROM kept")[0].as<int>();
  }),
            0);
  EXPECT_TRUE(table_exists("kept"));
}

// transact_until keeps its meaning: a started transaction is waited for past the deadline.
TEST_F(db_executor_watchdog, transact_until_is_not_cancelled) {
  io_thread io;
  executor db(one_connection());
  auto r = asio::co_spawn(io.ioc,
                          db.transact_until(steady::now() + 50ms,
                                            [](pqxx::work& tx) {
                                              tx.exec("SELECT pg_sleep(0.2)");
                                              return 5;
                                            }),
                          asio::use_future);
  EXPECT_EQ(r.get(), 5);
  EXPECT_EQ(db.stats().cancelled, 0U);
}

// A body with a far deadline that the stop cancels is the stop's: its caller hears what the
// statement said, and pagohub_db_cancelled_total (deadlines) does not count it.
TEST_F(db_executor_watchdog, the_stops_cancel_is_not_taken_for_a_deadline) {
  io_thread io;
  executor db(one_connection());
  std::atomic<bool> started{false};
  auto result = asio::co_spawn(io.ioc,
                               db.transact_within(steady::now() + 60s,
                                                  [&](pqxx::work& tx) {
                                                    started = true;
                                                    tx.exec("SELECT pg_sleep(60)");
                                                    return 1;
                                                  }),
                               asio::use_future);
  while (!started) std::this_thread::sleep_for(5ms);
  db.stop(100ms);
  std::string sqlstate;
  try {
    result.get();
  } catch (const pqxx::sql_error& e) {
    sqlstate = e.sqlstate();
  } catch (const std::exception& e) {
    sqlstate = e.what();
  }
  EXPECT_EQ(sqlstate, "57014");  // query_canceled
  EXPECT_EQ(db.stats().cancelled, 0U);
}

}  // namespace
