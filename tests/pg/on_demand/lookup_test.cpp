// On-demand positions against a real PostgreSQL and a back-office on loopback: the lookup stores
// and publishes what the back-office answers (journaled), answers from the store afterwards
// without asking again, and turns a slow, failing or invalid back-office into a failure that
// stores nothing (or into the stored data, when the service allows it).
#include <pagohub/core/clock.hpp>
#include <pagohub/core/notice_number.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/on_demand/lookup.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/store.hpp>

#include <support/loopback_bo.hpp>
#include <support/pg_database.hpp>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "unit/positions/sample.hpp"

namespace pagohub::integration {
namespace {

using namespace std::chrono_literals;
namespace pt = positions::testing;
using resolved = std::expected<std::optional<positions::position>, pap::on_demand_failure>;

std::string date_text(positions::date d) {
  return positions::format_date(d);
}

// A position in the REST PUT body's shape, for notice `notice`, due `due`.
std::string position_body(const std::string& notice, positions::date due, long long cents = 15000,
                          const std::string& external_id = "od-1") {
  return R"({"externalId":")" + external_id +
         R"(","debtor":{"type":"F","fiscalCode":"RSSMRA80A01H501U","fullName":"Mario Rossi"},)"
         R"("description":"TARI 2026","serviceCode":"TARI","referenceYear":2026,)"
         R"("paymentOptions":[{"kind":"SINGLE","noticeNumber":")" +
         notice + R"(","amount":)" + std::to_string(cents) + R"(,"dueDate":")" + date_text(due) +
         R"(","description":"Rata unica","transfers":[{"index":1,"amount":)" +
         std::to_string(cents) + R"(,"remittanceInformation":"TARI 2026"}]}]})";
}

class on_demand_pg : public test_support::migrated_pg_test {
 protected:
  void SetUp() override {
    migrated_pg_test::SetUp();
    if (IsSkipped()) return;
    registry_ = std::make_unique<config::registry_holder>(registry_with_budget(300));
    db_ = std::make_unique<db::executor>(db::pool_settings{conninfo(), 2});
    client_ = std::make_shared<bo_client>(ioc_.get_executor(), bo_endpoint{bo_.base_url()});
    lookup_ = std::make_unique<on_demand_lookup>(on_demand_deps{
        *db_, *registry_, clock_, [this](std::string_view id) -> std::optional<lookup_target> {
          if (id != "tari-bo") return std::nullopt;
          return lookup_target{client_, "tari-bo", active_};
        }});
  }

  void TearDown() override {
    lookup_.reset();
    client_.reset();
    if (db_) db_->stop();
    pg_test::TearDown();
  }

  // The entity with TARI (its first service) looked up at tari-bo within `budget_ms`.
  static std::shared_ptr<const config::entity_registry> registry_with_budget(int budget_ms) {
    config::entity e = pt::own_entity();
    e.services[0].lookup = "tari-bo";
    e.services[0].lookup_budget_ms = budget_ms;
    return std::make_shared<const config::entity_registry>(std::vector<config::entity>{e});
  }

  const config::entity& entity() const { return *registry_->get()->find(pt::own_fc); }

  std::string notice(std::uint64_t n) const {
    return core::notice_number::make_aux3(1, 9000000 + n).str();
  }

  positions::date in_days(int days) const {
    return positions::rome_date(clock_.now() + std::chrono::days(days));
  }

  resolved resolve(const std::string& nav, std::optional<positions::position> stored = {}) {
    auto f = boost::asio::co_spawn(
        ioc_, lookup_->resolve(entity(), nav, std::move(stored), "rid-test", received_),
        boost::asio::use_future);
    ioc_.restart();
    ioc_.run();
    return f.get();
  }

  std::optional<positions::position> stored(const std::string& nav) {
    pqxx::connection c(conninfo());
    pqxx::work w(c);
    return positions::find_by_notice(w, pt::own_fc, nav);
  }

  long long count(const std::string& sql) {
    pqxx::connection c(conninfo());
    pqxx::nontransaction w(c);
    return w.exec(sql)[0][0].as<long long>();
  }

  // Every stored position past due, as the days go by: the next verify looks it up again.
  void make_past_due() {
    pqxx::connection c(conninfo());
    pqxx::work w(c);
    w.exec("UPDATE payment_options SET due_date = current_date - 5");
    w.exec("UPDATE positions SET due_date = current_date - 5");
    w.commit();
  }

  boost::asio::io_context ioc_;
  test_support::loopback_bo bo_;
  core::system_clock clock_;
  bool active_ = true;
  std::chrono::steady_clock::time_point received_{};  ///< the Nodo's request's arrival
  std::unique_ptr<config::registry_holder> registry_;
  std::unique_ptr<db::executor> db_;
  std::shared_ptr<bo_client> client_;
  std::unique_ptr<on_demand_lookup> lookup_;
};

TEST_F(on_demand_pg, an_unknown_notice_is_fetched_stored_published_and_journaled) {
  const auto nav = notice(1);
  bo_.set(nav, {200, position_body(nav, in_days(30)), 50ms});
  const auto r = resolve(nav);
  ASSERT_TRUE(r.has_value()) << r.error().description;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->status, positions::position_status::valid);
  const auto s = stored(nav);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->application_id, "tari-bo");
  EXPECT_EQ(s->external_id, "od-1");
  EXPECT_EQ(s->options.front().amount, 15000);
  EXPECT_EQ(count("SELECT count(*) FROM position_events WHERE actor_kind = 'application' AND "
                  "actor_id = 'tari-bo'"),
            2);  // CREATED, then VALIDATED by the publish
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'onDemandLookup'"), 1);
  // What verify stored is fresh: getPayment's resolve answers from the store, no second call.
  const auto again = resolve(nav, s);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->has_value());
  EXPECT_EQ(bo_.lookups(nav), 1);
}

