// Outbox delivery against a real PostgreSQL: routing, claiming with SKIP LOCKED from two
// executors (each message once), per-position order, back-off, dead letters, resend (and the
// age it restarts), messages left on an integration that no longer sends, abandoned claims and
// stale outcomes, messages that were never sent, suspend/resume, and the position events
// written by the trigger. Also the circuit breaker, which needs no database.
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

#include "breaker.hpp"
#include "fixture.hpp"

namespace {

using namespace pagohub;
using namespace pagohub::integration;
using namespace pagohub::integration::test;
using namespace std::chrono_literals;

const std::string fc_a = "01234567897";
const std::string fc_b = "00000000000";
const std::string fc_none = "11111111111";

class delivery_pg : public integration_pg {
 protected:
  // A receipt message for `position` (NULL: none) of application `app`.
  void message(const std::string& fc, const std::string& key, std::optional<int> position,
               const std::string& app = "tributi", const std::string& kind = "receipt") {
    sql("INSERT INTO outbox (entity_fiscal_code, kind, key, payload, created_at, position_id, "
        "application_id) VALUES ('" +
        fc + "', '" + kind + "', '" + key +
        "', '{\"noticeNumber\":\"301000000000000017\"}', '2026-03-02T09:00:00Z', " +
        (position ? std::to_string(*position) : "NULL") + ", " +
        (app.empty() ? "NULL" : "'" + app + "'") + ")");
  }

  std::vector<route_entry> routes() {
    return {{fc_a, "tributi", "tributi-push", config::integration_mode::push},
            {fc_a, "", "a-default", config::integration_mode::file},
            {fc_b, "", "b-pull", config::integration_mode::pull}};
  }

  static config::integration policy(int max_attempts = 5) {
    config::integration i;
    i.id = "tributi-push";
    i.max_attempts = max_attempts;
    i.backoff_initial = 1000ms;
    i.backoff_max = 60000ms;
    i.max_age = std::chrono::hours(72);
    return i;
  }

  std::vector<claimed_message> claim(const std::string& integration, int limit = 100,
                                     timestamp now = t0(), const std::string& who = "d1") {
    return tx([&](pqxx::work& w) { return claim_due(w, integration, limit, who, now, 60s); });
  }

