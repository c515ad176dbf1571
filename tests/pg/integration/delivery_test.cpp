// Outbox delivery against a real PostgreSQL: claiming with SKIP LOCKED from two executors (each
// message once), per-position order, back-off, dead letters, resend (and the age it restarts),
// abandoned claims and stale outcomes, messages that were never sent, suspend/resume, and the
// position events written by the trigger. Routing: routing_test.cpp; the retry policy and the
// circuit breaker: policy_test.cpp.
#include <pagohub/db/executor.hpp>
#include <pagohub/integration/outbox.hpp>
#include <pagohub/integration/outbox_admin.hpp>
#include <pagohub/integration/retry_policy.hpp>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "delivery_fixture.hpp"

namespace {

using namespace pagohub;
using namespace pagohub::integration;
using namespace pagohub::integration::test;
using namespace std::chrono_literals;

TEST_F(delivery_pg, two_executors_claim_each_message_once) {
  // Six messages per position: the two daemons must also keep each position's order, never
  // holding two messages of one position at once.
  constexpr int messages = 3000;
  constexpr int positions = 500;
  sql("INSERT INTO outbox (entity_fiscal_code, kind, key, payload, created_at, position_id, "
      "application_id, integration_id) SELECT '" +
      fc_a +
      "', 'receipt', 'k' || g, '{}', "
      "'2026-03-02T09:00:00Z', g % " +
      std::to_string(positions) + ", 'tributi', 'tributi-push' FROM generate_series(1, " +
      std::to_string(messages) + ") g");
  std::vector<std::unique_ptr<db::executor>> executors;
  for (int i = 0; i < 2; ++i)
    executors.push_back(std::make_unique<db::executor>(db::pool_settings{conninfo(), 2}));
  std::mutex mutex;
  std::multiset<std::int64_t> seen;
  std::map<std::int64_t, std::int64_t> last_of_position;  // position -> last id claimed
  std::set<std::int64_t> in_flight;                       // positions claimed, not recorded
  std::atomic<int> overlapping{0}, out_of_order{0}, concurrent_in_position{0};
  auto worker = [&](int n) {
    const std::string who = "daemon-" + std::to_string(n);
    for (;;) {
      auto batch = executors[n]->transact_sync(
          [&](pqxx::work& w) { return claim_due(w, "tributi-push", 37, who, t0(), 60s); });
      if (batch.empty()) return;
      {
        std::lock_guard lock(mutex);
        for (const auto& m : batch) {
          if (seen.contains(m.id)) ++overlapping;
          seen.insert(m.id);
          const auto pos = m.position_id.value_or(-1);
          if (!in_flight.insert(pos).second) ++concurrent_in_position;
          auto& last = last_of_position[pos];
          if (m.id < last) ++out_of_order;
          last = m.id;
        }
      }
      std::vector<attempt_result> rs;
      for (const auto& m : batch)
        rs.push_back({m.id, verdict::delivered, 204, "", "", t0(), 1ms, t0(), "push",
                      "rid-" + std::to_string(m.id)});
      executors[n]->transact_sync([&](pqxx::work& w) {
        const auto n_recorded = record_results(w, "tributi-push", who, batch, rs, t0());
        // Before the commit: another daemon can claim the next message of these positions
        // only once it sees this commit.
        std::lock_guard lock(mutex);
        for (const auto& m : batch) in_flight.erase(m.position_id.value_or(-1));
        return n_recorded;
      });
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  EXPECT_EQ(overlapping.load(), 0);
  EXPECT_EQ(out_of_order.load(), 0);
  EXPECT_EQ(concurrent_in_position.load(), 0);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(messages));
  EXPECT_EQ(count("SELECT count(DISTINCT outbox_id) FROM outbox_attempts"), messages);
  EXPECT_EQ(count("SELECT count(*) FROM outbox_attempts"), messages);  // one attempt each
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'DELIVERED'"), messages);
  // Both daemons did part of the work.
  EXPECT_EQ(count("SELECT count(DISTINCT instance_id) FROM outbox_attempts"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'deliveryDelivered'"),
            messages);
  // Each outcome event carries the request id of the attempt that decided it (the id of that
  // exchange's INTERFACCIA events).
  EXPECT_EQ(count("SELECT count(*) FROM journal_events e JOIN outbox o "
                  "ON e.request_id = 'rid-' || o.id AND e.ccp = o.key "
                  "WHERE e.event_type = 'deliveryDelivered'"),
            messages);
}

TEST_F(delivery_pg, per_position_order) {
  // Position 1 has three messages, position 2 one, and one message has no position.
  message(fc_a, "p1-a", 1);
  message(fc_a, "p2-a", 2);
  message(fc_a, "p1-b", 1);
  message(fc_a, "none", std::nullopt);
  message(fc_a, "p1-c", 1);
  tx([&](pqxx::work& w) { return route_messages(w, routes(), t0()); });
  auto first = claim("tributi-push");
  std::set<std::string> keys;
  for (const auto& m : first) keys.insert(m.key);
  // The first of each position, and the message without a position (no order to keep).
  EXPECT_EQ(keys, (std::set<std::string>{"p1-a", "p2-a", "none"}));
  // Nothing more while p1-a is on its way.
  EXPECT_TRUE(claim("tributi-push").empty());
  // p1-a fails and backs off: p1-b still waits behind it.
  std::vector<claimed_message> p1a, p2a;
  for (auto& m : first) (m.key == "p1-a" ? p1a : p2a).push_back(m);
  record(p1a, verdict::retry, t0() + 10s, 503);
  record(p2a, verdict::delivered);
  EXPECT_TRUE(claim("tributi-push").empty());
  // Once p1-a is due again and delivered, p1-b, then p1-c.
  auto again = claim("tributi-push", 100, t0() + 11s);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].key, "p1-a");
  EXPECT_EQ(again[0].attempt, 2);
  record(again, verdict::delivered);
  auto next = claim("tributi-push", 100, t0() + 11s);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].key, "p1-b");
  // A dead message does not block its position for ever: the operator will resend it.
  record(next, verdict::dead, t0(), 400);
  auto last = claim("tributi-push", 100, t0() + 11s);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].key, "p1-c");
}

