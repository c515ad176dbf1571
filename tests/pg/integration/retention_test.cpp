// [outbox] retention_days against a real PostgreSQL: messages that ended long enough ago go,
// with their attempts; open ones, and those that ended since, stay (docs/integration.md).
#include <pagohub/integration/outbox.hpp>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "delivery_fixture.hpp"

namespace {

using namespace pagohub;
using namespace pagohub::integration;
using namespace pagohub::integration::test;
using namespace std::chrono_literals;

TEST_F(delivery_pg, messages_that_ended_before_the_retention_go_with_their_attempts) {
  for (const char* key : {"old-delivered", "old-dead", "new-delivered", "pending", "delivering"})
    message(fc_a, key, 1);
  sql("UPDATE outbox SET integration_id = 'tributi-push'");
  // Ended 40 days before t0, or 5 days before it; the open ones are as old as the oldest.
  sql("UPDATE outbox SET state = 'DELIVERED', delivered_at = '2026-01-21T10:00:00Z', "
      "delivered_via = 'push' WHERE key = 'old-delivered'");
  sql("UPDATE outbox SET state = 'DEAD', dead_at = '2026-01-21T10:00:00Z' WHERE key = 'old-dead'");
  sql("UPDATE outbox SET state = 'DELIVERED', delivered_at = '2026-02-25T10:00:00Z', "
      "delivered_via = 'push' WHERE key = 'new-delivered'");
  sql("UPDATE outbox SET state = 'DELIVERING', claimed_by = 'd1', "
      "claimed_until = '2026-01-21T10:05:00Z' WHERE key = 'delivering'");
  sql("INSERT INTO outbox_attempts (outbox_id, entity_fiscal_code, integration_id, attempt, "
      "started_at, duration_ms, outcome) SELECT id, entity_fiscal_code, 'tributi-push', 1, "
      "'2026-01-21T10:00:00Z', 12, 'DELIVERED' FROM outbox");

  const auto before = t0() - std::chrono::days(30);
  EXPECT_EQ(tx([&](pqxx::work& w) { return purge_finished(w, before, 1); }), 1);
  EXPECT_EQ(tx([&](pqxx::work& w) { return purge_finished(w, before, 1000); }), 1);
  EXPECT_EQ(tx([&](pqxx::work& w) { return purge_finished(w, before, 1000); }), 0);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key LIKE 'old-%'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM outbox"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM outbox_attempts"), 3);  // the kept messages'

  // A row another transaction holds (a resend in progress) is left for the next run.
  message(fc_a, "held", 1);
  sql("UPDATE outbox SET state = 'DEAD', dead_at = '2026-01-21T10:00:00Z' WHERE key = 'held'");
  pqxx::connection other(conninfo());
  pqxx::work holding(other);
  holding.exec("SELECT 1 FROM outbox WHERE key = 'held' FOR UPDATE");
  EXPECT_EQ(tx([&](pqxx::work& w) { return purge_finished(w, before, 1000); }), 0);
  holding.commit();
  EXPECT_EQ(tx([&](pqxx::work& w) { return purge_finished(w, before, 1000); }), 1);
}

}  // namespace
