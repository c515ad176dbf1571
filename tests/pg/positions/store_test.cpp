// The store against a real PostgreSQL: round trip, replacement, conflicts, tenant scoping.
#include <pagohub/core/notice_number.hpp>
#include <pagohub/positions/notice_numbers.hpp>

#include <gmock/gmock.h>

#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include "pg/positions/positions_fixture.hpp"

namespace pagohub::positions::testing {
namespace {

using ::testing::HasSubstr;

// Everything the model holds: full debtor, metadata, validity date, a single option and a plan,
// a multi-beneficiary transfer, a postal IBAN, a revenue stamp and accounting lines.
position full_position() {
  using namespace std::chrono;
  position p = plan_position("FULL-1");
  p.payer.type = debtor_type::person;
  p.payer.street_name = "Via Roma";
  p.payer.civic_number = "10/B";
  p.payer.postal_code = "00184";
  p.payer.city = "Roma";
  p.payer.state_province_region = "RM";
  p.payer.country = "IT";
  p.payer.email = "mario.rossi@example.it";
  p.payer.phone = "+39 06 1234567";
  p.description = "TARI 2025 \xE2\x80\x94 utenza domestica";  // an em dash: UTF-8 survives
  p.metadata = {{"pratica", "2025/123"}, {"ufficio", "Tributi"}};
  p.validity_date = sys_days(ymd(2025, 3, 15)) + hours(8) + microseconds(123456);
  // Single option: 200.00 to the entity (with accounting), 100.00 to another entity.
  payment_option& single = p.options[0];
  single.transfers = {make_transfer(1, 20000), make_transfer(2, 10000)};
  single.transfers[0].postal_iban = own_postal_iban;
  single.transfers[0].iban = own_iban;
  single.transfers[0].accounting = {accounting_entry{"1010101", "01", 2025, "A-77", 15000},
                                    accounting_entry{"1010102", "", 2025, "", 5000}};
  single.transfers[1].beneficiary_fiscal_code = other_fc;
  single.transfers[1].iban = other_iban;
  single.transfers[1].taxonomy = "9/0201109SP/";
  // The first instalment: 84.00 to the entity and a 16.00 revenue stamp.
  payment_option& first = p.options[1];
  first.transfers = {make_transfer(1, 8400), make_transfer(2, 1600)};
  first.transfers[1].stamp =
      revenue_stamp{"n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=", "01", "RM"};
  return p;
}

class position_store : public positions_pg {
 protected:
  /// Positions `<prefix><n>` whose single option the entity numbers itself with progressive n,
  /// for n in 1..last.
  void supply_progressives(const std::string& prefix, int last) {
    for (int i = 1; i <= last; ++i) {
      auto p = single_position(prefix + std::to_string(i));
      p.options[0].notice_number =
          format_notice_number(own_entity(), static_cast<std::uint64_t>(i)).str();
      store(p);
    }
  }