TEST_F(delivery_pg, an_answer_with_a_status_http_does_not_define_is_recorded) {
  // A broken proxy answering "HTTP/1.1 999": the attempt is recorded, without the status the
  // columns could not hold, and the message is retried as for any answer that is not HTTP's.
  message(fc_a, "odd", 1);
  tx([&](pqxx::work& w) { return route_messages(w, routes(), t0()); });
  const auto batch = claim("tributi-push");
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(record(batch, verdict::retry, t0() + 10s, 999), 1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key = 'odd' AND state = 'PENDING' "
                  "AND last_status IS NULL AND last_error = 'HTTP 999'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox_attempts WHERE http_status IS NULL"), 1);
}

TEST_F(delivery_pg, backoff_dead_letter_and_resend) {
  message(fc_a, "r1", 1);
  tx([&](pqxx::work& w) { return route_messages(w, routes(), t0()); });
  auto m = claim("tributi-push");
  ASSERT_EQ(m.size(), 1u);
  record(m, verdict::retry, t0() + 30s, 500);
  EXPECT_EQ(sql("SELECT state, attempts, last_status, last_error FROM outbox")[0][0].c_str(),
            std::string("PENDING"));
  EXPECT_TRUE(claim("tributi-push", 10, t0() + 29s).empty());  // not due yet
  m = claim("tributi-push", 10, t0() + 30s);
  ASSERT_EQ(m.size(), 1u);
  record(m, verdict::dead, t0(), 400);
  const auto row =
      sql("SELECT state, attempts, last_status, last_error, dead_at IS NOT NULL "
          "FROM outbox")[0];
  EXPECT_EQ(row[0].c_str(), std::string("DEAD"));
  EXPECT_EQ(row[1].as<int>(), 2);
  EXPECT_EQ(row[2].as<int>(), 400);
  EXPECT_TRUE(row[4].as<bool>());
  EXPECT_EQ(count("SELECT count(*) FROM outbox_attempts WHERE outcome = 'DEAD' "
                  "AND response_body LIKE '%bad receipt%'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'deliveryDead' "
                  "AND actor_kind = 'system'"),
            1);
  EXPECT_TRUE(claim("tributi-push", 10, t0() + 1h).empty());

  // The operator sees it, with its attempts, and sends it again.
  delivery_filter scope;
  scope.scope = {fc_a};
  delivery_filter dead = scope;
  dead.state = "DEAD";
  auto page = tx([&](pqxx::work& w) { return list_deliveries(w, dead, std::nullopt, 10); });
  ASSERT_EQ(page.items.size(), 1u);
  const auto id = page.items[0].id;
  auto detail = tx([&](pqxx::work& w) { return get_delivery(w, scope, id); });
  ASSERT_TRUE(detail);
  ASSERT_EQ(detail->attempts.size(), 2u);
  EXPECT_EQ(detail->attempts[1].http_status, 400);
  // Another entity's operator does not see it.
  delivery_filter other;
  other.scope = {fc_b};
  EXPECT_FALSE(tx([&](pqxx::work& w) { return get_delivery(w, other, id); }));
  auto resent = tx([&](pqxx::work& w) {
    return resend_one(w, other, id, journal::actor{"operator", "ops"}, "x", t0());
  });
  EXPECT_FALSE(resent);
  resent = tx([&](pqxx::work& w) {
    return resend_one(w, scope, id, journal::actor{"operator", "ops"}, "fixed upstream", t0());
  });
  ASSERT_TRUE(resent) << resent.error().message;
  EXPECT_EQ(resent->state, "PENDING");
  EXPECT_EQ(resent->attempts, 0);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'deliveryResent' "
                  "AND actor_kind = 'operator' AND actor_id = 'ops'"),
            1);
  // Routed afresh, then delivered.
  tx([&](pqxx::work& w) { return route_messages(w, routes(), t0()); });
  m = claim("tributi-push", 10, t0() + 1h);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].attempt, 1);
  // Being delivered: a resend is a conflict.
  auto busy = tx([&](pqxx::work& w) {
    return resend_one(w, scope, id, journal::actor{"operator", "ops"}, "", t0());
  });
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, core::errc::conflict);
  record(m, verdict::delivered);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'DELIVERED'"), 1);
}

