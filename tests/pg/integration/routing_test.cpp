// Routing of outbox messages against a real PostgreSQL: by entity and application, the hand-off
// of pull messages to the feed, routing on insert by the published table (sql/0023), and
// messages taken back from an integration that no longer sends.
#include <pagohub/integration/outbox.hpp>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "delivery_fixture.hpp"

namespace {

using namespace pagohub;
using namespace pagohub::integration;
using namespace pagohub::integration::test;
using namespace std::chrono_literals;

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

TEST_F(delivery_pg, messages_of_an_entity_moved_to_another_integration_follow_it) {
  // Entity B moves from a-push (shared with A) to its own b-push: its backlog must not reach
  // the back-office that no longer serves it, and A's stays.
  const std::vector<route_entry> before = {{fc_a, "", "a-push", config::integration_mode::push},
                                           {fc_b, "", "a-push", config::integration_mode::push}};
  const std::vector<route_entry> after = {{fc_a, "", "a-push", config::integration_mode::push},
                                          {fc_b, "", "b-push", config::integration_mode::push}};
  message(fc_a, "m1", 1);
  message(fc_b, "m2", 2);
  message(fc_b, "m3", 2);
  ASSERT_EQ(tx([&](pqxx::work& w) { return route_messages(w, before, t0()); }).routed, 3);
  // The periodic pass does not look (it would read every backlog every few seconds).
  EXPECT_TRUE(tx([&](pqxx::work& w) { return unroute_stale(w, after, t0()); }).empty());
  const auto taken = tx([&](pqxx::work& w) { return unroute_stale(w, after, t0(), 5000, true); });
  EXPECT_EQ(taken, (unrouted_counts{{"a-push", 2}}));
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'deliveryUnrouted' "
                  "AND interface_params LIKE '%routed elsewhere%'"),
            1);
  EXPECT_EQ(tx([&](pqxx::work& w) { return route_messages(w, after, t0()); }).routed, 2);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key IN ('m2', 'm3') "
                  "AND integration_id = 'b-push'"),
            2);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key = 'm1' AND integration_id = 'a-push'"), 1);
  // Nothing more to move.
  EXPECT_TRUE(tx([&](pqxx::work& w) { return unroute_stale(w, after, t0(), 5000, true); }).empty());
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

}  // namespace
