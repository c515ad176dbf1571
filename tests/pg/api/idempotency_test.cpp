// The Idempotency-Key table on a real PostgreSQL: claim, replay, mismatch, expiry and purge,
// and two transactions claiming one key at once.

#include <support/pg_database.hpp>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <chrono>
#include <future>

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

TEST_F(idempotency_pg, a_concurrent_claim_waits_and_replays) {
  pqxx::connection first(conninfo());
  pqxx::work w1(first);
  ASSERT_EQ(claim_idempotency_key(w1, fc, "tributi", "k", request_digest("a"), t0).result,
            outcome::claimed);
  auto second = std::async(std::launch::async, [&] {
    pqxx::connection c(conninfo());
    pqxx::work w(c);
    auto r = claim_idempotency_key(w, fc, "tributi", "k", request_digest("a"), t0);
    w.commit();
    return r;
  });
  // The second claim blocks on the first transaction's row.
  EXPECT_EQ(second.wait_for(300ms), std::future_status::timeout);
  record_idempotent_response(w1, fc, "tributi", "k", 201, "{\"first\":true}", "x1");
  w1.commit();
  const auto r = second.get();
  EXPECT_EQ(r.result, outcome::replay);
  EXPECT_EQ(r.body, "{\"first\":true}");
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