TEST_F(delivery_pg, resend_matching_moves_dead_letters_back) {
  for (int i = 0; i < 5; ++i) message(fc_a, "d" + std::to_string(i), 10 + i);
  message(fc_b, "other", 99);
  sql("UPDATE outbox SET state = 'DEAD', dead_at = now(), attempts = 3, integration_id = 'x'");
  delivery_filter f;
  f.scope = {fc_a};
  auto missing_state = tx([&](pqxx::work& w) {
    return resend_matching(w, f, journal::actor{"operator", "ops"}, "", t0());
  });
  ASSERT_FALSE(missing_state);
  EXPECT_EQ(missing_state.error().path, "/state");
  f.state = "DEAD";
  auto n = tx([&](pqxx::work& w) {
    return resend_matching(w, f, journal::actor{"operator", "ops"}, "bulk", t0());
  });
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 5);  // the other entity's message is out of scope
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'PENDING' AND attempts = 0 "
                  "AND integration_id IS NULL"),
            5);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'DEAD'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'deliveryResent'"), 5);
}

TEST_F(delivery_pg, a_requeued_message_gets_its_max_age_again) {
  // Written at 09:00, refused at once, requeued four days later: older than max_age (72 h)
  // since it was written, but its attempts start again now, and so does its age.
  message(fc_a, "r1", 1);
  message(fc_a, "r2", 2);
  tx([&](pqxx::work& w) { return route_messages(w, routes(), t0()); });
  auto m = claim("tributi-push");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].retry_since, m[0].created_at);  // never resent: its age counts from its write
  record(m, verdict::dead, t0(), 400);
  const auto later = t0() + std::chrono::hours(96);
  delivery_filter f;
  f.scope = {fc_a};
  f.state = "DEAD";
  ASSERT_EQ(*tx([&](pqxx::work& w) {
    return resend_matching(w, f, journal::actor{"operator", "ops"}, "fixed", later);
  }),
            2);
  tx([&](pqxx::work& w) { return route_messages(w, routes(), later); });
  m = claim("tributi-push", 10, later);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].attempt, 1);
  EXPECT_EQ(m[0].retry_since, later);
  // A transient failure now is retried, not DEAD "after 1 attempts".
  EXPECT_FALSE(exhausted(m[0].attempt, m[0].retry_since, later + 1min, policy()));
  EXPECT_TRUE(exhausted(m[0].attempt, m[0].created_at, later + 1min, policy()));
  // The age still ends: 72 hours after the requeue.
  EXPECT_TRUE(exhausted(m[0].attempt, m[0].retry_since, later + 72h, policy()));
  // One message resent on its own gets the same.
  record(m, verdict::dead, later, 400);
  const auto id = m[1].id;
  const auto again = later + 1h;
  delivery_filter scope;
  scope.scope = {fc_a};
  ASSERT_TRUE(tx([&](pqxx::work& w) {
    return resend_one(w, scope, id, journal::actor{"operator", "ops"}, "once more", again);
  }));
  tx([&](pqxx::work& w) { return route_messages(w, routes(), again); });
  m = claim("tributi-push", 10, again);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].id, id);
  EXPECT_EQ(m[0].retry_since, again);
}

