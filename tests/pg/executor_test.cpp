// The DB executor's contract (ARCHITECTURE §4): results and exceptions cross back to the caller,
// coroutines resume on their own io_context, transaction modes and session settings hold,
// serialization failures are retried, and the pool's gauges tell the truth under load.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "pagohub/db/executor.hpp"
#include "support/pg_database.hpp"

namespace {

namespace asio = boost::asio;
using pagohub::db::access;
using pagohub::db::executor;
using pagohub::db::isolation;
using pagohub::db::pool_settings;

class db_executor : public pagohub::test_support::pg_test {
 protected:
  pool_settings settings(int size = 2) const {
    pool_settings s;
    s.conninfo = conninfo();
    s.size = size;
    return s;
  }
};

// Runs a coroutine to completion on `ioc`, on the calling thread.
template <class T>
T run(asio::io_context& ioc, asio::awaitable<T> coroutine) {
  auto future = asio::co_spawn(ioc, std::move(coroutine), asio::use_future);
  ioc.run();
  ioc.restart();
  return future.get();
}

struct no_default {
  explicit no_default(int v) : value(v) {}
  int value;
};

TEST_F(db_executor, transact_sync_returns_the_body_result) {
  executor db(settings());
  EXPECT_EQ(db.transact_sync([](pqxx::work& tx) { return tx.exec1("SELECT 41 + 1")[0].as<int>(); }),
            42);
  auto owned = db.transact_sync([](pqxx::work&) { return std::make_unique<int>(7); });
  ASSERT_TRUE(owned);
  EXPECT_EQ(*owned, 7);
  EXPECT_EQ(db.transact_sync([](pqxx::work&) { return no_default(3); }).value, 3);
  db.transact_sync([](pqxx::work& tx) { tx.exec0("CREATE TABLE t (v integer)"); });
  EXPECT_EQ(db.stats().transactions, 4U);
}

// A pool's threads carry its name, cut to what Linux keeps of a thread's name.
TEST_F(db_executor, worker_threads_are_named_after_their_pool) {
  const auto name_in = [this](std::string pool) {
    auto s = settings(1);
    s.name = std::move(pool);
    executor db(s);
    return db.transact_sync([](pqxx::work&) {
      char name[16] = {};
      pthread_getname_np(pthread_self(), name, sizeof name);
      return std::string(name);
    });
  };
  EXPECT_EQ(name_in("pap"), "pagohub-pap-0");
  EXPECT_EQ(name_in("a-long-name"), "pagohub-a-long-");
  EXPECT_EQ(name_in(pool_settings{}.name), "pagohub-db-0");
}

TEST_F(db_executor, a_failing_body_rolls_back_and_its_exception_reaches_the_caller) {
  executor db(settings());
  db.transact_sync([](pqxx::work& tx) { tx.exec0("CREATE TABLE t (v integer)"); });
  EXPECT_THROW(db.transact_sync([](pqxx::work& tx) {
    tx.exec0("INSERT INTO t VALUES (1)");
    throw std::logic_error("business rule");
  }),
               std::logic_error);
  EXPECT_THROW(db.transact_sync([](pqxx::work& tx) { tx.exec("SELECT * FROM missing_table"); }),
               pqxx::undefined_table);
  EXPECT_EQ(db.transact_sync(
                [](pqxx::work& tx) { return tx.exec1("SELECT count(*) FROM t")[0].as<int>(); }),
            0);
  // A refusal the body throws on purpose rolls back the same way, and is no failure.
  struct refused : pagohub::db::rollback {};
  EXPECT_THROW(db.transact_sync([](pqxx::work& tx) {
    tx.exec0("INSERT INTO t VALUES (2)");
    throw refused();
  }),
               refused);
  EXPECT_EQ(db.transact_sync(
                [](pqxx::work& tx) { return tx.exec1("SELECT count(*) FROM t")[0].as<int>(); }),
            0);
  const auto stats = db.stats();
  EXPECT_EQ(stats.failures, 2U);
  EXPECT_EQ(stats.rollbacks, 1U);
  EXPECT_EQ(stats.retries, 0U);
}

TEST_F(db_executor, a_coroutine_resumes_on_its_own_io_context_thread) {
  // Declared first: the executor must go before the io_context its coroutines run on.
  asio::io_context ioc;
  executor db(settings());
  std::thread::id body_thread;
  std::thread::id before;
  std::thread::id after;
  auto future = asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<int> {
        before = std::this_thread::get_id();
        const int value = co_await db.transact([&](pqxx::work& tx) {
          body_thread = std::this_thread::get_id();
          return tx.exec1("SELECT 5")[0].as<int>();
        });
        after = std::this_thread::get_id();
        co_await db.transact([](pqxx::work& tx) { tx.exec("SELECT 1"); });  // void body
        EXPECT_EQ(std::this_thread::get_id(), before);
        co_return value;
      },
      asio::use_future);
  std::thread io([&] { ioc.run(); });
  const std::thread::id io_thread = io.get_id();
  io.join();

