// Reading the journal (include/pagohub/journal/query.hpp): scoped to the caller's entities,
// filtered, paginated without gaps or repeats, one event with its payload.
#include <gtest/gtest.h>

#include <set>

#include "fixture.hpp"
#include "pagohub/journal/query.hpp"
#include "pagohub/journal/record.hpp"
#include "pagohub/journal/service.hpp"

namespace pagohub::journal::test {
namespace {

const std::string a = "01234567897";
const std::string b = "15376371009";
const std::string notice = "301000000000000144";

class journal_query : public journal_db {
 protected:
  void SetUp() override {
    journal_db::SetUp();
    if (IsSkipped()) return;
    db_->transact_sync([](pqxx::work& w) {
      ensure_partitions(w, 2, tp(at(2030, 3, 1)));
      std::vector<event> events;
      // 30 events of entity a over two months, 10 of them for one notice; 20 of entity b;
      // 2 events of no entity (daemon lifecycle).
      for (int i = 0; i < 30; ++i) {
        auto e = internal_event(a, at(2030, 3 + static_cast<unsigned>(i % 2), 1 + i),
                                "t" + std::to_string(i % 3));
        if (i < 10) e.notice_number = notice;
        e.outcome = i % 5 == 0 ? "KO" : "OK";
        e.request_id = "req-" + std::to_string(i);
        events.push_back(e);
      }
      for (int i = 0; i < 20; ++i) {
        auto e = internal_event(b, at(2030, 3, 1 + i));
        e.iuv = "01000000000000144";  // same IUV, other entity
        events.push_back(e);
      }
      events.push_back(internal_event("", at(2030, 3, 2), "daemonStart"));
      events.push_back(internal_event("", at(2030, 3, 3), "daemonStop"));
      record_internal_many(w, events);
      auto with_payload = internal_event(a, at(2030, 4, 28), "withPayload");
      with_payload.message = payload{"text/xml", {}, "<a><password>x</password><b>1</b></a>"};
      record_internal(w, with_payload);
    });
  }

  page find(const scope& s, page_request r) {
    return db_->transact_sync([&](pqxx::work& w) { return find_events(w, s, r); });
  }

  // A VALID position of entity a owned by `application`, with one option: `notice`, `iuv`.
  void add_position(const std::string& application, const std::string& external_id,
                    const std::string& iuv) {
    sql("INSERT INTO positions (entity_fiscal_code, application_id, external_id, status,"
        " debtor_type, debtor_fiscal_code, debtor_full_name, description, service_code,"
        " reference_year, due_date, created_at, updated_at)"
        " VALUES ('" +
        a + "', '" + application + "', '" + external_id +
        "', 'VALID', 'F', 'ANONIMO', 'Mario Rossi', 'TARI',"
        " 'TARI', 2030, '2030-12-31', now(), now())");
    sql("INSERT INTO payment_options (entity_fiscal_code, position_id, ordinal, kind, instalment,"
        " notice_number, iuv, amount, due_date, description)"
        " SELECT entity_fiscal_code, id, 0, 'SINGLE', 0, '" +
        notice + "', '" + iuv +
        "', 100, '2030-12-31', 'TARI' FROM positions WHERE external_id = '" + external_id + "'");
  }