  // Records `v` for each of `ms`; returns the rows the outcome was applied to.
  std::int64_t record(const std::vector<claimed_message>& ms, verdict v, timestamp next = t0(),
                      std::optional<int> status = 204, const std::string& who = "d1") {
    std::vector<attempt_result> rs;
    for (const auto& m : ms) {
      attempt_result r;
      r.id = m.id;
      r.outcome = v;
      r.http_status = status;
      r.started = t0();
      r.duration = 3ms;
      r.next_attempt_at = next;
      r.response_body = v == verdict::dead ? R"({"detail":"bad receipt"})" : "";
      r.error = v == verdict::delivered ? "" : "HTTP " + std::to_string(status.value_or(0));
      rs.push_back(r);
    }
    return tx([&](pqxx::work& w) { return record_results(w, "tributi-push", who, ms, rs, t0()); });
  }
};

TEST(retry_policy, verdicts_backoff_and_exhaustion) {
  EXPECT_EQ(judge_status(200), verdict::delivered);
  EXPECT_EQ(judge_status(204), verdict::delivered);
  EXPECT_EQ(judge_status(409), verdict::delivered);
  EXPECT_EQ(judge_status(400), verdict::dead);
  EXPECT_EQ(judge_status(404), verdict::dead);
  EXPECT_EQ(judge_status(301), verdict::dead);
  EXPECT_EQ(judge_status(408), verdict::retry);
  EXPECT_EQ(judge_status(429), verdict::retry);
  EXPECT_EQ(judge_status(500), verdict::retry);
  EXPECT_EQ(judge_status(503), verdict::retry);
  config::integration i;
  i.backoff_initial = 100ms;
  i.backoff_max = 1000ms;
  std::mt19937_64 rng(42);
  std::chrono::milliseconds biggest{0};
  for (int k = 0; k < 2000; ++k) {
    EXPECT_LE(backoff_delay(1, i, rng), 100ms);
    EXPECT_LE(backoff_delay(3, i, rng), 400ms);
    const auto d = backoff_delay(30, i, rng);
    EXPECT_LE(d, 1000ms);
    biggest = std::max(biggest, d);
  }
  EXPECT_GT(biggest, 900ms);  // full jitter spreads over the whole range
  i.max_attempts = 3;
  i.max_age = 1h;
  EXPECT_FALSE(exhausted(2, t0(), t0() + 1min, i));
  EXPECT_TRUE(exhausted(3, t0(), t0() + 1min, i));
  EXPECT_TRUE(exhausted(1, t0(), t0() + 61min, i));
  EXPECT_EQ(truncate_utf8("aé", 2), "a");  // never half a character
}

TEST(breaker, opens_after_consecutive_failures_and_sends_one_probe) {
  using detail::batch_permit;
  using detail::breaker;
  const auto t = breaker::clock_type::now();
  breaker b;
  EXPECT_EQ(b.allow(t), breaker::permit::send);
  b.record(false, false, 3, 1000ms, t);
  b.record(true, false, 3, 1000ms, t);  // a success in between resets the count
  for (int i = 0; i < 3; ++i) b.record(false, false, 3, 1000ms, t);
  EXPECT_EQ(b.state(), breaker_state::open);
  EXPECT_EQ(b.allow(t + 500ms), breaker::permit::wait);
  {
    batch_permit p(b, t + 1s);
    ASSERT_TRUE(p.probe());
    EXPECT_EQ(b.state(), breaker_state::half_open);
    EXPECT_EQ(b.allow(t + 1s), breaker::permit::wait);  // one probe at a time
    p.record(true, 3, 1000ms, t + 1s);
  }
  EXPECT_EQ(b.state(), breaker_state::closed);
  EXPECT_EQ(b.allow(t + 1s), breaker::permit::send);
}

TEST(breaker, a_probe_batch_that_records_nothing_gives_its_turn_back) {
  using detail::batch_permit;
  using detail::breaker;
  const auto t = breaker::clock_type::now();
  breaker b;
  for (int i = 0; i < 2; ++i) b.record(false, false, 2, 1000ms, t);
  ASSERT_EQ(b.state(), breaker_state::open);
  // Nothing was due: the batch ends with no outcome.
  {
    batch_permit p(b, t + 1s);
    ASSERT_TRUE(p.probe());
  }
  // The claim threw (the database went away): the permit is given back on the way out.
  try {
    batch_permit p(b, t + 1s);
    ASSERT_TRUE(p.probe());
    throw std::runtime_error("connection lost");
  } catch (const std::runtime_error&) {
  }
  // So the next batch may still probe, and its failure opens the circuit again.
  {
    batch_permit p(b, t + 1s);
    ASSERT_TRUE(p.probe());
    p.record(false, 2, 1000ms, t + 1s);
  }
  EXPECT_EQ(b.state(), breaker_state::open);
  EXPECT_EQ(b.allow(t + 1500ms), breaker::permit::wait);
  // A probe that recorded its outcome leaves alone the probe that came after it.
  std::optional<batch_permit> first(std::in_place, b, t + 2s);
  ASSERT_TRUE(first->probe());
  first->record(false, 2, 1000ms, t + 2s);
  batch_permit second(b, t + 3s);
  ASSERT_TRUE(second.probe());
  first.reset();
  EXPECT_EQ(b.allow(t + 3s), breaker::permit::wait);
  // A batch allowed to send holds nothing back.
  breaker closed;
  { batch_permit p(closed, t); }
  EXPECT_EQ(closed.allow(t), breaker::permit::send);
}

TEST_F(delivery_pg, routing_by_entity_and_application_and_pull_handoff) {
  message(fc_a, "r1", 1, "tributi");
  message(fc_a, "r2", 2, "mense");        // no integration of its own: the entity's default
  message(fc_a, "r3", std::nullopt, "");  // unknown position: the default
  message(fc_b, "r4", 4, "tributi");      // pull
  message(fc_none, "r5", 5, "tributi");   // no integration at all: stays unrouted
  auto r = tx([&](pqxx::work& w) { return route_messages(w, routes(), t0()); });
  EXPECT_EQ(r.routed, 4);
  EXPECT_EQ(r.handed_to_feed["b-pull"], 1);
  EXPECT_EQ(sql("SELECT integration_id FROM outbox WHERE key = 'r1'")[0][0].c_str(),
            std::string("tributi-push"));
  EXPECT_EQ(sql("SELECT integration_id FROM outbox WHERE key = 'r2'")[0][0].c_str(),
            std::string("a-default"));
  EXPECT_EQ(sql("SELECT integration_id FROM outbox WHERE key = 'r3'")[0][0].c_str(),
            std::string("a-default"));
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key = 'r4' AND state = 'DELIVERED' "
                  "AND delivered_via = 'pull'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key = 'r5' AND integration_id IS NULL "
                  "AND state = 'PENDING'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'deliveryHandedToFeed'"),
            1);
  // Routing again changes nothing.
  EXPECT_EQ(tx([&](pqxx::work& w) { return route_messages(w, routes(), t0()); }).routed, 0);
}

