// list(): filters, keyset pagination under concurrent changes, tenant scoping.
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "pg/positions/positions_fixture.hpp"

namespace pagohub::positions::testing {
namespace {

using namespace std::chrono;

class listing : public positions_pg {
 protected:
  core::result<list_page> run(const list_query& q) {
    return tx([&](pqxx::work& w) { return list(w, q); });
  }

  std::vector<std::string> ids_of(const list_query& q) {
    const auto page = run(q);
    EXPECT_TRUE(page.has_value()) << (page ? "" : page.error().message);
    std::vector<std::string> out;
    if (page) {
      for (const auto& p : page->items) out.push_back(p.external_id);
    }
    return out;
  }

  // Every page of `q`, following the cursors; calls between(page number) after each page.
  template <class F>
  std::vector<position> all_pages(list_query q, F between) {
    std::vector<position> out;
    for (int page_no = 0; page_no < 1000; ++page_no) {
      const auto page = run(q);
      EXPECT_TRUE(page.has_value());
      if (!page) break;
      out.insert(out.end(), page->items.begin(), page->items.end());
      if (!page->next_cursor) break;
      q.cursor = page->next_cursor;
      between(page_no);
    }
    return out;
  }

  static list_query own(int limit = 50) {
    list_query q;
    q.entities = {own_fc};
    q.limit = limit;
    return q;
  }
};

TEST_F(listing, filters) {
  auto a = single_position("A");  // TARI, Mario Rossi, due 2025-06-30
  auto b = single_position("B");
  b.service_code = "MENSA";
  b.payer.fiscal_code = person_cf2;
  b.options[0].due_date = ymd(2025, 4, 15);
  auto c = plan_position("C");  // due 2025-06-30 (latest instalment)
  store(a);
  store(b);
  store(c, own_entity(), "other-bo", test_now() + hours(3));
  ASSERT_TRUE(tx([&](pqxx::work& w) {
    return publish(w, own_fc, "tari-bo", "B", app_actor(), test_now() + hours(1));
  }));

  auto q = own();
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"A", "B", "C"}));
  q.status = position_status::valid;
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"B"}));
  q = own();
  q.status = position_status::draft;
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"A", "C"}));
  q = own();
  q.service = "MENSA";
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"B"}));
  q = own();
  q.debtor = "bnclra85t45f205l";  // case-insensitive
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"B"}));
  q = own();
  q.due_to = ymd(2025, 5, 1);
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"B"}));
  q = own();
  q.due_from = ymd(2025, 5, 1);
  q.due_to = ymd(2025, 6, 30);
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"A", "C"}));
  q = own();
  q.updated_since = test_now() + minutes(30);
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"B", "C"}));
  q = own();
  q.application_id = "other-bo";
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"C"}));
  q.status = position_status::valid;
  EXPECT_TRUE(ids_of(q).empty());

  // Pages carry whole positions.
  q = own();
  q.application_id = "other-bo";
  const auto page = run(q);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->items.size(), 1U);
  EXPECT_EQ(page->items[0], *fetch("C", own_fc, "other-bo"));
}

TEST_F(listing, pages_neither_skip_nor_repeat_while_positions_change) {
  for (int i = 0; i < 25; ++i) store(single_position("P" + std::to_string(100 + i)));
  std::set<std::string> original;
  for (int i = 0; i < 25; ++i) original.insert("P" + std::to_string(100 + i));

  int touched = 0;
  const auto seen = all_pages(own(7), [&](int page_no) {
    // Between pages: replace positions already seen and not yet seen, and add new ones.
    auto early = single_position("P10" + std::to_string(page_no));
    early.description = "changed " + std::to_string(page_no);
    store(early, own_entity(), "tari-bo", test_now() + hours(page_no + 1));
    auto late = single_position("P12" + std::to_string(page_no));
    late.description = "changed too";
    store(late, own_entity(), "tari-bo", test_now() + hours(page_no + 1));
    store(single_position("NEW" + std::to_string(page_no)));
    touched += 3;
  });
  ASSERT_GT(touched, 0);
  std::set<std::string> unique;
  std::int64_t last_id = 0;
  for (const auto& p : seen) {
    EXPECT_TRUE(unique.insert(p.external_id).second) << "repeated " << p.external_id;
    EXPECT_GT(p.id, last_id) << "out of order";
    last_id = p.id;
  }
  for (const auto& id : original) EXPECT_TRUE(unique.contains(id)) << "skipped " << id;
}

