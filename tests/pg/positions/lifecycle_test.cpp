// Lifecycle transitions and their position_events rows (DIGEST §4).
#include <pagohub/positions/notice_numbers.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pg/positions/positions_fixture.hpp"

namespace pagohub::positions::testing {
namespace {

using namespace std::chrono;

struct event {
  std::string event_name;
  std::string from;  // "" for NULL
  std::string to;
  std::string notice;
  std::string receipt;
  std::string actor_kind;
  std::string actor_id;
};

class lifecycle : public positions_pg {
 protected:
  std::vector<event> events(std::int64_t position_id) {
    pqxx::work w(conn());
    std::vector<event> out;
    for (const auto& r : w.exec_params(
             "SELECT event, coalesce(from_status, ''), to_status, coalesce(notice_number, ''), "
             "coalesce(receipt_id, ''), actor_kind, actor_id FROM position_events "
             "WHERE entity_fiscal_code = $1 AND position_id = $2 ORDER BY id",
             std::string(own_fc), position_id)) {
      out.push_back(event{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                          r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(),
                          r[6].as<std::string>()});
    }
    return out;
  }

  core::result<position> do_publish(const std::string& id, timestamp now = test_now()) {
    return tx([&](pqxx::work& w) { return publish(w, own_fc, "tari-bo", id, app_actor(), now); });
  }
  core::result<position> do_cancel(const std::string& id, timestamp now = test_now()) {
    return tx([&](pqxx::work& w) { return cancel(w, own_fc, "tari-bo", id, app_actor(), now); });
  }
  core::result<position> do_pay(const std::string& notice, const std::string& receipt) {
    return tx([&](pqxx::work& w) {
      return mark_option_paid(w, own_fc, notice, receipt, test_now() - minutes(5), test_now());
    });
  }
  lifecycle_counts sweep(timestamp now, const std::vector<expiring_service>& expiring,
                         int max_rows = 10000) {
    return tx([&](pqxx::work& w) { return advance_lifecycle(w, now, expiring, max_rows); });
  }
};

TEST_F(lifecycle, publish_without_validity_date_makes_it_valid) {
  const auto s = store(single_position()).stored;
  const auto later = test_now() + minutes(1);
  const auto p = do_publish(s.external_id, later);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->status, position_status::valid);
  EXPECT_EQ(p->published_at, std::optional<timestamp>(later));
  EXPECT_EQ(p->updated_at, later);
  EXPECT_EQ(p->version, 2);
  const auto ev = events(s.id);
  ASSERT_EQ(ev.size(), 2U);
  EXPECT_EQ(ev[1].event_name, "PUBLISHED");
  EXPECT_EQ(ev[1].from, "DRAFT");
  EXPECT_EQ(ev[1].to, "VALID");
  EXPECT_EQ(ev[1].actor_kind, "application");
}

TEST_F(lifecycle, publish_with_future_validity_waits_then_the_sweep_validates) {
  auto p = single_position();
  p.validity_date = test_now() + days(2);
  const auto s = store(p).stored;
  const auto published = do_publish(s.external_id);
  ASSERT_TRUE(published.has_value());
  EXPECT_EQ(published->status, position_status::published);

  EXPECT_EQ(sweep(test_now() + days(1), {}).validated, 0);
  EXPECT_EQ(fetch(s.external_id)->status, position_status::published);
  const auto counts = sweep(test_now() + days(2), {});
  EXPECT_EQ(counts.validated, 1);
  EXPECT_EQ(fetch(s.external_id)->status, position_status::valid);
  const auto ev = events(s.id);
  ASSERT_EQ(ev.size(), 3U);
  EXPECT_EQ(ev[2].event_name, "VALIDATED");
  EXPECT_EQ(ev[2].from, "PUBLISHED");
  EXPECT_EQ(ev[2].actor_kind, "system");
  EXPECT_EQ(ev[2].actor_id, "lifecycle");
}

TEST_F(lifecycle, publish_is_idempotent_and_refused_after_cancel) {
  const auto s = store(single_position()).stored;
  ASSERT_TRUE(do_publish(s.external_id).has_value());
  const auto again = do_publish(s.external_id);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->version, 2);        // unchanged
  EXPECT_EQ(events(s.id).size(), 2U);  // no new event
  ASSERT_TRUE(do_cancel(s.external_id).has_value());
  const auto refused = do_publish(s.external_id);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, core::errc::conflict);
  const auto unknown = do_publish("NOPE");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, core::errc::not_found);
}