// sql/0023: with the routing table published, a message is routed as it is written, as the
// routing pass would route it; pull messages are left to the pass, which hands them to the feed.
TEST_F(delivery_pg, messages_are_routed_on_insert_by_the_published_table) {
  tx([&](pqxx::work& w) { publish_routes(w, routes()); });
  message(fc_a, "r1", 1, "tributi");
  message(fc_a, "r2", 2, "mense");        // no integration of its own: the entity's default
  message(fc_a, "r3", std::nullopt, "");  // unknown position: the default
  message(fc_b, "r4", 4, "tributi");      // pull: left to the routing pass
  message(fc_none, "r5", 5, "tributi");   // no integration at all
  const auto route_of = [&](const std::string& key) {
    return sql("SELECT coalesce(integration_id, '-') FROM outbox WHERE key = '" + key + "'")[0][0]
        .as<std::string>();
  };
  EXPECT_EQ(route_of("r1"), "tributi-push");
  EXPECT_EQ(route_of("r2"), "a-default");
  EXPECT_EQ(route_of("r3"), "a-default");
  EXPECT_EQ(route_of("r4"), "-");
  EXPECT_EQ(route_of("r5"), "-");
  // The pass has only the pull message left to do.
  auto r = tx([&](pqxx::work& w) { return route_messages(w, routes(), t0()); });
  EXPECT_EQ(r.routed, 1);
  EXPECT_EQ(r.handed_to_feed["b-pull"], 1);

  // Publishing again replaces the table: the application's route gone, its messages take the
  // entity's default; an entity's route switched to pull routes nothing on insert.
  tx([&](pqxx::work& w) {
    publish_routes(w, {{fc_a, "", "a-default", config::integration_mode::file},
                       {fc_b, "", "b-push", config::integration_mode::push},
                       {fc_none, "", "none-pull", config::integration_mode::pull}});
  });
  EXPECT_EQ(count("SELECT count(*) FROM outbox_routes"), 3);
  message(fc_a, "r6", 6, "tributi");
  message(fc_b, "r7", 7, "tributi");
  message(fc_none, "r8", 8, "tributi");
  EXPECT_EQ(route_of("r6"), "a-default");
  EXPECT_EQ(route_of("r7"), "b-push");
  EXPECT_EQ(route_of("r8"), "-");
  // An unchanged table writes nothing.
  const auto xmin = sql("SELECT string_agg(xmin::text, ',' ORDER BY entity_fiscal_code) FROM "
                        "outbox_routes")[0][0]
                        .as<std::string>();
  tx([&](pqxx::work& w) {
    publish_routes(w, {{fc_a, "", "a-default", config::integration_mode::file},
                       {fc_b, "", "b-push", config::integration_mode::push},
                       {fc_none, "", "none-pull", config::integration_mode::pull}});
  });
  EXPECT_EQ(sql("SELECT string_agg(xmin::text, ',' ORDER BY entity_fiscal_code) FROM "
                "outbox_routes")[0][0]
                .as<std::string>(),
            xmin);
}

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