TEST_F(listing, last_page_has_no_cursor_and_exact_pages_end_cleanly) {
  for (int i = 0; i < 6; ++i) store(single_position("E" + std::to_string(i)));
  auto page = run(own(3));
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->items.size(), 3U);
  ASSERT_TRUE(page->next_cursor.has_value());
  auto q = own(3);
  q.cursor = page->next_cursor;
  page = run(q);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->items.size(), 3U);
  EXPECT_FALSE(page->next_cursor.has_value());
}

TEST_F(listing, a_page_ends_early_when_its_positions_bring_too_many_rows) {
  // Each position brings an option and a transfer: 2 rows. Five fit in 10, not six.
  for (int i = 0; i < 12; ++i) store(single_position("H" + std::to_string(10 + i)));
  auto q = own(50);
  q.max_children = 10;
  const auto first = run(q);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->items.size(), 5U);
  ASSERT_TRUE(first->next_cursor.has_value());
  EXPECT_EQ(first->items.front().options.size(), 1U);
  // Every position once, in order, following the cursors.
  const auto all = all_pages(q, [](int) {});
  ASSERT_EQ(all.size(), 12U);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(all[i].external_id, "H" + std::to_string(10 + i));
  // Cut by the budget where the limit would have ended it too: still a cursor.
  q.limit = 5;
  const auto exact = run(q);
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->items.size(), 5U);
  EXPECT_TRUE(exact->next_cursor.has_value());
  // One position larger than the budget still makes a page of its own.
  q.max_children = 1;
  const auto one = run(q);
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->items.size(), 1U);
  EXPECT_TRUE(one->next_cursor.has_value());
}

TEST_F(listing, bad_cursor_or_limit_is_invalid_input) {
  auto q = own();
  q.cursor = "not-a-cursor!";
  auto r = run(q);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::errc::invalid_input);
  EXPECT_EQ(r.error().path, "/query/cursor");
  q.cursor = "cDE6LTU";  // base64url of "p1:-5"
  EXPECT_FALSE(run(q).has_value());
  q = own(0);
  r = run(q);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().path, "/query/limit");
  EXPECT_FALSE(run(own(501)).has_value());
  EXPECT_TRUE(run(own(500)).has_value());
}

TEST_F(listing, scoped_to_the_granted_entities) {
  store(single_position("MINE"));
  store(single_position("THEIRS"), other_entity());
  auto q = own();
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"MINE"}));
  q.entities = {other_fc};
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"THEIRS"}));
  q.entities = {own_fc, other_fc};
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"MINE", "THEIRS"}));
  q.entities = {};
  EXPECT_TRUE(ids_of(q).empty());
  q.entities = {"' OR 1=1 --"};  // not an entity code: matches nothing
  EXPECT_TRUE(ids_of(q).empty());
}

TEST_F(listing, several_entities_page_in_one_id_order) {
  for (int i = 0; i < 4; ++i) {
    store(single_position("A" + std::to_string(i)));
    store(single_position("B" + std::to_string(i)), other_entity());
  }
  list_query q;
  q.entities = {own_fc, other_fc};
  q.limit = 3;
  const auto seen = all_pages(q, [](int) {});
  ASSERT_EQ(seen.size(), 8U);
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1].id, seen[i].id);
}

}  // namespace
}  // namespace pagohub::positions::testing