TEST_F(on_demand_pg, a_stale_position_is_refreshed_and_a_fresh_one_is_not_asked_for) {
  const auto nav = notice(2);
  bo_.set(nav, {200, position_body(nav, in_days(10), 12000), 0ms});
  ASSERT_TRUE(resolve(nav).has_value());
  auto s = stored(nav);
  ASSERT_TRUE(s);
  // Make it past due (as the days go by), then ask again: the amount is brought up to date.
  make_past_due();
  s = stored(nav);
  ASSERT_TRUE(needs_lookup(s, nav, clock_.now()));
  bo_.set(nav, {200, position_body(nav, in_days(20), 12345), 0ms});
  const auto r = resolve(nav, s);
  ASSERT_TRUE(r.has_value()) << r.error().description;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(stored(nav)->options.front().amount, 12345);
  EXPECT_EQ(bo_.lookups(nav), 2);
  EXPECT_FALSE(needs_lookup(stored(nav), nav, clock_.now()));
}

// A past-due position of the looked-up service that another application loaded (a bulk import)
// is that application's: the back-office is not asked, and the stored position is the answer.
TEST_F(on_demand_pg, a_position_of_another_application_is_not_asked_for) {
  const auto nav = notice(5);
  bo_.set(nav, {200, position_body(nav, in_days(10), 12000), 0ms});
  ASSERT_TRUE(resolve(nav).has_value());
  count(
      "WITH u AS (UPDATE positions SET application_id = 'imports-bo' RETURNING 1) "
      "SELECT count(*) FROM u");
  make_past_due();
  const auto s = stored(nav);
  ASSERT_TRUE(s);
  ASSERT_TRUE(needs_lookup(s, nav, clock_.now()));
  const auto r = resolve(nav, s);
  ASSERT_TRUE(r.has_value()) << r.error().description;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->application_id, "imports-bo");
  EXPECT_EQ(bo_.lookups(nav), 1);
}