  EXPECT_EQ(future.get(), 5);
  EXPECT_EQ(before, io_thread);
  EXPECT_EQ(after, io_thread);
  EXPECT_NE(body_thread, io_thread);
  EXPECT_NE(body_thread, std::thread::id());
}

TEST_F(db_executor, exceptions_reach_the_awaiting_coroutine) {
  // Declared first: the executor must go before the io_context its coroutines run on.
  asio::io_context ioc;
  executor db(settings());
  const bool caught = run(ioc, [&]() -> asio::awaitable<bool> {
    try {
      co_await db.transact([](pqxx::work& tx) { return tx.exec1("SELECT 1/0")[0].as<int>(); });
    } catch (const pqxx::data_exception&) {
      co_return true;
    }
    co_return false;
  }());
  EXPECT_TRUE(caught);
}

TEST_F(db_executor, sessions_carry_the_pool_settings_and_transactions_their_mode) {
  auto s = settings();
  s.statement_timeout = std::chrono::milliseconds(1234);
  executor db(s);
  const auto session = db.transact_sync([](pqxx::work& tx) {
    const auto row = tx.exec1(
        "SELECT current_setting('application_name'), current_setting('statement_timeout'), "
        "current_setting('transaction_isolation'), current_setting('transaction_read_only')");
    return std::vector<std::string>{row[0].c_str(), row[1].c_str(), row[2].c_str(), row[3].c_str()};
  });
  EXPECT_EQ(session, (std::vector<std::string>{"pagohubd", "1234ms", "read committed", "off"}));

  const auto mode = [&](isolation level, access how) {
    return db.transact_sync(
        [](pqxx::work& tx) {
          const auto row = tx.exec1(
              "SELECT current_setting('transaction_isolation') || ' ' || "
              "current_setting('transaction_read_only')");
          return row[0].as<std::string>();
        },
        level, how);
  };
  EXPECT_EQ(mode(isolation::serializable, access::read_write), "serializable off");
  EXPECT_EQ(mode(isolation::serializable, access::read_only), "serializable on");
  EXPECT_EQ(mode(isolation::repeatable_read, access::read_write), "repeatable read off");
  EXPECT_EQ(mode(isolation::read_committed, access::read_only), "read committed on");
  EXPECT_THROW(db.transact_sync([](pqxx::work& tx) { tx.exec0("CREATE TABLE nope (v integer)"); },
                                isolation::read_committed, access::read_only),
               pqxx::sql_error);
}

TEST_F(db_executor, uri_conninfos_work_and_keep_their_application_name) {
  std::string uri;
  {
    executor probe(settings(1));
    uri = probe.transact_sync([](pqxx::work& tx) {
      const auto row = tx.exec1(
          "SELECT current_setting('unix_socket_directories'), current_setting('port'), "
          "current_database()");
      return "postgresql://postgres@/" + row[2].as<std::string>() +
             "?host=" + row[0].as<std::string>() + "&port=" + row[1].as<std::string>() +
             "&application_name=pagohubd-test";
    });
  }
  pool_settings s;
  s.conninfo = uri;
  s.size = 1;
  executor db(s);
  EXPECT_EQ(db.transact_sync([](pqxx::work& tx) {
    return tx.exec1("SELECT current_setting('application_name')")[0].as<std::string>();
  }),
            "pagohubd-test");

  s.conninfo = "host='unterminated";
  EXPECT_THROW(executor{s}, std::invalid_argument);
}

