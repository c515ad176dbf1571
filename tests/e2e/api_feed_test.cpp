// The receipts pull feed through the daemon: pages of at most `limit`, the end of the feed, and
// a cursor that names no place handed out to this entity and application refused (400,
// /query/after) instead of read from, where it would skip receipts.
#include <pagohub/pap/receipts.hpp>

#include <pqxx/pqxx>

#include <optional>
#include <thread>
#include <vector>

#include "api_fixture.hpp"

namespace pagohub::test {
namespace {

using namespace std::chrono_literals;

class feed_e2e : public api_e2e {
 protected:
  void store(const std::string& fc, const std::string& receipt_id,
             std::optional<std::int64_t> position_id) {
    pqxx::connection c(db_->conninfo());
    pqxx::work w(c);
    pap::receipt_record r;
    r.entity_fc = fc;
    r.receipt_id = receipt_id;
    r.received_at = std::chrono::system_clock::now();
    r.raw_message = "<paSendRT/>";
    r.outcome = "OK";
    r.amount = 12000;
    pap::receipt_verdict verdict{position_id, position_id.has_value(), std::nullopt, ""};
    if (!position_id) {
      verdict.flagged = pap::anomaly::unknown_position;
      verdict.detail = "no such notice";
    }
    ASSERT_TRUE(pap::insert_receipt(w, r, verdict).has_value());
    w.commit();
  }

  std::int64_t position_row(const std::string& fc, const std::string& external_id) {
    pqxx::connection c(db_->conninfo());
    pqxx::read_transaction w(c);
    return w
        .exec_params1("SELECT id FROM positions WHERE entity_fiscal_code = $1 AND external_id = $2",
                      fc, external_id)[0]
        .as<std::int64_t>();
  }

  std::string feed(const std::string& fc, const std::string& query) const {
    return api_path(fc, "/receipts" + query);
  }

  // Pages `app`'s feed of `fc` one receipt at a time until `n` came (other databases of the
  // test cluster hold the horizon back for a moment); the cursor after each.
  std::vector<std::pair<std::string, std::string>> drain(const std::string& app,
                                                         const std::string& fc, std::size_t n) {
    std::vector<std::pair<std::string, std::string>> out;
    std::string after;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      const auto r = get(app, feed(fc, "?limit=1" + (after.empty() ? "" : "&after=" + after)));
      EXPECT_EQ(r.status, 200u) << r.body;
      if (r.status != 200u) break;
      const auto j = json_of(r);
      EXPECT_LE(j["items"].size(), 1u);
      after = j["nextCursor"].get<std::string>();
      if (j["items"].empty()) {
        std::this_thread::sleep_for(10ms);
        continue;
      }
      out.emplace_back(j["items"][0]["receiptId"].get<std::string>(), after);
    }
    return out;
  }
};

TEST_F(feed_e2e, a_cursor_of_another_entity_or_application_is_refused) {
  ASSERT_EQ(put("tributi", entity_a, "p-feed", single_position()).status, 201u);
  // Entity B's receipt first: an entity A cursor is past it, and would skip it there.
  store(entity_b, "RB-1", std::nullopt);
  store(entity_a, "RA-OWNED", position_row(entity_a, "p-feed"));
  store(entity_a, "RA-ORPHAN", std::nullopt);

  const auto a = drain("tributi", entity_a, 2);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].first, "RA-OWNED");
  EXPECT_EQ(a[1].first, "RA-ORPHAN");
  const std::string at_owned = a[0].second, at_end = a[1].second;

  // The end of the feed: no items, the same cursor back.
  const auto end = get("tributi", feed(entity_a, "?after=" + at_end));
  ASSERT_EQ(end.status, 200u) << end.body;
  EXPECT_TRUE(json_of(end)["items"].empty());
  EXPECT_EQ(json_of(end)["nextCursor"], at_end);

  const auto refused = [&](const std::string& app, const std::string& fc,
                           const std::string& cursor) {
    const auto r = get(app, feed(fc, "?after=" + cursor));
    EXPECT_EQ(r.status, 400u) << app << " " << cursor << " " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json");
    EXPECT_EQ(error_code_at(r, "/query/after"), "unknown") << r.body;
  };
  // Entity A's cursor on entity B's feed (same ordering space, another entity's place).
  refused("altrove", entity_b, at_end);
  EXPECT_EQ(drain("altrove", entity_b, 1).size(), 1u);
  // Another application's receipt is no place of tributi-2's feed; an orphan is.
  refused("tributi-2", entity_a, at_owned);
  EXPECT_EQ(get("tributi-2", feed(entity_a, "?after=" + at_end)).status, 200u);
  // Forged places: far ahead, a real id at another transaction.
  refused("tributi", entity_a, "r1.18446744073709551615.1");
  const auto dot = at_owned.rfind('.');
  refused("tributi", entity_a, at_owned.substr(0, dot) + ".999999");
  // The start is always a place; garbage is not a cursor at all.
  EXPECT_EQ(get("tributi", feed(entity_a, "?after=r1.0.0")).status, 200u);
  const auto garbage = get("tributi", feed(entity_a, "?after=zzz"));
  EXPECT_EQ(garbage.status, 400u);
  EXPECT_EQ(error_code_at(garbage, "/query/after"), "invalid") << garbage.body;

  // The entity comes from the credentials, never from the URL alone; one receipt by id is in
  // the feed's scope or "not found".
  EXPECT_EQ(get("altrove", feed(entity_a, "")).status, 403u);
  EXPECT_EQ(get("altrove", api_path(entity_a, "/receipts/RA-OWNED")).status, 403u);
  const auto owned = get("tributi", api_path(entity_a, "/receipts/RA-OWNED"));
  EXPECT_EQ(owned.status, 200u);
  // Stored without a notice number: null, as the schema says, not an empty string.
  EXPECT_TRUE(json_of(owned)["noticeNumber"].is_null()) << owned.body;
  EXPECT_EQ(get("tributi-2", api_path(entity_a, "/receipts/RA-OWNED")).status, 404u);
  EXPECT_EQ(get("tributi", api_path(entity_a, "/receipts/RB-1")).status, 404u);
}

TEST_F(feed_e2e, limit_is_enforced) {
  for (const std::string bad : {"0", "501", "-1", "1000", "x", ""}) {
    const auto r = get("tributi", feed(entity_a, "?limit=" + bad));
    EXPECT_EQ(r.status, 400u) << bad << " " << r.body;
    EXPECT_EQ(error_paths(r), std::vector<std::string>{"/query/limit"}) << r.body;
  }
  EXPECT_EQ(get("tributi", feed(entity_a, "?limit=500")).status, 200u);
  const auto other = get("tributi", feed(entity_a, "?cursor=r1.0.0"));
  EXPECT_EQ(other.status, 400u);
  EXPECT_EQ(error_paths(other), std::vector<std::string>{"/query/cursor"});
}

}  // namespace
}  // namespace pagohub::test