// The answer for one notice names the key of a position holding another: storing it would
// replace that position's options, and a PSP that verified the other notice would find it gone.
TEST_F(on_demand_pg, an_answer_never_takes_another_positions_key) {
  const auto first = notice(3);
  bo_.set(first, {200, position_body(first, in_days(30), 12000, "od-shared"), 0ms});
  ASSERT_TRUE(resolve(first).has_value());
  ASSERT_TRUE(stored(first));

  const auto second = notice(4);
  bo_.set(second, {200, position_body(second, in_days(30), 13000, "od-shared"), 0ms});
  const auto r = resolve(second);
  ASSERT_FALSE(r.has_value());
  EXPECT_FALSE(stored(second));
  ASSERT_TRUE(stored(first));
  EXPECT_EQ(stored(first)->options.front().amount, 12000);

  // Nor may the refresh of a stale position move its notice to another key.
  make_past_due();
  bo_.set(first, {200, position_body(first, in_days(30), 12500, "od-other"), 0ms});
  const auto refreshed = resolve(first, stored(first));
  ASSERT_FALSE(refreshed.has_value());
  EXPECT_EQ(stored(first)->external_id, "od-shared");
  EXPECT_EQ(stored(first)->options.front().amount, 12000);
  EXPECT_EQ(count("SELECT count(*) FROM positions WHERE external_id = 'od-other'"), 0);
}

TEST_F(on_demand_pg, a_slow_back_office_fails_within_the_budget_and_stores_nothing) {
  const auto nav = notice(3);
  bo_.set(nav, {200, position_body(nav, in_days(30)), 2000ms});
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = resolve(nav);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().description.find("300 ms"), std::string::npos) << r.error().description;
  EXPECT_LT(took, 1000ms);
  EXPECT_FALSE(stored(nav));
}

// The read of the integration's state, once started, is bounded by the budget too: a lock queued
// on a table it reads (a migration, a VACUUM FULL) fails the lookup in time, where a statement
// left to the server's statement_timeout would hold the verify for half a minute.
TEST_F(on_demand_pg, a_state_read_held_up_by_a_lock_fails_within_the_budget) {
  const auto nav = notice(13);
  bo_.set(nav, {200, position_body(nav, in_days(30)), 0ms});
  pqxx::connection blocker(conninfo());
  pqxx::work hold(blocker);
  hold.exec("LOCK TABLE integration_states IN ACCESS EXCLUSIVE MODE");
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = resolve(nav);
  const auto took = std::chrono::steady_clock::now() - t0;
  hold.abort();
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().description.find("the integration's state could not be read"),
            std::string::npos)
      << r.error().description;
  EXPECT_LT(took, 10s);
  EXPECT_EQ(bo_.lookups(nav), 0);
  EXPECT_FALSE(stored(nav));
}

// The budget counts from the Nodo's request's arrival: what came before the lookup (the station's
// checks, the store's read, a wait for a connection) is the Nodo's time too.
TEST_F(on_demand_pg, the_budget_counts_from_the_requests_arrival) {
  const auto nav = notice(5);
  bo_.set(nav, {200, position_body(nav, in_days(30)), 0ms});
  received_ = std::chrono::steady_clock::now() - 1s;  // the 300 ms budget is gone already
  const auto late = resolve(nav);
  ASSERT_FALSE(late.has_value());
  EXPECT_FALSE(stored(nav));
  received_ = std::chrono::steady_clock::now();
  const auto r = resolve(nav);
  ASSERT_TRUE(r.has_value()) << r.error().description;
  EXPECT_TRUE(stored(nav));
}

TEST_F(on_demand_pg, a_store_held_up_past_the_verifys_time_fails_and_stores_nothing) {
  const auto nav = notice(9);
  bo_.set(nav, {200, position_body(nav, in_days(30)), 0ms});
  // Another transaction keeps every insert into positions waiting: the store's statement
  // timeout (what is left of the verify's 1.5 s) ends the wait.
  pqxx::connection blocker(conninfo());
  pqxx::work hold(blocker);
  hold.exec("LOCK TABLE positions IN SHARE MODE");
  const auto r = resolve(nav);
  hold.abort();
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().description.find("could not be stored within 1500 ms"), std::string::npos)
      << r.error().description;
  EXPECT_FALSE(stored(nav));
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'onDemandLookup'"), 0);
}