TEST_F(db_executor, the_statement_timeout_cancels_and_is_not_retried) {
  auto s = settings();
  s.statement_timeout = std::chrono::milliseconds(100);
  executor db(s);
  EXPECT_THROW(db.transact_sync([](pqxx::work& tx) { tx.exec("SELECT pg_sleep(5)"); }),
               pqxx::sql_error);
  EXPECT_EQ(db.stats().retries, 0U);
  EXPECT_EQ(db.stats().failures, 1U);
}

// A stop lets a running transaction finish for a while, then has the server cancel it: a
// transaction waiting for a lock or a slow server must not hold a daemon's stop for as long
// as it lasts. The transaction rolls back and its caller hears so.
TEST_F(db_executor, stop_cancels_a_transaction_that_outlasts_its_patience) {
  executor db(settings(1));
  std::string sqlstate;
  std::thread caller([&] {
    try {
      db.transact_sync([](pqxx::work& tx) { tx.exec("SELECT pg_sleep(60)"); });
    } catch (const pqxx::sql_error& e) {
      sqlstate = e.sqlstate();
    }
  });
  pqxx::connection watcher(conninfo());
  for (int i = 0; i < 500; ++i) {
    pqxx::nontransaction n(watcher);
    if (!n.exec("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'").empty())
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  db.stop(std::chrono::milliseconds(100));
  caller.join();
  EXPECT_EQ(sqlstate, "57014");  // query_canceled
}

// The stop's cancel is sent again until the body ends: one that reaches the server while the
// body is between two statements is dropped there, and the next statement must not then run
// for as long as it likes.
TEST_F(db_executor, stop_cancels_a_body_caught_between_two_statements) {
  executor db(settings(1));
  std::atomic<bool> first_done{false};
  std::string sqlstate;
  std::thread caller([&] {
    try {
      db.transact_sync([&](pqxx::work& tx) {
        tx.exec("SELECT 1");
        first_done = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(400));  // the stop cancels now
        tx.exec("SELECT pg_sleep(60)");
      });
    } catch (const pqxx::sql_error& e) {
      sqlstate = e.sqlstate();
    } catch (const std::exception& e) {
      sqlstate = e.what();
    }
  });
  while (!first_done) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  db.stop(std::chrono::milliseconds(100));
  caller.join();
  EXPECT_EQ(sqlstate, "57014");  // query_canceled
}

// Write skew under SERIALIZABLE: each transaction reads both rows, then takes one doctor off
// call if two are on call. Run concurrently, one must fail to serialize; the executor's retry
// re-runs it, it sees the other's commit and leaves its doctor on call.
TEST_F(db_executor, a_serialization_failure_is_retried_until_both_succeed) {
  // Declared first: the executor must go before the io_context its coroutines run on.
  asio::io_context ioc;
  executor db(settings(2));
  db.transact_sync([](pqxx::work& tx) {
    tx.exec0("CREATE TABLE doctors (id integer PRIMARY KEY, on_call boolean NOT NULL)");
    tx.exec0("INSERT INTO doctors VALUES (1, true), (2, true)");
  });

  std::mutex mutex;
  std::condition_variable cv;
  int arrived = 0;
  // Both first attempts read before either writes; later attempts run freely.
  const auto rendezvous = [&] {
    std::unique_lock lock(mutex);
    ++arrived;
    cv.notify_all();
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return arrived >= 2; });
  };
  std::atomic<int> attempts{0};
  const auto go_off_call = [&](int doctor) {
    return [&, doctor, first = true](pqxx::work& tx) mutable {
      attempts.fetch_add(1);
      const int on_call = tx.exec1("SELECT count(*) FROM doctors WHERE on_call")[0].as<int>();
      if (first) {
        first = false;
        if (!rendezvous()) throw std::runtime_error("the other transaction never arrived");
      }
      if (on_call >= 2) {
        tx.exec_params0("UPDATE doctors SET on_call = false WHERE id = $1", doctor);
        return true;
      }
      return false;
    };
  };

  auto a =
      asio::co_spawn(ioc, db.transact(go_off_call(1), isolation::serializable), asio::use_future);
  auto b =
      asio::co_spawn(ioc, db.transact(go_off_call(2), isolation::serializable), asio::use_future);
  ioc.run();
  const bool a_went = a.get();
  const bool b_went = b.get();

  EXPECT_NE(a_went, b_went) << "exactly one doctor goes off call";
  EXPECT_EQ(db.transact_sync([](pqxx::work& tx) {
    return tx.exec1("SELECT count(*) FROM doctors WHERE on_call")[0].as<int>();
  }),
            1);
  EXPECT_GE(attempts.load(), 3);
  EXPECT_GE(db.stats().retries, 1U);
  EXPECT_EQ(db.stats().failures, 0U);
}

