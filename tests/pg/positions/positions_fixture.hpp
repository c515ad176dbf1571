#pragma once
// A migrated database of one's own per test, a connection to it, and helpers to run the store
// inside committed transactions.
#include <pagohub/positions/store.hpp>
#include <pqxx/pqxx>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "support/pg_database.hpp"
#include "support/transaction.hpp"
#include "unit/positions/sample.hpp"

namespace pagohub::positions::testing {

/// 2025-03-01T10:00:00Z: "today" (Europe/Rome) is 2025-03-01, like the unit tests'.
inline timestamp test_now() {
  using namespace std::chrono;
  return sys_days(ymd(2025, 3, 1)) + hours(10);
}

inline actor app_actor(const std::string& app = "tari-bo") {
  return actor{"application", app, "req-0001"};
}

class positions_pg : public test_support::migrated_pg_test {
 protected:
  void SetUp() override {
    migrated_pg_test::SetUp();
    if (IsSkipped()) return;
    connection_.emplace(conninfo());
  }

  void TearDown() override {
    connection_.reset();
    test_support::pg_test::TearDown();
  }

  pqxx::connection& conn() { return *connection_; }

  /// Runs f(work) in a transaction and commits it.
  template <class F>
  auto tx(F f) {
    return test_support::committed(conn(), std::move(f));
  }

  /// upsert in its own transaction; an error throws, which fails the test (and stops it before
  /// it reads a result that is not there).
  upsert_outcome store(const position& p, const config::entity& e = own_entity(),
                       const std::string& app = "tari-bo", timestamp now = test_now()) {
    auto r = tx([&](pqxx::work& w) { return upsert(w, e, app, p, app_actor(app), now); });
    if (!r) {
      throw std::runtime_error("upsert failed: " + r.error().path + " " + r.error().message);
    }
    return *std::move(r);
  }

  core::result<upsert_outcome> try_store(const position& p, const config::entity& e = own_entity(),
                                         const std::string& app = "tari-bo",
                                         timestamp now = test_now()) {
    return tx([&](pqxx::work& w) { return upsert(w, e, app, p, app_actor(app), now); });
  }

  std::optional<position> fetch(const std::string& external_id, const std::string& entity = own_fc,
                                const std::string& app = "tari-bo") {
    return tx([&](pqxx::work& w) { return find_by_external_id(w, entity, app, external_id); });
  }

  long long count(const std::string& sql) {
    pqxx::work w(conn());
    return w.exec1(sql)[0].as<long long>();
  }

  /// Until some session of this test's database waits on a lock (at most two seconds).
  void wait_for_a_lock_wait() {
    for (int i = 0; i < 200; ++i) {
      if (count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'") > 0) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  /// What a transaction run by behind() returned, or the text of what it threw.
  template <class R>
  struct blocked_result {
    std::optional<R> value;
    std::string exception;
  };

  /// Runs `f` in a transaction of its own, on another connection and thread, while `holder`
  /// (open on yet another connection) holds what `f` will wait for; commits `holder` once
  /// something waits on a lock, then commits `f`'s transaction and returns what `f` returned.
  template <class F>
  auto behind(pqxx::work& holder, F f) -> blocked_result<std::invoke_result_t<F&, pqxx::work&>> {
    blocked_result<std::invoke_result_t<F&, pqxx::work&>> out;
    std::thread t([&] {
      try {
        pqxx::connection c(conninfo());
        pqxx::work w(c);
        out.value.emplace(f(w));
        w.commit();
      } catch (const std::exception& ex) {
        out.exception = ex.what();
      }
    });
    wait_for_a_lock_wait();
    holder.commit();
    t.join();
    return out;
  }

 private:
  std::optional<pqxx::connection> connection_;
};

}  // namespace pagohub::positions::testing