  std::vector<stored_event> all_pages(const scope& s, page_request r) {
    std::vector<stored_event> out;
    for (;;) {
      const auto pg = find(s, r);
      out.insert(out.end(), pg.items.begin(), pg.items.end());
      if (!pg.more) return out;
      r.after = position_key{pg.items.back().time_us, pg.items.back().id};
    }
  }
};

TEST_F(journal_query, callers_see_only_their_entities) {
  const scope only_a{{a}, false};
  const scope only_b{{b}, false};
  const scope both{{a, b}, false};
  const scope admin{{}, true};
  const scope nobody{{}, false};
  EXPECT_EQ(all_pages(only_a, {}).size(), 31U);
  EXPECT_EQ(all_pages(only_b, {}).size(), 20U);
  EXPECT_EQ(all_pages(both, {}).size(), 51U);
  EXPECT_EQ(all_pages(admin, {}).size(), 53U) << "admins also see events of no entity";
  EXPECT_TRUE(all_pages(nobody, {}).empty());
  page_request other;
  other.where.entity = b;
  EXPECT_TRUE(find(only_a, other).items.empty()) << "asking for another entity yields nothing";
  // The IUV is shared by both entities; each sees only its own events.
  page_request by_iuv;
  by_iuv.where.iuv = "01000000000000144";
  EXPECT_EQ(all_pages(only_a, by_iuv).size(), 10U);
  EXPECT_EQ(all_pages(only_b, by_iuv).size(), 20U);
  EXPECT_EQ(all_pages(admin, by_iuv).size(), 30U);
}

TEST_F(journal_query, a_back_office_reads_only_its_own_events_of_its_entities) {
  // Entity a's notice (IUV 01000000000000144) belongs to a position of "tax"; entity b's events
  // carry the same IUV, but b has no such position.
  add_position("tax", "p-1", "01000000000000144");
  db_->transact_sync([](pqxx::work& w) {
    auto own = internal_event(a, at(2030, 3, 5), "canteenWrite");
    own.by = actor{"application", "canteen"};
    auto webhook = internal_event(a, at(2030, 3, 6), "canteenWebhook");
    webhook.provider_id = "canteen-bo";
    auto other_webhook = internal_event(a, at(2030, 3, 7), "otherWebhook");
    other_webhook.provider_id = "tax-bo";
    auto unknown = internal_event(a, at(2030, 3, 8), "receiptOfUnknownNotice");
    unknown.iuv = "01000000000000999";  // no option of entity a has it
    // tax's integration looked an unknown notice up, and tax's key asked about another.
    auto lookup = internal_event(a, at(2030, 3, 9), "taxLookup");
    lookup.iuv = "01000000000000888";
    lookup.provider_id = "tax-bo";
    auto asked = internal_event(a, at(2030, 3, 10), "taxAsked");
    asked.iuv = "01000000000000777";
    asked.by = actor{"application", "tax"};
    record_internal_many(w, {own, webhook, other_webhook, unknown, lookup, asked});
  });
  scope tax{{a, b}, false, "tax", {"tax-bo"}};
  scope canteen{{a}, false, "canteen", {"canteen-bo"}};

  const auto tax_events = all_pages(tax, {});
  ASSERT_EQ(tax_events.size(), 13U)
      << "the 10 events of its notice, its webhook's, its lookup and its own request";
  for (const auto& e : tax_events) EXPECT_EQ(*e.entity_fc, a);
  const auto canteen_events = all_pages(canteen, {});
  ASSERT_EQ(canteen_events.size(), 2U) << "its own write and its webhook's exchange";
  EXPECT_EQ(canteen_events[0].event_type, "canteenWrite");
  EXPECT_EQ(canteen_events[1].event_type, "canteenWebhook");

  // The filters and the timeline keep the narrowing.
  page_request timeline;
  timeline.where.entity = a;
  timeline.where.notice_number = notice;
  EXPECT_EQ(all_pages(tax, timeline).size(), 10U);
  EXPECT_TRUE(all_pages(canteen, timeline).empty());
  page_request by_iuv;
  by_iuv.where.iuv = "01000000000000144";
  EXPECT_EQ(all_pages(tax, by_iuv).size(), 10U) << "entity b's events of the IUV are not tax's";
  // Several entities without a selective filter take the merged per-entity scans.
  scope tax_limited = tax;
  tax_limited.providers.clear();
  EXPECT_EQ(all_pages(tax_limited, {}).size(), 11U);
  // An operator of the entity (no application scope) still reads all of it.
  EXPECT_EQ(all_pages(scope{{a}, false}, {}).size(), 37U);

  // A back-office granted every service also reads the events about notices of no position
  // (the receipts feed shows it such receipts), and still not the other back-office's.
  // Not what tax caused about an unknown notice, nor its integration's lookup of one.
  scope canteen_every_service = canteen;
  canteen_every_service.orphans = true;
  canteen_every_service.foreign_providers = {"tax-bo"};
  const auto with_orphans = all_pages(canteen_every_service, {});
  EXPECT_TRUE(std::any_of(with_orphans.begin(), with_orphans.end(),
                          [](const auto& e) { return e.event_type == "receiptOfUnknownNotice"; }));
  for (const auto& e : with_orphans) {
    EXPECT_NE(e.iuv.value_or(""), "01000000000000144") << e.event_type;
    for (const char* theirs : {"otherWebhook", "taxLookup", "taxAsked"})
      EXPECT_NE(e.event_type, theirs);
  }
  EXPECT_EQ(with_orphans.size(),
            canteen_events.size() + static_cast<std::size_t>(std::count_if(
                                        with_orphans.begin(), with_orphans.end(),
                                        [](const auto& e) { return e.iuv.has_value(); })));

  const auto notice_event = tax_events.front().id;
  EXPECT_TRUE(db_->transact_sync([&](pqxx::work& w) { return get_event(w, tax, notice_event); }));
  EXPECT_FALSE(
      db_->transact_sync([&](pqxx::work& w) { return get_event(w, canteen, notice_event); }));
  EXPECT_TRUE(db_->transact_sync(
      [&](pqxx::work& w) { return get_event(w, canteen, canteen_events[1].id); }));

  // The notice stays tax's when its option goes (a replacement into instalments): its history
  // neither leaves tax nor becomes anyone's unknown notice (sql/0031).
  sql("DELETE FROM payment_options WHERE iuv = '01000000000000144'");
  // The events are dated 2030: the option goes after them.
  sql("UPDATE notice_owners SET since = '2030-06-01Z' WHERE iuv = '01000000000000144'");
  EXPECT_EQ(all_pages(tax, timeline).size(), 10U);
  for (const auto& e : all_pages(canteen_every_service, {}))
    EXPECT_NE(e.iuv.value_or(""), "01000000000000144") << e.event_type;
  // A late event of the dropped notice, not issued again yet, is still tax's.
  const auto late = db_->transact_sync([](pqxx::work& w) {
    auto e = internal_event(a, at(2030, 7, 1), "lateVerify");
    e.notice_number = notice;
    e.iuv = "01000000000000144";
    return record_internal_many(w, {e})[0];
  });
  EXPECT_EQ(all_pages(tax, timeline).size(), 11U);
  // Issued again, by the canteen: the events before the option went stay tax's; those after
  // it are the number's new owner's, the late one included.
  add_position("canteen", "c-1", "01000000000000144");
  const auto reissued = db_->transact_sync([](pqxx::work& w) {
    auto e = internal_event(a, at(2030, 8, 1), "newDebtorVerify");
    e.notice_number = notice;
    e.iuv = "01000000000000144";
    return record_internal_many(w, {e})[0];
  });
  const auto tax_timeline = all_pages(tax, timeline);
  EXPECT_EQ(tax_timeline.size(), 10U);
  const auto canteen_timeline = all_pages(canteen, timeline);
  ASSERT_EQ(canteen_timeline.size(), 2U) << "the late event and the new debtor's";
  EXPECT_EQ(canteen_timeline[0].id, late);
  EXPECT_EQ(canteen_timeline[1].id, reissued);
}

TEST_F(journal_query, pages_follow_time_order_without_gaps_or_repeats) {
  const scope both{{a, b}, false};
  page_request r;
  r.limit = 7;
  const auto items = all_pages(both, r);
  ASSERT_EQ(items.size(), 51U);
  std::set<std::int64_t> ids;
  for (std::size_t i = 0; i < items.size(); ++i) {
    ids.insert(items[i].id);
    if (i > 0) {
      EXPECT_TRUE(items[i - 1].time_us < items[i].time_us ||
                  (items[i - 1].time_us == items[i].time_us && items[i - 1].id < items[i].id));
    }
  }
  EXPECT_EQ(ids.size(), 51U);
}

TEST_F(journal_query, filters_narrow_the_answer) {
  const scope admin{{}, true};
  page_request r;
  r.where.entity = a;
  r.where.notice_number = notice;
  const auto timeline = all_pages(admin, r);
  ASSERT_EQ(timeline.size(), 10U);
  for (const auto& e : timeline) EXPECT_EQ(e.notice_number, notice);
  // A notice number without entity goes through the IUV and still finds only a's events.
  page_request by_notice;
  by_notice.where.notice_number = notice;
  EXPECT_EQ(all_pages(admin, by_notice).size(), 10U);

  page_request ko;
  ko.where.entity = a;
  ko.where.outcome = "KO";
  EXPECT_EQ(all_pages(admin, ko).size(), 6U);
  page_request type;
  type.where.event_type = "t1";
  type.where.entity = a;
  EXPECT_EQ(all_pages(admin, type).size(), 10U);
  page_request rid;
  rid.where.request_id = "req-3";
  EXPECT_EQ(all_pages(admin, rid).size(), 1U);
  page_request april;
  april.where.from_us = at(2030, 4, 1, 0) * 1'000'000;
  april.where.to_us = at(2030, 5, 1, 0) * 1'000'000;
  EXPECT_EQ(all_pages(admin, april).size(), 16U);  // 15 odd events of a, and the payload one
}

TEST_F(journal_query, one_event_comes_with_its_payload_when_in_scope) {
  const auto id =
      scalar<std::int64_t>("SELECT id FROM journal_events WHERE event_type = 'withPayload'");
  const auto got = db_->transact_sync([&](pqxx::work& w) {
    return get_event(w, scope{{a}, false}, id);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, payload_state::stored);
  ASSERT_TRUE(got->body);
  EXPECT_EQ(*got->body, "<a><password>***</password><b>1</b></a>");
  EXPECT_EQ(payload_digest(*got->payload), *got->event.payload_sha256);
  EXPECT_FALSE(db_->transact_sync([&](pqxx::work& w) {
    return get_event(w, scope{{b}, false}, id);
  }));
  const auto lifecycle =
      scalar<std::int64_t>("SELECT id FROM journal_events WHERE event_type = 'daemonStart'");
  EXPECT_FALSE(db_->transact_sync([&](pqxx::work& w) {
    return get_event(w, scope{{a, b}, false}, lifecycle);
  }));
  EXPECT_TRUE(db_->transact_sync([&](pqxx::work& w) {
    return get_event(w, scope{{}, true}, lifecycle);
  }));
  // After payload retention the event stays and says so.
  db_->transact_sync([](pqxx::work& w) { apply_retention(w, 24, 0, tp(at(2030, 5, 2))); });
  const auto expired = db_->transact_sync([&](pqxx::work& w) {
    return get_event(w, scope{{a}, false}, id);
  });
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->state, payload_state::expired);
}

}  // namespace
}  // namespace pagohub::journal::test