// The refresh of a stored position waits behind two other writers in turn: one holding the
// position's row, released after 900 ms, then one holding the journal's table. Each wait is shorter
// than a statement timeout of what is left of the 1.5 s; together they are not. The store is
// cancelled at the 1.5 s, not at the end of the second statement's own timeout (about 2.4 s), and
// leaves the stored position as it was.
TEST_F(on_demand_pg, a_store_held_up_by_lock_waits_in_turn_is_cancelled_at_the_verifys_time) {
  const auto nav = notice(11);
  bo_.set(nav, {200, position_body(nav, in_days(10), 12000), 0ms});
  ASSERT_TRUE(resolve(nav).has_value());
  make_past_due();
  const auto before = stored(nav);
  ASSERT_TRUE(before);
  ASSERT_TRUE(needs_lookup(before, nav, clock_.now()));
  const auto events = count("SELECT count(*) FROM position_events");
  bo_.set(nav, {200, position_body(nav, in_days(20), 12345), 0ms});

  pqxx::connection row_holder(conninfo());
  pqxx::work row(row_holder);
  row.exec("SELECT 1 FROM positions WHERE external_id = 'od-1' FOR UPDATE");
  pqxx::connection journal_holder(conninfo());
  pqxx::work journal(journal_holder);
  journal.exec("LOCK TABLE journal_events IN SHARE MODE");
  // Once the back-office has been asked again, the test sees the store wait for the row, releases
  // it after 900 ms, and sees the store wait for the journal next (the position's journal event,
  // written by position_events' trigger, sql/0016).
  std::atomic<bool> first_wait{false};
  std::atomic<bool> second_wait{false};
  std::thread releaser([&] {
    while (bo_.lookups(nav) < 2) std::this_thread::sleep_for(1ms);
    const auto asked = std::chrono::steady_clock::now();
    pqxx::connection c(conninfo());
    const auto seen = [&](const std::string& lock, std::chrono::milliseconds within) {
      const auto until = std::chrono::steady_clock::now() + within;
      do {
        pqxx::nontransaction n(c);
        if (n.exec1("SELECT count(*) FROM pg_locks WHERE NOT granted AND " + lock)[0].as<int>() > 0)
          return true;
        std::this_thread::sleep_for(5ms);
      } while (std::chrono::steady_clock::now() < until);
      return false;
    };
    first_wait = seen("locktype = 'transactionid'", 800ms);
    std::this_thread::sleep_until(asked + 900ms);
    row.abort();
    second_wait = seen("relation = 'journal_events'::regclass", 500ms);
  });
  received_ = std::chrono::steady_clock::now();
  const auto r = resolve(nav, before);
  const auto took = std::chrono::steady_clock::now() - received_;
  releaser.join();
  journal.abort();

  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().description.find("could not be stored within 1500 ms"), std::string::npos)
      << r.error().description;
  EXPECT_TRUE(first_wait.load()) << "the store waited for the row";
  EXPECT_TRUE(second_wait.load()) << "the store got past the row and waited for the journal";
  EXPECT_GE(took, 1400ms);
  EXPECT_LT(took, 2100ms) << "well before the second wait's own statement timeout ran out";
  EXPECT_EQ(db_->stats().cancelled, 1U);
  // Rolled back: the position as it was, and nothing recorded of the refresh.
  EXPECT_EQ(stored(nav)->options.front().amount, 12000);
  EXPECT_EQ(count("SELECT count(*) FROM position_events"), events);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'onDemandLookup'"), 1);
}

TEST_F(on_demand_pg, a_store_that_finds_no_free_connection_in_time_fails_and_stores_nothing) {
  const auto nav = notice(10);
  // The back-office answers after 200 ms, well within a budget of 1 s even on a loaded machine;
  // the store's time stays the verify's 1.5 s.
  registry_->set(registry_with_budget(1000));
  bo_.set(nav, {200, position_body(nav, in_days(30)), 200ms});
  // Once the back-office has the question, both connections of the pool are taken by
  // transactions that wait for the test: the store waits in the queue until what is left of the
  // verify's 1.5 s runs out, and is withdrawn.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<std::thread> holders;
  for (int i = 0; i < 2; ++i) {
    holders.emplace_back([&] {
      while (bo_.lookups(nav) == 0) std::this_thread::sleep_for(1ms);
      db_->transact_sync([&](pqxx::work& w) {
        w.exec("SELECT 1");
        released.wait();
      });
    });
  }
  const auto r = resolve(nav);
  release.set_value();
  for (auto& t : holders) t.join();
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().description.find("could not be stored within 1500 ms"), std::string::npos)
      << r.error().description;
  EXPECT_FALSE(stored(nav));
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'onDemandLookup'"), 0);
  EXPECT_EQ(db_->stats().withdrawn, 1U);
}

