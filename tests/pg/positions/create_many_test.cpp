// create_many(): many creates in one statement write what one create_only() each would.
#include <pagohub/core/notice_number.hpp>
#include <pagohub/positions/notice_numbers.hpp>

#include <gmock/gmock.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "pg/positions/positions_fixture.hpp"

namespace pagohub::positions::testing {
namespace {

class create_many_test : public positions_pg {
 protected:
  new_position prepared(const position& p, const config::entity& e = own_entity(),
                        const std::string& request = "req-0001") {
    auto r = prepare_create(e, "tari-bo", p, actor{"application", "tari-bo", request}, test_now());
    if (!r) throw std::runtime_error("prepare_create: " + r.error().message);
    return *std::move(r);
  }
};

TEST_F(create_many_test, writes_what_one_create_each_writes) {
  static const config::entity e = own_entity();
  position full = plan_position("MANY-PLAN");
  full.metadata = {{"pratica", "2025/9"}};
  full.options[0].transfers[0].accounting = {accounting_entry{"1010101", "01", 2025, "A-1", 30000}};
  std::vector<new_position> items;
  items.push_back(prepared(single_position("MANY-1"), e, "req-a"));
  items.push_back(prepared(full, e, "req-b"));
  items.push_back(prepared(single_position("MANY-3"), e, "req-c"));
  const auto out = tx([&](pqxx::work& w) { return create_many(w, items); });

  ASSERT_EQ(out.size(), 3U);
  std::set<std::string> notices;
  for (std::size_t i = 0; i < out.size(); ++i) {
    ASSERT_TRUE(out[i].has_value()) << i;
    const position& s = out[i]->stored;
    EXPECT_TRUE(out[i]->created);
    EXPECT_EQ(s.external_id, items[i].p.external_id);
    EXPECT_EQ(s.status, position_status::draft);
    EXPECT_EQ(s.version, 1);
    // What the store reads back is what the batch answered.
    const auto stored = fetch(s.external_id).value();
    EXPECT_EQ(stored.id, s.id);
    EXPECT_EQ(stored.options.size(), s.options.size());
    for (std::size_t k = 0; k < s.options.size(); ++k) {
      EXPECT_EQ(stored.options[k].notice_number, s.options[k].notice_number);
      EXPECT_EQ(stored.options[k].iuv, s.options[k].iuv);
      EXPECT_EQ(stored.options[k].transfers.size(), s.options[k].transfers.size());
      EXPECT_TRUE(notices.insert(s.options[k].notice_number).second);
      const auto n = core::notice_number::parse(s.options[k].notice_number);
      ASSERT_TRUE(n.has_value());
      EXPECT_TRUE(in_notice_space(e, *n));
    }
    EXPECT_EQ(stored.created_at, test_now());
  }
  const auto plan = fetch("MANY-PLAN").value();
  EXPECT_EQ(plan.metadata, full.metadata);
  ASSERT_EQ(plan.options[0].transfers[0].accounting.size(), 1U);
  EXPECT_EQ(plan.options[0].transfers[0].accounting[0].assessment, "A-1");
  // One CREATED event per position, with its own request; one journal event per option.
  EXPECT_EQ(count("SELECT count(*) FROM position_events WHERE event = 'CREATED'"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM position_events e JOIN positions p ON "
                  "p.entity_fiscal_code = e.entity_fiscal_code AND p.id = e.position_id "
                  "WHERE p.external_id = 'MANY-3' AND e.request_id = 'req-c'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_subtype = 'CREATED'"),
            static_cast<long long>(notices.size()));
}

TEST_F(create_many_test, an_existing_key_is_left_alone_and_the_others_are_created) {
  static const config::entity e = own_entity();
  auto first = single_position("EXISTS");
  first.description = "the first";
  store(first);
  auto again = single_position("EXISTS");
  again.description = "the second";
  std::vector<new_position> items;
  items.push_back(prepared(single_position("NEW-1"), e));
  items.push_back(prepared(again, e));
  items.push_back(prepared(single_position("NEW-2"), e));
  const auto out = tx([&](pqxx::work& w) { return create_many(w, items); });
  ASSERT_EQ(out.size(), 3U);
  EXPECT_TRUE(out[0].has_value());
  EXPECT_FALSE(out[1].has_value());
  EXPECT_TRUE(out[2].has_value());
  const auto stored = fetch("EXISTS").value();
  EXPECT_EQ(stored.description, "the first");
  EXPECT_EQ(stored.version, 1);
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM position_events"), 3);
}

TEST_F(create_many_test, refuses_repeated_keys_and_supplied_numbers) {
  static const config::entity e = own_entity();
  std::vector<new_position> twice{prepared(single_position("TWICE"), e),
                                  prepared(single_position("TWICE"), e)};
  EXPECT_THROW(tx([&](pqxx::work& w) { return create_many(w, twice); }), std::invalid_argument);
  auto supplied = single_position("SUPPLIED");
  supplied.options[0].notice_number = "301000000000000144";
  std::vector<new_position> own{prepared(supplied, e)};
  EXPECT_THROW(tx([&](pqxx::work& w) { return create_many(w, own); }), std::invalid_argument);
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 0);
}

TEST_F(create_many_test, a_failing_batch_writes_nothing) {
  static const config::entity e = own_entity();
  std::vector<new_position> items{prepared(single_position("OK-1"), e),
                                  prepared(single_position("BAD"), e)};
  // A row the schema refuses (validation would have refused it too): the whole statement fails.
  items[1].p.options[0].transfers[0].amount = 0;
  EXPECT_THROW(tx([&](pqxx::work& w) { return create_many(w, items); }), pqxx::sql_error);
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE category = 'INTERNO' "
                  "AND event_type = 'positionStateChange'"),
            0);
}

// What a PUT does after its batch found the key taken: replace, without a create attempt that
// would draw notice numbers for nothing; a key that is not there after all is created.
TEST_F(create_many_test, upsert_existing_replaces_and_creates_what_is_missing) {
  const auto first = store(single_position("KNOWN"));
  const std::string notice = first.stored.options[0].notice_number;
  auto changed = single_position("KNOWN");
  changed.description = "changed";
  const auto replaced = tx([&](pqxx::work& w) {
    return upsert_existing(w, own_entity(), "tari-bo", changed, app_actor(), test_now());
  });
  ASSERT_TRUE(replaced.has_value()) << replaced.error().message;
  EXPECT_FALSE(replaced->created);
  EXPECT_EQ(replaced->stored.version, 2);
  EXPECT_EQ(replaced->stored.options[0].notice_number, notice);
  EXPECT_EQ(fetch("KNOWN").value().description, "changed");
  const auto created = tx([&](pqxx::work& w) {
    return upsert_existing(w, own_entity(), "tari-bo", single_position("UNKNOWN"), app_actor(),
                           test_now());
  });
  ASSERT_TRUE(created.has_value());
  EXPECT_TRUE(created->created);
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 2);
}

}  // namespace
}  // namespace pagohub::positions::testing