TEST_F(delivery_pg, abandoned_claims_come_back) {
  message(fc_a, "r1", 1);
  tx([&](pqxx::work& w) { return route_messages(w, routes(), t0()); });
  ASSERT_EQ(claim("tributi-push", 10, t0(), "crashed").size(), 1u);
  EXPECT_EQ(tx([&](pqxx::work& w) { return release_expired_claims(w, t0() + 30s); }), 0);
  EXPECT_EQ(tx([&](pqxx::work& w) { return release_expired_claims(w, t0() + 61s); }), 1);
  auto m = claim("tributi-push", 10, t0() + 61s, "d2");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].attempt, 2);
  // The crashed daemon's late result does not overwrite the new claim.
  record(m, verdict::delivered, t0(), 204, "crashed");
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'DELIVERING' AND claimed_by = 'd2'"),
            1);
}

TEST_F(delivery_pg, a_stale_outcome_does_not_land_on_the_next_claim) {
  message(fc_a, "r1", 1);
  tx([&](pqxx::work& w) { return route_messages(w, routes(), t0()); });
  // The same daemon claims the message twice: its first batch outlived the lease.
  const auto first = claim("tributi-push", 10, t0(), "d1");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(tx([&](pqxx::work& w) { return release_expired_claims(w, t0() + 61s); }), 1);
  const auto second = claim("tributi-push", 10, t0() + 61s, "d1");
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(second[0].attempt, 2);
  // The first batch's late outcome changes nothing: no state, no attempt row, no event.
  EXPECT_EQ(record(first, verdict::dead, t0(), 400, "d1"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'DELIVERING' AND claimed_by = 'd1' "
                  "AND attempts = 2"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox_attempts"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type IN "
                  "('deliveryDelivered', 'deliveryDead')"),
            0);
  // The current claim's outcome is recorded.
  EXPECT_EQ(record(second, verdict::delivered), 1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'DELIVERED' AND attempts = 2"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox_attempts WHERE attempt = 2 "
                  "AND outcome = 'DELIVERED'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox_attempts"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'deliveryDelivered'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'deliveryDead'"), 0);
}

TEST_F(delivery_pg, a_message_not_sent_goes_back_as_it_was) {
  message(fc_a, "r1", 1);
  message(fc_a, "r2", 2);
  tx([&](pqxx::work& w) { return route_messages(w, routes(), t0()); });
  auto m = claim("tributi-push");
  ASSERT_EQ(m.size(), 2u);
  record(m, verdict::retry, t0() + 30s, 503);
  m = claim("tributi-push", 10, t0() + 30s);
  ASSERT_EQ(m.size(), 2u);
  ASSERT_EQ(m[0].attempt, 2);
  // One message went and was delivered; the other found no connection in the batch's time.
  std::vector<attempt_result> rs(2);
  rs[0].id = m[0].id;
  rs[0].outcome = verdict::delivered;
  rs[0].http_status = 204;
  rs[0].started = t0() + 30s;
  rs[0].request_id = "rid-sent";
  rs[1].id = m[1].id;
  rs[1].sent = false;
  rs[1].started = t0() + 31s;
  rs[1].error = "no free connection to bo in time";
  EXPECT_EQ(
      tx([&](pqxx::work& w) { return record_results(w, "tributi-push", "d1", m, rs, t0() + 32s); }),
      2);
  const std::string held = "'" + m[1].key + "'";
  // Back to PENDING, due when it was, its attempt given back, its last outcome untouched.
  const auto row =
      sql("SELECT state, attempts, last_status, last_error, "
          "next_attempt_at = '2026-03-02T10:00:30Z'::timestamptz, claimed_by IS NULL, "
          "last_attempt_at = '2026-03-02T10:00:00Z'::timestamptz FROM outbox WHERE key = " +
          held)[0];
  EXPECT_EQ(row[0].c_str(), std::string("PENDING"));
  EXPECT_EQ(row[1].as<int>(), 1);
  EXPECT_EQ(row[2].as<int>(), 503);
  EXPECT_EQ(row[3].c_str(), std::string("HTTP 503"));
  EXPECT_TRUE(row[4].as<bool>());
  EXPECT_TRUE(row[5].as<bool>());
  EXPECT_TRUE(row[6].as<bool>());
  // No attempt row and no event for it; the delivered one has both.
  EXPECT_EQ(count("SELECT count(*) FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id "
                  "WHERE o.key = " +
                  held),
            1);  // the 503 of the first round only
  EXPECT_EQ(count("SELECT count(*) FROM outbox_attempts"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'deliveryDelivered' "
                  "AND request_id = 'rid-sent'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type IN "
                  "('deliveryDelivered', 'deliveryDead')"),
            1);
  // It is claimed again at once, at the same attempt number.
  const auto again = claim("tributi-push", 10, t0() + 32s);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].key, m[1].key);
  EXPECT_EQ(again[0].attempt, 2);
}