  /// create_only in its own committed transaction.
  core::result<std::optional<upsert_outcome>> create_only_tx(const position& p) {
    return tx([&](pqxx::work& w) {
      return create_only(w, own_entity(), "tari-bo", p, app_actor(), test_now());
    });
  }
};

TEST_F(position_store, round_trip_keeps_every_field) {
  const auto out = store(full_position());
  ASSERT_TRUE(out.created);
  const position& s = out.stored;
  EXPECT_GT(s.id, 0);
  EXPECT_EQ(s.status, position_status::draft);
  EXPECT_EQ(s.entity_fiscal_code, own_fc);
  EXPECT_EQ(s.application_id, "tari-bo");
  EXPECT_EQ(s.version, 1);
  EXPECT_EQ(s.created_at, test_now());
  EXPECT_EQ(s.due_date, ymd(2025, 6, 30));
  std::set<std::string> notices;
  for (const auto& o : s.options) {
    const auto n = core::notice_number::parse(o.notice_number);
    ASSERT_TRUE(n.has_value()) << o.notice_number;
    EXPECT_TRUE(in_notice_space(own_entity(), *n));
    EXPECT_EQ(o.iuv, n->iuv());
    EXPECT_EQ(o.status, option_status::unpaid);
    notices.insert(o.notice_number);
  }
  EXPECT_EQ(notices.size(), 4U);
  // Defaults were applied and kept.
  EXPECT_EQ(s.options[2].transfers[0].iban, std::optional<std::string>(own_iban));
  EXPECT_EQ(s.options[2].transfers[0].taxonomy, "9/0101002IM/");

  const auto loaded = fetch("FULL-1");
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(*loaded, s);  // field by field, options, transfers, accounting, metadata

  const auto by_notice =
      tx([&](pqxx::work& w) { return find_by_notice(w, own_fc, s.options[3].notice_number); });
  ASSERT_TRUE(by_notice.has_value());
  EXPECT_EQ(*by_notice, s);
}

TEST_F(position_store, create_records_an_event) {
  const auto out = store(single_position());
  pqxx::work w(conn());
  const auto r = w.exec_params(
      "SELECT event, from_status, to_status, actor_kind, actor_id, request_id, "
      "at = '2025-03-01T10:00:00Z'::timestamptz FROM position_events "
      "WHERE entity_fiscal_code = $1 AND position_id = $2",
      std::string(own_fc), out.stored.id);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_EQ(r[0][0].as<std::string>(), "CREATED");
  EXPECT_TRUE(r[0][1].is_null());
  EXPECT_EQ(r[0][2].as<std::string>(), "DRAFT");
  EXPECT_EQ(r[0][3].as<std::string>(), "application");
  EXPECT_EQ(r[0][4].as<std::string>(), "tari-bo");
  EXPECT_EQ(r[0][5].as<std::string>(), "req-0001");
  EXPECT_TRUE(r[0][6].as<bool>());
}

TEST_F(position_store, invalid_input_changes_nothing) {
  auto p = single_position();
  p.options[0].transfers[0].iban = unregistered_iban;
  const auto r = try_store(p);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::errc::invalid_input);
  EXPECT_EQ(r.error().path, "/paymentOptions/0/transfers/0/iban");
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM position_events"), 0);
}

TEST_F(position_store, past_due_date_refused_for_a_create_only) {
  auto p = single_position();
  p.options[0].due_date = ymd(2025, 2, 1);
  const auto r = try_store(p);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().path, "/paymentOptions/0/dueDate");
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 0);
  // An existing position may be replaced keeping a date that has passed meanwhile.
  store(single_position());
  const auto replaced = try_store(p);
  ASSERT_TRUE(replaced.has_value()) << replaced.error().message;
  EXPECT_FALSE(replaced->created);
}

TEST_F(position_store, replace_keeps_notice_numbers_of_options_that_remain) {
  const auto first = store(plan_position()).stored;
  // The same plan with four instalments of 75.00 instead of three of 100.00.
  auto p = plan_position();
  p.options = {single_option(30000, ymd(2025, 6, 30)), instalment_option(1, 7500, ymd(2025, 4, 30)),
               instalment_option(2, 7500, ymd(2025, 5, 31)),
               instalment_option(3, 7500, ymd(2025, 6, 15)),
               instalment_option(4, 7500, ymd(2025, 6, 30))};
  const auto later = test_now() + std::chrono::hours(1);
  const auto out = store(p, own_entity(), "tari-bo", later);
  ASSERT_FALSE(out.created);
  const position& s = out.stored;
  EXPECT_EQ(s.id, first.id);
  EXPECT_EQ(s.version, 2);
  EXPECT_EQ(s.created_at, first.created_at);
  EXPECT_EQ(s.updated_at, later);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(s.options[i].notice_number, first.options[i].notice_number) << i;
  }
  const auto n4 = core::notice_number::parse(s.options[4].notice_number);
  ASSERT_TRUE(n4.has_value());
  for (const auto& o : first.options) EXPECT_NE(o.notice_number, s.options[4].notice_number);
  EXPECT_EQ(fetch(p.external_id), s);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options"), 5);
  EXPECT_EQ(count("SELECT count(*) FROM position_events WHERE event = 'REPLACED'"), 1);

  // Dropping the single option frees its number: the plan alone remains.
  auto plan_only = p;
  plan_only.options.erase(plan_only.options.begin());
  const auto again = store(plan_only, own_entity(), "tari-bo", later);
  EXPECT_EQ(again.stored.options.size(), 4U);
  EXPECT_EQ(again.stored.options[0].notice_number, first.options[1].notice_number);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options"), 4);
}

TEST_F(position_store, replace_takes_supplied_numbers_and_swaps_safely) {
  const auto first = store(plan_position()).stored;
  auto p = plan_position();
  // Instalment 1 takes the single option's number; the single option gets a fresh one.
  p.options[1].notice_number = first.options[0].notice_number;
  const auto s = store(p).stored;
  EXPECT_EQ(s.options[1].notice_number, first.options[0].notice_number);
  EXPECT_NE(s.options[0].notice_number, first.options[0].notice_number);
  EXPECT_EQ(s.options[2].notice_number, first.options[2].notice_number);
}