TEST_F(lifecycle, cancel_from_draft_published_and_valid) {
  store(single_position("D"));
  auto p = single_position("P");
  p.validity_date = test_now() + days(3);
  store(p);
  store(single_position("V"));
  ASSERT_EQ(do_publish("P")->status, position_status::published);
  ASSERT_EQ(do_publish("V")->status, position_status::valid);
  for (const char* id : {"D", "P", "V"}) {
    const auto c = do_cancel(id);
    ASSERT_TRUE(c.has_value()) << id;
    EXPECT_EQ(c->status, position_status::cancelled) << id;
  }
  const auto again = do_cancel("V");  // cancelling twice is a no-op
  ASSERT_TRUE(again.has_value());
  const auto ev = events(again->id);
  EXPECT_EQ(ev.back().event_name, "CANCELLED");
  EXPECT_EQ(ev.back().from, "VALID");
  EXPECT_EQ(ev.size(), 3U);
}

TEST_F(lifecycle, cannot_cancel_paid_partially_paid_or_expired) {
  const auto plan = store(plan_position()).stored;
  ASSERT_TRUE(do_publish(plan.external_id));
  ASSERT_TRUE(do_pay(plan.options[1].notice_number, "R1"));
  auto c = do_cancel(plan.external_id);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, core::errc::conflict);

  const auto single = store(single_position("S")).stored;
  ASSERT_TRUE(do_pay(single.options[0].notice_number, "R2"));
  c = do_cancel("S");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, core::errc::conflict);

  store(single_position("E"));
  ASSERT_TRUE(do_publish("E"));
  ASSERT_EQ(sweep(sys_days(ymd(2025, 7, 1)) + hours(12), {{own_fc, "TARI"}}).expired, 1);
  c = do_cancel("E");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, core::errc::conflict);
}

TEST_F(lifecycle, instalments_make_it_partially_paid_then_paid) {
  const auto plan = store(plan_position()).stored;
  ASSERT_TRUE(do_publish(plan.external_id));
  auto p = do_pay(plan.options[1].notice_number, "RCPT-1");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->status, position_status::partially_paid);
  EXPECT_EQ(p->options[1].status, option_status::paid);
  EXPECT_EQ(p->options[1].receipt_id, std::optional<std::string>("RCPT-1"));
  EXPECT_EQ(p->options[1].paid_at, std::optional<timestamp>(test_now() - minutes(5)));

  // The same receipt again (the Nodo retries paSendRT): nothing changes.
  const auto version = p->version;
  p = do_pay(plan.options[1].notice_number, "RCPT-1");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->version, version);
  // Another receipt for a paid option: conflict.
  const auto twice = do_pay(plan.options[1].notice_number, "RCPT-X");
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().code, core::errc::conflict);

  ASSERT_EQ(do_pay(plan.options[2].notice_number, "RCPT-2")->status,
            position_status::partially_paid);
  p = do_pay(plan.options[3].notice_number, "RCPT-3");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->status, position_status::paid);

  const auto ev = events(plan.id);
  ASSERT_EQ(ev.size(), 5U);  // CREATED, PUBLISHED, 3 x OPTION_PAID
  EXPECT_EQ(ev[2].event_name, "OPTION_PAID");
  EXPECT_EQ(ev[2].from, "VALID");
  EXPECT_EQ(ev[2].to, "PARTIALLY_PAID");
  EXPECT_EQ(ev[2].notice, plan.options[1].notice_number);
  EXPECT_EQ(ev[2].receipt, "RCPT-1");
  EXPECT_EQ(ev[2].actor_kind, "system");
  EXPECT_EQ(ev[4].from, "PARTIALLY_PAID");
  EXPECT_EQ(ev[4].to, "PAID");
}