TEST_F(delivery_pg, integration_state_is_journaled) {
  auto rt = tx([&](pqxx::work& w) {
    return set_integration_state(w, "tributi-push", true, journal::actor{"admin", "root"},
                                 "back-office maintenance", t0());
  });
  EXPECT_TRUE(rt.suspended);
  auto states = tx([&](pqxx::work& w) { return suspended_states(w); });
  EXPECT_TRUE(states["tributi-push"]);
  tx([&](pqxx::work& w) {
    return set_integration_state(w, "tributi-push", false, journal::actor{"admin", "root"}, "",
                                 t0());
  });
  states = tx([&](pqxx::work& w) { return suspended_states(w); });
  EXPECT_FALSE(states["tributi-push"]);
  EXPECT_EQ(
      count("SELECT count(*) FROM journal_events WHERE event_type IN ('integrationSuspended', "
            "'integrationResumed') AND actor_id = 'root'"),
      2);
}

TEST_F(delivery_pg, cancelled_and_expired_positions_become_events) {
  sql("INSERT INTO positions (entity_fiscal_code, application_id, external_id, status, "
      "debtor_type, debtor_fiscal_code, debtor_full_name, description, service_code, "
      "reference_year, due_date, created_at, updated_at) VALUES "
      "('" +
      fc_a +
      "', 'tributi', 'TARI-1', 'VALID', 'F', 'ANONIMO', 'Mario Rossi', 'TARI', "
      "'TARI', 2026, '2026-04-30', now(), now()), "
      "('" +
      fc_a +
      "', 'tributi', 'TARI-2', 'VALID', 'F', 'ANONIMO', 'Mario Rossi', 'TARI', "
      "'TARI', 2026, '2026-04-30', now(), now())");
  sql("UPDATE positions SET status = 'CANCELLED' WHERE external_id = 'TARI-1'");
  sql("UPDATE positions SET status = 'EXPIRED' WHERE external_id = 'TARI-2'");
  sql("UPDATE positions SET status = 'CANCELLED' WHERE external_id = 'TARI-1'");  // no change
  const auto rows =
      sql("SELECT kind, application_id, payload->>'positionExternalId', "
          "payload->>'previousStatus' FROM outbox ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].c_str(), std::string("position.cancelled"));
  EXPECT_EQ(rows[0][1].c_str(), std::string("tributi"));
  EXPECT_EQ(rows[0][2].c_str(), std::string("TARI-1"));
  EXPECT_EQ(rows[0][3].c_str(), std::string("VALID"));
  EXPECT_EQ(rows[1][0].c_str(), std::string("position.expired"));

  // Brought back by a replacement (its version moves on) and expired again: announced again,
  // under a key of its own, the first expiry's left as it was.
  sql("UPDATE positions SET status = 'VALID', version = version + 1 WHERE external_id = 'TARI-2'");
  sql("UPDATE positions SET status = 'EXPIRED' WHERE external_id = 'TARI-2'");
  const auto expired =
      sql("SELECT o.key, o.payload->>'eventId' = o.key, p.version FROM outbox o "
          "JOIN positions p ON p.id = o.position_id "
          "WHERE o.kind = 'position.expired' ORDER BY o.id");
  ASSERT_EQ(expired.size(), 2u);
  const std::string id = sql("SELECT id FROM positions WHERE external_id = 'TARI-2'")[0][0].c_str();
  EXPECT_EQ(expired[0][0].c_str(), "position-" + id + "-expired");
  EXPECT_EQ(expired[1][0].c_str(),
            "position-" + id + "-expired-" + std::string(expired[1][2].c_str()));
  EXPECT_TRUE(expired[1][1].as<bool>());
}

}  // namespace