TEST_F(position_store, replace_of_a_valid_position_follows_its_validity_date) {
  using namespace std::chrono;
  store(single_position());
  ASSERT_TRUE(tx([&](pqxx::work& w) {
    return publish(w, own_fc, "tari-bo", "TARI-2025-0001", app_actor(), test_now());
  }));
  auto p = single_position();
  p.validity_date = test_now() + days(5);
  const auto s = store(p).stored;
  EXPECT_EQ(s.status, position_status::published);
  EXPECT_TRUE(s.published_at.has_value());
}

TEST_F(position_store, no_replacement_once_paid_or_cancelled) {
  const auto plan = store(plan_position()).stored;
  ASSERT_TRUE(tx([&](pqxx::work& w) {
    return mark_option_paid(w, own_fc, plan.options[1].notice_number, "rcpt-1", test_now(),
                            test_now());
  }));
  auto r = try_store(plan_position());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::errc::conflict);
  EXPECT_THAT(r.error().message, HasSubstr("paid"));

  store(single_position("TO-CANCEL"));
  ASSERT_TRUE(tx([&](pqxx::work& w) {
    return cancel(w, own_fc, "tari-bo", "TO-CANCEL", app_actor(), test_now());
  }));
  r = try_store(single_position("TO-CANCEL"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::errc::conflict);
  EXPECT_THAT(r.error().message, HasSubstr("cancelled"));
  // Nothing changed.
  EXPECT_EQ(fetch("TO-CANCEL")->version, 2);
}

TEST_F(position_store, supplied_notice_numbers_are_unique_per_entity) {
  const auto e = own_entity();
  auto a = single_position("A");
  a.options[0].notice_number = format_notice_number(e, 5'000'000).str();
  const auto sa = store(a).stored;
  EXPECT_EQ(sa.options[0].notice_number, a.options[0].notice_number);

  auto b = single_position("B");
  b.options[0].notice_number = a.options[0].notice_number;
  const auto r = try_store(b);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::errc::conflict);
  EXPECT_EQ(r.error().path, "/paymentOptions/0/noticeNumber");
  EXPECT_FALSE(fetch("B").has_value());

  // Uniqueness is per entity: another entity's positions are not concerned.
  auto c = single_position("A");
  c.options[0].notice_number = core::notice_number::make_aux0(12, 5'000'000).str();
  EXPECT_TRUE(try_store(c, aux0_entity()).has_value());
}

TEST_F(position_store, a_dropped_number_stays_with_the_application_that_issued_it) {
  const auto e = own_entity();
  const std::string first = format_notice_number(e, 6'000'000).str();
  auto a = single_position("A");
  a.options[0].notice_number = first;
  store(a);
  // The replacement gives the option another number: the first one's option is gone.
  a.options[0].notice_number = format_notice_number(e, 6'000'001).str();
  store(a);
  ASSERT_EQ(count("SELECT count(*) FROM payment_options WHERE notice_number = '" + first + "'"), 0);

  // Another application may not issue it again: a citizen holding the first notice would pay
  // someone else's debt.
  auto b = single_position("B");
  b.options[0].notice_number = first;
  const auto refused = try_store(b, e, "mensa-bo");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, core::errc::conflict);
  EXPECT_EQ(refused.error().path, "/paymentOptions/0/noticeNumber");
  EXPECT_THAT(refused.error().message, HasSubstr("another application"));
  EXPECT_FALSE(fetch("B", own_fc, "mensa-bo").has_value());

  // The application that dropped it may.
  auto c = single_position("C");
  c.options[0].notice_number = first;
  const auto again = try_store(c);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->stored.options[0].notice_number, first);
}

