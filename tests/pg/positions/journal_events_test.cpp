// Position state changes reach the event journal as INTERNO events in the transaction of the
// change (sql/0016_position_journal.sql, sql/0022_position_journal_lookups.sql, docs/journal.md
// "What is recorded").
#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "pg/positions/positions_fixture.hpp"

namespace pagohub::positions::testing {
namespace {

struct journal_row {
  std::string subtype;
  std::string notice;  // "" for NULL
  std::string iuv;
  std::string actor;
  std::string request_id;
  std::string params;
};

class position_journal : public positions_pg {
 protected:
  std::vector<journal_row> journal() {
    pqxx::work w(conn());
    std::vector<journal_row> out;
    for (const auto& r :
         w.exec("SELECT event_subtype, coalesce(notice_number, ''), coalesce(iuv, ''), actor_id, "
                "coalesce(request_id, ''), coalesce(interface_params, '') FROM journal_events "
                "WHERE category = 'INTERNO' AND event_type = 'positionStateChange' "
                "  AND component = 'positions' ORDER BY id"))
      out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                     r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>()});
    return out;
  }
};

TEST_F(position_journal, every_change_is_journaled_once_per_option_with_its_notice) {
  const auto stored = store(plan_position()).stored;
  ASSERT_GE(stored.options.size(), 3u);
  auto rows = journal();
  ASSERT_EQ(rows.size(), stored.options.size());
  std::vector<std::string> notices;
  for (const auto& o : stored.options) notices.push_back(o.notice_number);
  for (const auto& r : rows) {
    EXPECT_EQ(r.subtype, "CREATED");
    EXPECT_NE(std::find(notices.begin(), notices.end(), r.notice), notices.end()) << r.notice;
    EXPECT_EQ(r.iuv, r.notice.substr(1));  // aux 3: the IUV is the notice without its aux digit
    EXPECT_EQ(r.actor, "tari-bo");
    EXPECT_EQ(r.request_id, "req-0001");
    EXPECT_NE(r.params.find("externalId=" + stored.external_id), std::string::npos) << r.params;
    EXPECT_NE(r.params.find("to=DRAFT"), std::string::npos) << r.params;
  }

  ASSERT_TRUE(tx([&](pqxx::work& w) {
    return publish(w, own_fc, "tari-bo", stored.external_id, app_actor(), test_now());
  }));
  rows = journal();
  ASSERT_EQ(rows.size(), 2 * stored.options.size());
  EXPECT_EQ(rows.back().subtype, "PUBLISHED");
  EXPECT_NE(rows.back().params.find("from=DRAFT"), std::string::npos) << rows.back().params;

  // Paying one option names that option only.
  const std::string paid = notices.front();
  ASSERT_TRUE(tx([&](pqxx::work& w) {
    return mark_option_paid(w, own_fc, paid, "rcpt-1", test_now(), test_now());
  }));
  rows = journal();
  ASSERT_EQ(rows.size(), 2 * stored.options.size() + 1);
  EXPECT_EQ(rows.back().subtype, "OPTION_PAID");
  EXPECT_EQ(rows.back().notice, paid);
  EXPECT_NE(rows.back().params.find("receiptId=rcpt-1"), std::string::npos) << rows.back().params;
}

TEST_F(position_journal, a_change_rolled_back_leaves_no_event) {
  {
    pqxx::work w(conn());
    ASSERT_TRUE(upsert(w, own_entity(), "tari-bo", single_position(), app_actor(), test_now()));
    // no commit: the transaction rolls back with its position and its events
  }
  EXPECT_TRUE(journal().empty());
}

// The trigger looks positions up by key for a statement of up to 1000 events and joins for a
// larger one (a bulk import's): both record the same events.
TEST_F(position_journal, a_large_statement_records_what_small_ones_record) {
  const auto plan = store(plan_position()).stored;
  const auto single = store(single_position()).stored;
  const std::size_t options = plan.options.size() + single.options.size();
  const auto publish_all = [&](int times) {
    pqxx::work w(conn());
    w.exec_params(
        "INSERT INTO position_events (entity_fiscal_code, position_id, event, from_status, "
        "  to_status, at, actor_kind, actor_id, request_id) "
        "SELECT p.entity_fiscal_code, p.id, 'PUBLISHED', 'DRAFT', 'PUBLISHED', now(), "
        "  'system', 'journal-test', 'req-' || g FROM positions p, generate_series(1, $1) g",
        times);
    w.commit();
  };
  // What one event per position records, each line counted.
  const auto tally = [&](std::size_t skip) {
    std::map<std::string, int> out;
    const auto rows = journal();
    for (std::size_t k = skip; k < rows.size(); ++k)
      ++out[rows[k].subtype + "|" + rows[k].notice + "|" + rows[k].iuv + "|" + rows[k].actor + "|" +
            rows[k].params];
    return out;
  };
  const std::size_t created = journal().size();
  ASSERT_EQ(created, options);
  publish_all(1);  // 2 events: looked up by key
  const auto small = tally(created);
  ASSERT_EQ(small.size(), options);
  for (const auto& [line, n] : small) EXPECT_EQ(n, 1) << line;

  const std::size_t before = journal().size();
  publish_all(501);  // 1002 events: joined
  const auto large = tally(before);
  ASSERT_EQ(large.size(), options);
  for (const auto& [line, n] : large) {
    EXPECT_EQ(n, 501) << line;
    EXPECT_TRUE(small.contains(line)) << line;
  }
}

}  // namespace
}  // namespace pagohub::positions::testing