TEST_F(lifecycle, pay_option_reports_what_it_did_without_a_reload) {
  const auto plan = store(plan_position()).stored;
  ASSERT_TRUE(do_publish(plan.external_id));
  const auto pay = [&](const std::string& notice, const std::string& receipt) {
    return tx([&](pqxx::work& w) {
      return pay_option(w, own_fc, notice, receipt, test_now() - minutes(5), test_now());
    });
  };
  auto first = pay(plan.options[1].notice_number, "RCPT-1");
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_EQ(first->position_id, plan.id);
  EXPECT_EQ(first->from, position_status::valid);
  EXPECT_EQ(first->to, position_status::partially_paid);
  EXPECT_FALSE(first->repeated);
  const auto again = pay(plan.options[1].notice_number, "RCPT-1");
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->repeated);
  EXPECT_EQ(again->to, position_status::partially_paid);
  EXPECT_EQ(pay(plan.options[2].notice_number, "RCPT-2")->to, position_status::partially_paid);
  const auto last = pay(plan.options[3].notice_number, "RCPT-3");
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->from, position_status::partially_paid);
  EXPECT_EQ(last->to, position_status::paid);
  const auto stored = fetch(plan.external_id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->status, position_status::paid);
  EXPECT_EQ(stored->version, plan.version + 4);  // publish + three payments
  EXPECT_EQ(events(plan.id).size(), 5U);
}

TEST_F(lifecycle, the_single_option_pays_the_whole_position) {
  const auto plan = store(plan_position()).stored;
  ASSERT_TRUE(do_publish(plan.external_id));
  const auto p = do_pay(plan.options[0].notice_number, "RCPT-S");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->status, position_status::paid);
}

TEST_F(lifecycle, receipts_are_never_refused_for_the_state) {
  // A receipt proves a payment (DIGEST §1.3): even a cancelled position records it.
  const auto s = store(single_position()).stored;
  ASSERT_TRUE(do_cancel(s.external_id));
  const auto p = do_pay(s.options[0].notice_number, "LATE");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->status, position_status::paid);
  const auto unknown = do_pay(format_notice_number(own_entity(), 999).str(), "R");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, core::errc::not_found);
}

TEST_F(lifecycle, a_late_instalment_leaves_a_position_that_was_not_payable_as_it_was) {
  // Cancelled, then an instalment's receipt arrives (a payment started before, or stand-in):
  // the instalment is paid, but the plan must not become payable again.
  const auto plan = store(plan_position()).stored;
  ASSERT_TRUE(do_publish(plan.external_id));
  ASSERT_TRUE(do_cancel(plan.external_id));
  auto p = do_pay(plan.options[1].notice_number, "LATE-1");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->status, position_status::cancelled);
  EXPECT_EQ(p->options[1].status, option_status::paid);
  // Still cancelled, so it can be cancelled again (nothing to do) and not paid by a verify.
  EXPECT_TRUE(do_cancel(plan.external_id));
  const auto ev = events(plan.id);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().event_name, "OPTION_PAID");
  EXPECT_EQ(ev.back().from, "CANCELLED");
  EXPECT_EQ(ev.back().to, "CANCELLED");
  // Every instalment paid: the money is all there, and the position says so.
  ASSERT_TRUE(do_pay(plan.options[2].notice_number, "LATE-2"));
  p = do_pay(plan.options[3].notice_number, "LATE-3");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->status, position_status::paid);

  // Expired: the same, and the sweep has nothing to expire again.
  const auto expired = store(plan_position("PLAN-EXPIRED")).stored;
  ASSERT_TRUE(do_publish(expired.external_id));
  ASSERT_EQ(sweep(sys_days(ymd(2025, 7, 1)) + hours(12), {{own_fc, "TARI"}}).expired, 1);
  p = do_pay(expired.options[1].notice_number, "LATE-4");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->status, position_status::expired);
}

TEST_F(lifecycle, a_replacement_revives_an_expired_position_only_with_a_due_date_to_come) {
  store(single_position("EXP"));
  ASSERT_TRUE(do_publish("EXP"));
  const auto july = sys_days(ymd(2025, 7, 1)) + hours(12);
  ASSERT_EQ(sweep(july, {{own_fc, "TARI"}}).expired, 1);
  // The same body again (a nightly re-sync): still expired.
  auto again = store(single_position("EXP"), own_entity(), "tari-bo", july);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.stored.status, position_status::expired);
  EXPECT_EQ(fetch("EXP")->status, position_status::expired);
  // The due date moved on: payable again.
  auto later = single_position("EXP");
  later.options[0].due_date = ymd(2025, 9, 30);
  again = store(later, own_entity(), "tari-bo", july);
  EXPECT_EQ(again.stored.status, position_status::valid);
}