// An entity whose notice space changed (a new segregation code; likewise a move from aux digit
// 0 to 3) still has paper notices out with the old numbers: their application may keep and
// reissue them, nobody else may supply them.
TEST_F(position_store, numbers_issued_before_the_notice_space_changed_stay_the_applications) {
  const config::entity before = own_entity();
  config::entity after = own_entity();
  after.segregation_code = before.segregation_code + 1;
  const position stored = store(plan_position("OLD")).stored;
  ASSERT_EQ(stored.options.size(), 4U);

  // The back-office sends the position again with the numbers its citizens hold.
  position again = plan_position("OLD");
  for (payment_option& o : again.options) {
    for (const payment_option& s : stored.options)
      if (s.kind == o.kind && s.instalment == o.instalment) o.notice_number = s.notice_number;
  }
  const auto kept = try_store(again, after);
  ASSERT_TRUE(kept.has_value()) << kept.error().path << " " << kept.error().message;
  for (std::size_t i = 0; i < again.options.size(); ++i)
    EXPECT_EQ(kept->stored.options[i].notice_number, again.options[i].notice_number);

  // The plan goes; its numbers stay the application's, which may issue one again.
  position single = single_position("OLD");
  single.options[0].notice_number = again.options[0].notice_number;
  ASSERT_TRUE(try_store(single, after).has_value());
  const std::string dropped = again.options[1].notice_number;
  position reissued = single_position("NEW");
  reissued.options[0].notice_number = dropped;
  const auto mine = try_store(reissued, after);
  ASSERT_TRUE(mine.has_value()) << mine.error().path << " " << mine.error().message;
  EXPECT_EQ(mine->stored.options[0].notice_number, dropped);

  // Another application, or a number of the old space nobody issued, is outside the space.
  position theirs = single_position("THEIRS");
  theirs.options[0].notice_number = again.options[2].notice_number;
  position unknown = single_position("UNKNOWN");
  unknown.options[0].notice_number = format_notice_number(before, 7'000'000).str();
  for (const auto& [p, app] : {std::pair{theirs, "mensa-bo"}, std::pair{unknown, "tari-bo"}}) {
    const auto refused = try_store(p, after, app);
    ASSERT_FALSE(refused.has_value()) << p.external_id;
    EXPECT_EQ(refused.error().code, core::errc::invalid_input);
    EXPECT_EQ(refused.error().path, "/paymentOptions/0/noticeNumber");
    EXPECT_THAT(refused.error().message, HasSubstr("notice space"));
    EXPECT_FALSE(fetch(p.external_id, own_fc, app).has_value());
  }
  // create_only (POST /positions) judges the same way.
  position created = single_position("CREATED");
  created.options[0].notice_number = again.options[2].notice_number;
  const auto made = tx([&](pqxx::work& w) {
    return create_only(w, after, "tari-bo", created, app_actor(), test_now());
  });
  ASSERT_TRUE(made.has_value()) << made.error().message;
  ASSERT_TRUE(made->has_value());
  EXPECT_EQ((*made)->stored.options[0].notice_number, again.options[2].notice_number);
}

TEST_F(position_store, allocation_skips_numbers_whose_options_were_dropped) {
  const auto e = own_entity();
  // The entity supplied progressive 1, ahead of the sequence, then replaced it with 2.
  auto p = single_position("AHEAD");
  p.options[0].notice_number = format_notice_number(e, 1).str();
  store(p);
  p.options[0].notice_number = format_notice_number(e, 2).str();
  store(p);
  const auto fresh = tx([&](pqxx::work& w) { return allocate_notice_numbers(w, e, 1); });
  ASSERT_EQ(fresh.size(), 1U);
  EXPECT_EQ(fresh.front().str(), format_notice_number(e, 3).str());
}

TEST_F(position_store, allocation_skips_numbers_the_entity_supplied) {
  const auto e = own_entity();
  // The entity uses progressives 1..3 itself before pagohub allocates any.
  supply_progressives("SUPPLIED-", 3);
  const auto fresh = tx([&](pqxx::work& w) { return allocate_notice_numbers(w, e, 5); });
  ASSERT_EQ(fresh.size(), 5U);
  for (const auto& n : fresh) {
    for (int i = 1; i <= 3; ++i) {
      EXPECT_NE(n.str(), format_notice_number(e, static_cast<std::uint64_t>(i)).str());
    }
  }
  EXPECT_EQ(fresh.front().str(), format_notice_number(e, 4).str());
}

TEST_F(position_store, a_long_run_of_supplied_numbers_does_not_fail_creates) {
  // An entity that brought its notices from another intermediary: progressives 1..40 are
  // its own, right where the new sequence starts.
  const auto e = own_entity();
  supply_progressives("MIGRATED-", 40);
  const auto made = try_store(single_position("NEW-1"));
  ASSERT_TRUE(made.has_value()) << made.error().message;
  EXPECT_EQ(made->stored.options[0].notice_number, format_notice_number(e, 41).str());
  // The next one follows without another run through the used numbers.
  const auto next = try_store(single_position("NEW-2"));
  ASSERT_TRUE(next.has_value()) << next.error().message;
  EXPECT_GT(next->stored.options[0].notice_number, format_notice_number(e, 41).str());
}

