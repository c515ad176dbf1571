// Prepared statements through the executor (db/prepared.hpp): prepared once per connection,
// prepared again on the fresh connection after a lost one, and bodies that take any transaction
// get their isolation level and access mode in the BEGIN itself.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <string>

#include "pagohub/db/executor.hpp"
#include "pagohub/db/prepared.hpp"
#include "support/pg_database.hpp"

namespace {

using pagohub::db::access;
using pagohub::db::executor;
using pagohub::db::isolation;
using pagohub::db::pool_settings;
using pagohub::db::statement;

constexpr statement add_one{"test.add_one", "SELECT $1::integer + 1"};
constexpr statement count_prepared{"test.count_prepared",
                                   "SELECT count(*) FROM pg_prepared_statements WHERE name = $1"};

class db_prepared : public pagohub::test_support::pg_test {
 protected:
  pool_settings settings() const {
    pool_settings s;
    s.conninfo = conninfo();
    s.size = 1;
    return s;
  }
};

TEST_F(db_prepared, a_statement_is_prepared_once_per_connection) {
  executor db(settings());
  for (int i = 0; i < 3; ++i) {
    const int v = db.transact_sync([&](pqxx::work& w) {
      return pagohub::db::exec_prepared(w, add_one, i).at(0).at(0).as<int>();
    });
    EXPECT_EQ(v, i + 1);
  }
  const int prepared = db.transact_sync([](pqxx::work& w) {
    return pagohub::db::exec_prepared(w, count_prepared, std::string(add_one.name))
        .at(0)
        .at(0)
        .as<int>();
  });
  EXPECT_EQ(prepared, 1);
}

TEST_F(db_prepared, a_statement_works_again_after_the_connection_was_lost) {
  executor db(settings());
  EXPECT_EQ(db.transact_sync([](pqxx::work& w) {
    return pagohub::db::exec_prepared(w, add_one, 1).at(0).at(0).as<int>();
  }),
            2);
  // The session dies mid-transaction; the executor reconnects and retries on a connection that
  // has never seen the statement.
  std::atomic<int> attempts{0};
  const int v = db.transact_sync([&](pqxx::work& w) {
    if (attempts.fetch_add(1) == 0) w.exec("SELECT pg_terminate_backend(pg_backend_pid())");
    return pagohub::db::exec_prepared(w, add_one, 41).at(0).at(0).as<int>();
  });
  EXPECT_EQ(v, 42);
  EXPECT_EQ(attempts.load(), 2);
  EXPECT_EQ(db.stats().reconnects, 1U);
}

TEST_F(db_prepared, one_name_for_two_statements_is_refused) {
  executor db(settings());
  constexpr statement other{"test.add_one", "SELECT $1::integer + 2"};
  EXPECT_THROW(db.transact_sync([&](pqxx::work& w) {
    pagohub::db::exec_prepared(w, add_one, 1);
    pagohub::db::exec_prepared(w, other, 1);
  }),
               pqxx::argument_error);
}

TEST_F(db_prepared, any_transaction_bodies_get_their_mode_from_begin) {
  executor db(settings());
  const auto mode = [&](isolation level, access how) {
    return db.transact_sync(
        [](pqxx::transaction_base& tx) {
          return tx
              .exec1(
                  "SELECT current_setting('transaction_isolation') || ' ' || "
                  "current_setting('transaction_read_only')")[0]
              .as<std::string>();
        },
        level, how);
  };
  EXPECT_EQ(mode(isolation::read_committed, access::read_write), "read committed off");
  EXPECT_EQ(mode(isolation::read_committed, access::read_only), "read committed on");
  EXPECT_EQ(mode(isolation::repeatable_read, access::read_only), "repeatable read on");
  EXPECT_EQ(mode(isolation::serializable, access::read_write), "serializable off");
  EXPECT_THROW(db.transact_sync(
                   [](pqxx::transaction_base& tx) { tx.exec0("CREATE TABLE nope (v integer)"); },
                   isolation::read_committed, access::read_only),
               pqxx::sql_error);
  // A read-write body of this kind commits like any other.
  db.transact_sync([](pqxx::dbtransaction& tx) { tx.exec0("CREATE TABLE yes (v integer)"); });
  EXPECT_EQ(db.transact_sync([](pqxx::work& tx) {
    return tx.exec1("SELECT count(*) FROM pg_tables WHERE tablename = 'yes'")[0].as<int>();
  }),
            1);
}

}  // namespace