TEST_F(lifecycle, a_receipt_id_is_counted_in_characters) {
  const auto s = store(single_position()).stored;
  ASSERT_TRUE(do_publish(s.external_id));
  std::string id;
  for (int i = 0; i < 30; ++i) id += "\xC3\xA8";  // 30 characters, 60 bytes
  const auto p = do_pay(s.options[0].notice_number, id);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->status, position_status::paid);
  const auto other = store(single_position("OTHER")).stored;
  ASSERT_TRUE(do_publish(other.external_id));
  std::string long_id;
  for (int i = 0; i < 36; ++i) long_id += "\xC3\xA8";
  const auto refused = do_pay(other.options[0].notice_number, long_id);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, core::errc::invalid_input);
}

TEST_F(lifecycle, a_receipt_waiting_on_a_replacement_pays_the_reinserted_option) {
  // A replaces a published plan (its options deleted and inserted again, notice numbers kept)
  // and has not committed; B's receipt for an instalment waits for A. Once A commits, B must
  // pay the option as A left it, not report the notice as unknown and leave it payable.
  const auto plan = store(plan_position()).stored;
  ASSERT_TRUE(do_publish(plan.external_id));
  const std::string notice = plan.options[1].notice_number;
  auto changed = plan_position();
  changed.description = "replaced";

  pqxx::connection ca(conninfo());
  pqxx::work wa(ca);
  ASSERT_TRUE(upsert(wa, own_entity(), "tari-bo", changed, app_actor(), test_now()).has_value());

  const auto b = behind(wa, [&](pqxx::work& wb) {
    return pay_option(wb, own_fc, notice, "RCPT-RACE", test_now() - minutes(5), test_now());
  });
  const auto& [b_result, b_exception] = b;
  ASSERT_EQ(b_exception, "");
  ASSERT_TRUE(b_result.has_value());
  ASSERT_TRUE(b_result->has_value()) << b_result->error().message;
  EXPECT_EQ((*b_result)->position_id, plan.id);
  EXPECT_EQ((*b_result)->from, position_status::valid);
  EXPECT_EQ((*b_result)->to, position_status::partially_paid);

  const auto stored = fetch(plan.external_id).value();
  EXPECT_EQ(stored.description, "replaced");
  EXPECT_EQ(stored.status, position_status::partially_paid);
  EXPECT_EQ(stored.options[1].notice_number, notice);
  EXPECT_EQ(stored.options[1].status, option_status::paid);
  EXPECT_EQ(stored.options[1].receipt_id, std::optional<std::string>("RCPT-RACE"));
  // The row paid is the one A inserted, not the one it deleted.
  EXPECT_EQ(count("SELECT count(*) FROM payment_options WHERE status = 'PAID' AND id = " +
                  std::to_string((*b_result)->option_id)),
            1);
}

TEST_F(lifecycle, a_replacement_waiting_on_a_receipt_is_refused_once_it_is_paid) {
  // The other order: B's payment holds the position; A's replacement waits for it and then
  // finds a paid option, which a replacement may not touch.
  const auto plan = store(plan_position()).stored;
  ASSERT_TRUE(do_publish(plan.external_id));
  auto changed = plan_position();
  changed.description = "replaced";

  pqxx::connection cb(conninfo());
  pqxx::work wb(cb);
  ASSERT_TRUE(pay_option(wb, own_fc, plan.options[2].notice_number, "RCPT-FIRST",
                         test_now() - minutes(5), test_now())
                  .has_value());

  const auto a = behind(wb, [&](pqxx::work& wa) {
    return upsert(wa, own_entity(), "tari-bo", changed, app_actor(), test_now());
  });
  const auto& [a_result, a_exception] = a;
  ASSERT_EQ(a_exception, "");
  ASSERT_TRUE(a_result.has_value());
  ASSERT_FALSE(a_result->has_value());
  EXPECT_EQ(a_result->error().code, core::errc::conflict);
  const auto stored = fetch(plan.external_id).value();
  EXPECT_EQ(stored.description, plan.description);
  EXPECT_EQ(stored.options[2].status, option_status::paid);
}