TEST_F(position_store, a_number_supplied_for_one_option_is_not_drawn_for_another) {
  // Option 1 supplies the very number the sequence gives next; the others have none.
  const auto e = own_entity();
  auto p = plan_position("MIXED");
  p.options[1].notice_number = format_notice_number(e, 1).str();
  const auto made = try_store(p);
  ASSERT_TRUE(made.has_value()) << made.error().message;
  std::set<std::string> numbers;
  for (const auto& o : made->stored.options) numbers.insert(o.notice_number);
  EXPECT_EQ(numbers.size(), p.options.size());
  EXPECT_TRUE(numbers.contains(format_notice_number(e, 1).str()));
}

TEST_F(position_store, external_ids_are_per_entity_and_application) {
  store(single_position("SAME"), own_entity(), "tari-bo");
  store(single_position("SAME"), own_entity(), "mensa-bo");
  store(single_position("SAME"), other_entity(), "tari-bo");
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 3);
  EXPECT_EQ(fetch("SAME", own_fc, "mensa-bo")->application_id, "mensa-bo");
  EXPECT_EQ(fetch("SAME", other_fc, "tari-bo")->entity_fiscal_code, other_fc);
}

TEST_F(position_store, lookups_never_cross_entities) {
  const auto a = store(single_position("A-ONLY")).stored;
  const auto b = store(single_position("B-ONLY"), other_entity()).stored;
  EXPECT_FALSE(fetch("B-ONLY", own_fc).has_value());
  EXPECT_FALSE(fetch("A-ONLY", other_fc).has_value());
  EXPECT_FALSE(tx([&](pqxx::work& w) {
                 return find_by_notice(w, own_fc, b.options[0].notice_number);
               }).has_value());
  EXPECT_TRUE(tx([&](pqxx::work& w) {
                return find_by_notice(w, other_fc, b.options[0].notice_number);
              }).has_value());
  // Paying, publishing, cancelling: scoped the same way.
  const auto paid = tx([&](pqxx::work& w) {
    return mark_option_paid(w, own_fc, b.options[0].notice_number, "r", test_now(), test_now());
  });
  ASSERT_FALSE(paid.has_value());
  EXPECT_EQ(paid.error().code, core::errc::not_found);
  const auto cancelled = tx([&](pqxx::work& w) {
    return cancel(w, own_fc, "tari-bo", "B-ONLY", app_actor(), test_now());
  });
  ASSERT_FALSE(cancelled.has_value());
  EXPECT_EQ(cancelled.error().code, core::errc::not_found);
  EXPECT_EQ(fetch("B-ONLY", other_fc)->status, position_status::draft);
  (void)a;
}

TEST_F(position_store, schema_refuses_what_validation_refuses) {
  // The CHECK constraints are the last line for bulk loads that bypass the C++ rules.
  const auto s = store(single_position()).stored;
  pqxx::work w(conn());
  EXPECT_THROW(w.exec_params("UPDATE payment_options SET amount = 0 WHERE entity_fiscal_code = $1",
                             std::string(own_fc)),
               pqxx::check_violation);
}

TEST_F(position_store, schema_refuses_a_transfer_index_of_six) {
  const auto s = store(single_position()).stored;
  pqxx::work w(conn());
  EXPECT_THROW(
      w.exec_params("UPDATE transfers SET transfer_index = 6 WHERE entity_fiscal_code = $1",
                    std::string(own_fc)),
      pqxx::check_violation);
}

TEST_F(position_store, a_supplied_number_taken_concurrently_is_a_conflict_not_a_crash) {
  // A holds a new position with notice N, uncommitted; B supplies N too. B's check cannot see
  // A's row, so B's insert waits on the unique index, and fails once A commits: B gets a
  // conflict, and its transaction stays usable.
  const auto e = own_entity();
  const std::string n = format_notice_number(e, 7'000'000).str();
  auto a = single_position("RACE-A");
  a.options[0].notice_number = n;
  auto b = single_position("RACE-B");
  b.options[0].notice_number = n;

  pqxx::connection ca(conninfo());
  pqxx::work wa(ca);
  ASSERT_TRUE(upsert(wa, e, "tari-bo", a, app_actor(), test_now()).has_value());

  std::optional<core::result<upsert_outcome>> b_result;
  bool b_still_usable = false;
  std::string b_exception;
  std::thread tb([&] {
    try {
      pqxx::connection cb(conninfo());
      pqxx::work wb(cb);
      b_result = upsert(wb, e, "tari-bo", b, app_actor(), test_now());
      b_still_usable = wb.exec1("SELECT 1")[0].as<int>() == 1;
      wb.commit();
    } catch (const std::exception& ex) {
      b_exception = ex.what();
    }
  });
  wait_for_a_lock_wait();  // B reaches the unique index wait; then A commits
  wa.commit();
  tb.join();
  ASSERT_EQ(b_exception, "");
  ASSERT_TRUE(b_result.has_value());
  ASSERT_FALSE(b_result->has_value());
  EXPECT_EQ(b_result->error().code, core::errc::conflict);
  EXPECT_TRUE(b_still_usable);
  EXPECT_TRUE(fetch("RACE-A").has_value());
  EXPECT_FALSE(fetch("RACE-B").has_value());
}

