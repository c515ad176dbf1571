// The Idempotency-Key table on a real PostgreSQL: claim, replay, mismatch, expiry and purge,
// and two transactions claiming one key at once (the second is refused, not made to wait).

#include <support/pg_database.hpp>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <chrono>

#include "idempotency.hpp"

namespace pagohub::api {
namespace {

using namespace std::chrono_literals;
using outcome = idempotency_claim::outcome;
using time_point = std::chrono::system_clock::time_point;

const time_point t0 = time_point(std::chrono::sys_days(std::chrono::year(2026) / 3 / 1));
const std::string fc = "01234567897";

class idempotency_pg : public test_support::migrated_pg_test {
 protected:
  void SetUp() override {
    migrated_pg_test::SetUp();
    if (IsSkipped()) return;
  }

  idempotency_claim claim(pqxx::connection& c, const std::string& key, const std::string& body,
                          time_point now, const std::string& app = "tributi") {
    pqxx::work w(c);
    auto r = claim_idempotency_key(w, fc, app, key, request_digest(body), now);
    if (r.result == outcome::claimed) {
      record_idempotent_response(w, fc, app, key, 201, "{\"for\":\"" + body + "\"}", "x1");
    }
    w.commit();
    return r;
  }

  // A claim inside an open transaction, which stays open.
  static outcome take(pqxx::work& w, const std::string& key, const std::string& body,
                      const std::string& app = "tributi") {
    return claim_idempotency_key(w, fc, app, key, request_digest(body), t0).result;
  }

  long rows(pqxx::connection& c) {
    pqxx::work w(c);
    return w.exec("SELECT count(*) FROM api_idempotency_keys")[0][0].as<long>();
  }
};

TEST_F(idempotency_pg, claim_replay_mismatch_and_expiry) {
  pqxx::connection c(conninfo());
  EXPECT_EQ(claim(c, "k1", "a", t0).result, outcome::claimed);
  const auto again = claim(c, "k1", "a", t0 + 1h);
  EXPECT_EQ(again.result, outcome::replay);
  EXPECT_EQ(again.status, 201u);
  EXPECT_EQ(again.body, "{\"for\":\"a\"}");
  EXPECT_EQ(claim(c, "k1", "b", t0 + 2h).result, outcome::mismatch);
  // Scoped by application.
  EXPECT_EQ(claim(c, "k1", "b", t0, "other").result, outcome::claimed);
  // After 24 hours the key may start over, with any body.
  EXPECT_EQ(claim(c, "k1", "b", t0 + 24h).result, outcome::claimed);
  EXPECT_EQ(claim(c, "k1", "b", t0 + 25h).body, "{\"for\":\"b\"}");
}

TEST_F(idempotency_pg, a_rolled_back_claim_leaves_the_key_free) {
  pqxx::connection c(conninfo());
  {
    pqxx::work w(c);
    EXPECT_EQ(claim_idempotency_key(w, fc, "tributi", "k", request_digest("a"), t0).result,
              outcome::claimed);
    // no commit: the create failed
  }
  EXPECT_EQ(rows(c), 0);
  EXPECT_EQ(claim(c, "k", "b", t0).result, outcome::claimed);
}

TEST_F(idempotency_pg, a_concurrent_claim_is_refused_at_once_then_replays) {
  pqxx::connection first(conninfo());
  pqxx::work w1(first);
  ASSERT_EQ(take(w1, "k", "a"), outcome::claimed);
  // A retry while the first transaction is open does not wait for it (it would hold a
  // connection meanwhile): in_progress, and nothing of it stays.
  pqxx::connection c(conninfo());
  {
    pqxx::work w(c);
    EXPECT_EQ(take(w, "k", "a"), outcome::in_progress);
    // Another key, and the same key of another application, are not held up.
    EXPECT_EQ(take(w, "k2", "a"), outcome::claimed);
    EXPECT_EQ(take(w, "k", "a", "other"), outcome::claimed);
  }
  record_idempotent_response(w1, fc, "tributi", "k", 201, "{\"first\":true}", "x1");
  w1.commit();
  pqxx::work w(c);
  const auto r = claim_idempotency_key(w, fc, "tributi", "k", request_digest("a"), t0);
  EXPECT_EQ(r.result, outcome::replay);
  EXPECT_EQ(r.body, "{\"first\":true}");
}

TEST_F(idempotency_pg, a_claim_after_a_rollback_takes_the_key) {
  pqxx::connection first(conninfo());
  {
    pqxx::work w1(first);
    ASSERT_EQ(take(w1, "k", "a"), outcome::claimed);
    pqxx::connection c(conninfo());
    pqxx::work w(c);
    EXPECT_EQ(take(w, "k", "b"), outcome::in_progress);
    // w1 rolls back here: its lock goes with it.
  }
  EXPECT_EQ(claim(first, "k", "b", t0).result, outcome::claimed);
}

TEST_F(idempotency_pg, purge_deletes_only_expired_keys_in_batches) {
  pqxx::connection c(conninfo());
  for (int i = 0; i < 5; ++i) claim(c, "old-" + std::to_string(i), "a", t0);
  claim(c, "new", "a", t0 + 20h);
  pqxx::work w(c);
  EXPECT_EQ(purge_idempotency_keys(w, t0 + 23h, 10), 0);
  EXPECT_EQ(purge_idempotency_keys(w, t0 + 24h, 3), 3);
  EXPECT_EQ(purge_idempotency_keys(w, t0 + 24h, 3), 2);
  EXPECT_EQ(purge_idempotency_keys(w, t0 + 24h, 3), 0);
  w.commit();
  EXPECT_EQ(rows(c), 1);
}

}  // namespace
}  // namespace pagohub::api