TEST_F(lifecycle, sweep_expires_only_flagged_services_after_the_due_day) {
  auto tari = single_position("TARI-1");
  auto mensa = single_position("MENSA-1");
  mensa.service_code = "MENSA";
  store(tari);
  store(mensa);
  ASSERT_TRUE(do_publish("TARI-1"));
  ASSERT_TRUE(do_publish("MENSA-1"));
  const std::vector<expiring_service> flagged{{own_fc, "TARI"}};
  // Due 2025-06-30: still payable all that day in Rome (22:30 UTC is 00:30 on 1 July).
  EXPECT_EQ(sweep(sys_days(ymd(2025, 6, 30)) + hours(21), flagged).expired, 0);
  EXPECT_EQ(sweep(sys_days(ymd(2025, 6, 30)) + hours(22) + minutes(30), flagged).expired, 1);
  EXPECT_EQ(fetch("TARI-1")->status, position_status::expired);
  EXPECT_EQ(fetch("MENSA-1")->status, position_status::valid);
  const auto ev = events(fetch("TARI-1")->id);
  EXPECT_EQ(ev.back().event_name, "EXPIRED");
  EXPECT_EQ(ev.back().from, "VALID");
}

// A 2018-model payment in progress (sql/0030) holds the position: it expires only once the
// lock is over without an RT having paid it.
TEST_F(lifecycle, sweep_does_not_expire_a_position_whose_payment_is_in_progress) {
  store(single_position("TARI-1"));
  ASSERT_TRUE(do_publish("TARI-1"));
  const auto p = fetch("TARI-1").value();
  const auto at = sys_days(ymd(2025, 7, 2)) + hours(10);
  const auto us = [](timestamp t) {
    return duration_cast<microseconds>(t.time_since_epoch()).count();
  };
  pqxx::work w(conn());
  w.exec(
      "INSERT INTO rpt_activations (entity_fiscal_code, iuv, ccp, notice_number, position_id, "
      "psp_id, psp_broker_id, channel_id, amount, iban, activated_at, locked_until) VALUES ('" +
      std::string(own_fc) + "', '" + p.options[0].iuv + "', 'ccp-1', '" +
      p.options[0].notice_number + "', " + std::to_string(p.id) +
      ", 'BCITITMM', 'BCITITMM', 'BCITITMM_01', 1, 'IT60X0542811101000000123456', "
      "'epoch'::timestamptz + " +
      std::to_string(us(at)) + " * interval '1 microsecond' - interval '10 minutes', " +
      "'epoch'::timestamptz + " + std::to_string(us(at)) +
      " * interval '1 microsecond' + interval '20 minutes')");
  w.commit();
  const std::vector<expiring_service> flagged{{own_fc, "TARI"}};
  EXPECT_EQ(sweep(at, flagged).expired, 0);
  EXPECT_EQ(fetch("TARI-1")->status, position_status::valid);
  EXPECT_EQ(sweep(at + minutes(21), flagged).expired, 1);
  EXPECT_EQ(fetch("TARI-1")->status, position_status::expired);
}

TEST_F(lifecycle, sweep_works_in_bounded_batches) {
  for (int i = 0; i < 5; ++i) {
    auto p = single_position("B-" + std::to_string(i));
    p.validity_date = test_now() + hours(1);
    store(p);
    ASSERT_TRUE(do_publish(p.external_id));
  }
  EXPECT_EQ(sweep(test_now() + hours(2), {}, 2).validated, 2);
  EXPECT_EQ(sweep(test_now() + hours(2), {}, 2).validated, 2);
  EXPECT_EQ(sweep(test_now() + hours(2), {}, 2).validated, 1);
  EXPECT_EQ(sweep(test_now() + hours(2), {}, 2).validated, 0);
  EXPECT_EQ(count("SELECT count(*) FROM positions WHERE status = 'VALID'"), 5);
}

}  // namespace
}  // namespace pagohub::positions::testing