TEST_F(db_executor, pool_gauges_under_load) {
  // Declared first: the executor must go before the io_context its coroutines run on.
  asio::io_context ioc;
  executor db(settings(2));
  constexpr int clients = 16;
  std::atomic<int> max_in_use{0};
  std::atomic<int> max_waiting{0};
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
  const auto record_max = [](std::atomic<int>& target, int value) {
    int seen = target.load();
    while (value > seen && !target.compare_exchange_weak(seen, value)) {
    }
  };

  std::vector<std::future<int>> results;
  for (int i = 0; i < clients; ++i) {
    results.push_back(asio::co_spawn(ioc, db.transact([&, i](pqxx::work& tx) {
      record_max(max_running, running.fetch_add(1) + 1);
      tx.exec("SELECT pg_sleep(0.05)");
      const auto stats = db.stats();
      record_max(max_in_use, stats.in_use);
      record_max(max_waiting, stats.waiting);
      running.fetch_sub(1);
      return i;
    }),
                                     asio::use_future));
  }
  ioc.run();
  for (int i = 0; i < clients; ++i) EXPECT_EQ(results[static_cast<std::size_t>(i)].get(), i);

  EXPECT_EQ(max_running.load(), 2) << "never more bodies at once than connections";
  EXPECT_EQ(max_in_use.load(), 2);
  EXPECT_GE(max_waiting.load(), clients / 2) << "the rest queued while two ran";
  const auto stats = db.stats();
  EXPECT_EQ(stats.size, 2);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.waiting, 0);
  EXPECT_EQ(stats.transactions, static_cast<std::uint64_t>(clients));
  EXPECT_EQ(stats.failures, 0U);
  EXPECT_TRUE(stats.connected);
}

TEST_F(db_executor, ping_answers_when_the_database_is_up) {
  // Declared first: the executor must go before the io_context its coroutines run on.
  asio::io_context ioc;
  executor db(settings());
  const auto outcome = run(ioc, db.ping());
  EXPECT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_TRUE(db.healthy());
}

}  // namespace

TEST_F(db_executor, read_runs_outside_a_transaction_block_and_resumes_on_the_io_thread) {
  // Declared first: the executor must go before the io_context its coroutines run on.
  asio::io_context ioc;
  executor db(settings());
  const auto [own, ids] = run(ioc, [&]() -> asio::awaitable<std::pair<bool, std::vector<long>>> {
    const auto before = std::this_thread::get_id();
    auto got = co_await db.read([](pqxx::transaction_base& tx) {
      // Each statement is a transaction of its own: two transaction ids.
      return std::vector<long>{tx.exec1("SELECT txid_current()")[0].as<long>(),
                               tx.exec1("SELECT txid_current()")[0].as<long>()};
    });
    co_return std::pair{std::this_thread::get_id() == before, std::move(got)};
  }());
  EXPECT_TRUE(own);
  ASSERT_EQ(ids.size(), 2U);
  EXPECT_NE(ids[0], ids[1]);
  auto owned = run(ioc, db.read([](pqxx::transaction_base&) { return std::make_unique<int>(5); }));
  ASSERT_TRUE(owned);
  EXPECT_EQ(*owned, 5);
  const bool caught = run(ioc, [&]() -> asio::awaitable<bool> {
    try {
      co_await db.read(
          [](pqxx::transaction_base& tx) { return tx.exec1("SELECT 1/0")[0].as<int>(); });
    } catch (const pqxx::data_exception&) {
      co_return true;
    }
    co_return false;
  }());
  EXPECT_TRUE(caught);
  // The session is usable for transactions afterwards.
  EXPECT_EQ(db.transact_sync([](pqxx::work& tx) { return tx.exec1("SELECT 2")[0].as<int>(); }), 2);
}