TEST_F(delivery_pg, messages_of_an_integration_removed_or_switched_to_pull_are_routed_again) {
  const std::vector<route_entry> before = {
      {fc_a, "tributi", "tributi-push", config::integration_mode::push},
      {fc_a, "", "a-default", config::integration_mode::file},
      {fc_b, "", "b-push", config::integration_mode::push}};
  // Later: tributi-push is gone (the entity's default takes its messages), b-push is pull.
  const std::vector<route_entry> after = {{fc_a, "", "a-default", config::integration_mode::file},
                                          {fc_b, "", "b-push", config::integration_mode::pull}};
  message(fc_a, "r1", 1);
  message(fc_a, "r2", 1);  // behind r1: its position waits for r1
  message(fc_b, "r3", 3);
  message(fc_b, "r4", 4);
  ASSERT_EQ(tx([&](pqxx::work& w) { return route_messages(w, before, t0()); }).routed, 4);
  // r3 is on the wire when the configuration changes.
  auto r3 = claim("b-push", 1);
  ASSERT_EQ(r3.size(), 1u);
  ASSERT_EQ(r3[0].key, "r3");
  // While the configuration still has them, nothing moves.
  EXPECT_TRUE(tx([&](pqxx::work& w) { return unroute_stale(w, before, t0()); }).empty());

  const auto taken = tx([&](pqxx::work& w) { return unroute_stale(w, after, t0()); });
  EXPECT_EQ(taken, (unrouted_counts{{"b-push", 1}, {"tributi-push", 2}}));
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key = 'r3' AND state = 'DELIVERING' "
                  "AND integration_id = 'b-push'"),
            1);  // its batch decides
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'deliveryUnrouted' "
                  "AND actor_kind = 'system' AND interface_params LIKE '%messages=2%' "
                  "AND interface_params LIKE '%no longer configured%'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'deliveryUnrouted' "
                  "AND interface_params LIKE '%now in mode pull%'"),
            1);
  // Routed as the configuration now says: the default integration, and the feed for pull.
  const auto routed = tx([&](pqxx::work& w) { return route_messages(w, after, t0()); });
  EXPECT_EQ(routed.routed, 3);
  EXPECT_EQ(routed.handed_to_feed.at("b-push"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key IN ('r1', 'r2') "
                  "AND integration_id = 'a-default' AND state = 'PENDING'"),
            2);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key = 'r4' AND state = 'DELIVERED' "
                  "AND delivered_via = 'pull'"),
            1);
  // The position flows again, in order.
  const auto first = claim("a-default");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].key, "r1");
  EXPECT_TRUE(tx([&](pqxx::work& w) { return unroute_stale(w, after, t0()); }).empty());

  // The message that was on the wire follows once its claim runs out.
  EXPECT_EQ(tx([&](pqxx::work& w) { return release_expired_claims(w, t0() + 61s); }), 2);
  EXPECT_EQ(tx([&](pqxx::work& w) { return unroute_stale(w, after, t0() + 61s); }),
            (unrouted_counts{{"b-push", 1}}));
  tx([&](pqxx::work& w) { return route_messages(w, after, t0() + 61s); });
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key = 'r3' AND state = 'DELIVERED' "
                  "AND delivered_via = 'pull'"),
            1);
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
}

}  // namespace