TEST_F(on_demand_pg, a_404_means_unknown) {
  const auto nav = notice(4);
  const auto r = resolve(nav);  // not scripted: 404
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(bo_.lookups(nav), 1);
}

TEST_F(on_demand_pg, invalid_answers_fail_and_store_nothing) {
  const auto nav = notice(5);
  bo_.set(nav, {200, "{not json", 0ms});
  auto r = resolve(nav);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().description.find("not JSON"), std::string::npos);

  // Valid JSON, but another notice.
  bo_.set(nav, {200, position_body(notice(6), in_days(30)), 0ms});
  r = resolve(nav);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().description.find("noticeNumber"), std::string::npos);

  // A rule broken: a due date in the past.
  bo_.set(nav, {200, position_body(nav, in_days(-3)), 0ms});
  r = resolve(nav);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().description.find("dueDate"), std::string::npos) << r.error().description;

  // A server error.
  bo_.set(nav, {503, "", 0ms});
  r = resolve(nav);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().description.find("HTTP 503"), std::string::npos);

  EXPECT_FALSE(stored(nav));
  EXPECT_FALSE(stored(notice(6)));
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 0);
}

TEST_F(on_demand_pg, a_suspended_or_unknown_integration_fails_and_fallback_answers_stored) {
  const auto nav = notice(7);
  bo_.set(nav, {200, position_body(nav, in_days(10)), 0ms});
  ASSERT_TRUE(resolve(nav).has_value());
  {
    pqxx::connection c(conninfo());
    pqxx::work w(c);
    w.exec("UPDATE payment_options SET due_date = current_date - 1");
    w.commit();
  }
  const auto s = stored(nav);
  active_ = false;
  auto r = resolve(nav, s);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().description.find("suspended"), std::string::npos);

  // With lookup_fallback_stored, the stored data answers instead.
  config::entity e = entity();
  e.services[0].lookup_fallback_stored = true;
  registry_->set(std::make_shared<const config::entity_registry>(std::vector<config::entity>{e}));
  r = resolve(nav, s);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->id, s->id);
}

TEST_F(on_demand_pg, an_operators_suspend_or_resume_wins_over_the_configuration) {
  const auto set_state = [&](const std::string& state) {
    pqxx::connection c(conninfo());
    pqxx::work w(c);
    w.exec_params(
        "INSERT INTO integration_states (integration_id, state, changed_at, changed_by_kind, "
        "changed_by_id) VALUES ($1, $2, now(), 'operator', 'op-1') "
        "ON CONFLICT (integration_id) DO UPDATE SET state = EXCLUDED.state",
        entity().services[0].lookup, state);
    w.commit();
  };
  const auto nav = notice(9);
  bo_.set(nav, {200, position_body(nav, in_days(10)), 0ms});
  set_state("SUSPENDED");
  auto r = resolve(nav);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().description.find("suspended"), std::string::npos);
  EXPECT_EQ(bo_.lookups(nav), 0);

  // Suspended in the configuration, resumed by an operator: asked.
  active_ = false;
  set_state("ACTIVE");
  r = resolve(nav);
  ASSERT_TRUE(r.has_value()) << r.error().description;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(bo_.lookups(nav), 1);
}

TEST_F(on_demand_pg, services_without_lookup_are_never_asked) {
  config::entity e = entity();
  e.services[0].lookup.clear();
  registry_->set(std::make_shared<const config::entity_registry>(std::vector<config::entity>{e}));
  const auto nav = notice(8);
  bo_.set(nav, {200, position_body(nav, in_days(30)), 0ms});
  const auto r = resolve(nav);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(bo_.lookups(nav), 0);
}

}  // namespace
}  // namespace pagohub::integration