// A position is read in several statements (its row, options, transfers, accounting lines). A
// replacement that commits between two of them must not tear it: read in one snapshot
// (REPEATABLE READ, as the REST reads run), the reader gets the version it began with whole. In
// READ COMMITTED the transfers would name options the reader never saw.
TEST_F(position_store, a_read_in_one_snapshot_is_not_torn_by_a_replacement) {
  const auto first = store(plan_position()).stored;
  auto p = plan_position();
  p.options = {single_option(30000, ymd(2025, 6, 30)),
               instalment_option(1, 15000, ymd(2025, 4, 30)),
               instalment_option(2, 15000, ymd(2025, 5, 31))};

  // The replacer holds the transfers table: the reader reads the row and the options, then
  // waits at the transfers while the replacement commits.
  pqxx::connection cr(conninfo());
  pqxx::work replacer(cr);
  replacer.exec("LOCK TABLE transfers IN ACCESS EXCLUSIVE MODE");
  ASSERT_TRUE(upsert(replacer, own_entity(), "tari-bo", p, app_actor(), test_now()).has_value());

  std::optional<position> read;
  std::string exception;
  std::thread reader([&] {
    try {
      pqxx::connection c(conninfo());
      pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> w(c);
      read = find_by_external_id(w, own_fc, "tari-bo", first.external_id);
      w.commit();
    } catch (const std::exception& ex) {
      exception = ex.what();
    }
  });
  wait_for_a_lock_wait();
  replacer.commit();
  reader.join();
  ASSERT_EQ(exception, "");
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(*read, first);
  EXPECT_EQ(fetch(first.external_id)->version, 2);
}

TEST_F(position_store, create_only_never_replaces) {
  auto first = create_only_tx(single_position("ONCE"));
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->has_value());
  EXPECT_TRUE((*first)->created);
  auto other = single_position("ONCE");
  other.description = "another";
  auto second = create_only_tx(other);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->has_value());
  const auto stored = fetch("ONCE").value();
  EXPECT_EQ(stored.description, "TARI 2025");
  EXPECT_EQ(stored.version, 1);
  EXPECT_EQ(count("SELECT count(*) FROM position_events"), 1);
  // The rules and the due-date rule of a create hold as for upsert.
  auto past = single_position("PAST");
  past.options[0].due_date = ymd(2025, 2, 1);
  auto refused = create_only_tx(past);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, core::errc::invalid_input);
}

TEST_F(position_store, create_only_meets_a_concurrent_create_and_leaves_it_alone) {
  // A creates SAME, uncommitted; B's create-only insert waits for A and, once A commits, does
  // nothing: B learns the position exists, and A's stays as A stored it.
  const auto e = own_entity();
  store(single_position("WARM"));  // the notice sequence exists: B waits only on the key
  auto a = single_position("SAME");
  a.description = "from A";
  auto b = single_position("SAME");
  b.description = "from B";

  pqxx::connection ca(conninfo());
  pqxx::work wa(ca);
  ASSERT_TRUE(upsert(wa, e, "tari-bo", a, app_actor(), test_now()).has_value());

  const auto b_result = behind(wa, [&](pqxx::work& wb) {
    return create_only(wb, e, "tari-bo", b, app_actor(), test_now());
  });
  ASSERT_EQ(b_result.exception, "");
  ASSERT_TRUE(b_result.value.has_value());
  ASSERT_TRUE(b_result.value->has_value());
  EXPECT_FALSE(b_result.value->value().has_value());
  const auto stored = fetch("SAME").value();
  EXPECT_EQ(stored.description, "from A");
  EXPECT_EQ(stored.version, 1);
}

}  // namespace
}  // namespace pagohub::positions::testing
