// Debt positions through the real daemon: create, replace, read with ETags, list with filters
// and cursor pages, publish, cancel, conflicts, notices, receipts, idempotent POST, concurrent
// writers, and the body limit.
#include <pagohub/core/notice_number.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>
#include <vector>

#include "api_fixture.hpp"

namespace pagohub::test {
namespace {

using beast_http::verb;

TEST_F(api_e2e, create_replace_read_publish_cancel) {
  const std::string path = api_path(entity_a, "/positions/p-1");
  const auto created = put("tributi", entity_a, "p-1", single_position());
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(created.header("location"), path);
  EXPECT_EQ(created.header("etag"), "\"1\"");
  auto p = json_of(created);
  EXPECT_EQ(p["externalId"], "p-1");
  EXPECT_EQ(p["status"], "DRAFT");
  EXPECT_EQ(p["version"], 1);
  const std::string notice = p["paymentOptions"][0]["noticeNumber"];
  ASSERT_EQ(notice.size(), 18u);
  EXPECT_EQ(notice.substr(0, 3), "301");  // aux 3, segregation code 01 (demo entity)
  EXPECT_EQ(p["paymentOptions"][0]["iuv"], notice.substr(1));
  EXPECT_EQ(p["paymentOptions"][0]["status"], "UNPAID");
  // Defaults from the service: the IBAN and the taxonomy.
  EXPECT_EQ(p["paymentOptions"][0]["transfers"][0]["iban"], iban_a);
  EXPECT_EQ(p["paymentOptions"][0]["transfers"][0]["taxonomy"], "9/0101002IM/");
  EXPECT_EQ(p["paymentOptions"][0]["transfers"][0]["beneficiaryFiscalCode"], entity_a);

  // GET with its ETag; If-None-Match answers 304 while nothing changed.
  const auto got = get("tributi", path);
  ASSERT_EQ(got.status, 200u);
  EXPECT_EQ(got.header("etag"), "\"1\"");
  EXPECT_EQ(json_of(got), p);
  EXPECT_EQ(call(verb::get, path, key("tributi"), {}, {{"If-None-Match", "\"1\""}}).status, 304u);
  EXPECT_EQ(call(verb::get, path, key("tributi"), {}, {{"If-None-Match", "W/\"1\", \"7\""}}).status,
            304u);
  EXPECT_EQ(call(verb::get, path, key("tributi"), {}, {{"If-None-Match", "\"0\""}}).status, 200u);

  // Replace: 200, same notice number, new version.
  auto changed = single_position(15000);
  changed["externalId"] = "p-1";  // may repeat the URL's id
  const auto replaced = put("tributi", entity_a, "p-1", changed);
  ASSERT_EQ(replaced.status, 200u) << replaced.body;
  p = json_of(replaced);
  EXPECT_EQ(p["version"], 2);
  EXPECT_EQ(replaced.header("etag"), "\"2\"");
  EXPECT_EQ(p["paymentOptions"][0]["amount"], 15000);
  EXPECT_EQ(p["paymentOptions"][0]["noticeNumber"], notice);
  EXPECT_EQ(call(verb::get, path, key("tributi"), {}, {{"If-None-Match", "\"1\""}}).status, 200u);

  changed["externalId"] = "p-2";
  const auto mismatch = put("tributi", entity_a, "p-1", changed);
  EXPECT_EQ(mismatch.status, 422u);
  EXPECT_EQ(error_paths(mismatch), std::vector<std::string>{"/externalId"});

  // Publish: no validity date, so straight to VALID; again is a no-op.
  const auto published = call(verb::post, path + "/publish", key("tributi"));
  ASSERT_EQ(published.status, 200u) << published.body;
  EXPECT_EQ(json_of(published)["status"], "VALID");
  EXPECT_FALSE(json_of(published)["publishedAt"].is_null());
  EXPECT_EQ(json_of(call(verb::post, path + "/publish", key("tributi")))["status"], "VALID");

  // Cancel; a cancelled position cannot change any more.
  const auto cancelled = call(verb::post, path + "/cancel", key("tributi"));
  ASSERT_EQ(cancelled.status, 200u) << cancelled.body;
  EXPECT_EQ(json_of(cancelled)["status"], "CANCELLED");
  const auto late = put("tributi", entity_a, "p-1", single_position(1000));
  EXPECT_EQ(late.status, 409u) << late.body;
  EXPECT_EQ(late.header("content-type"), "application/problem+json");
  EXPECT_EQ(call(verb::post, path + "/publish", key("tributi")).status, 409u);
  EXPECT_EQ(call(verb::post, path + "/cancel", key("tributi")).status, 200u);
  EXPECT_EQ(json_of(get("tributi", path))["paymentOptions"][0]["amount"], 15000);

  // The notice: the option with its position.
  const auto n = get("tributi", api_path(entity_a, "/notices/" + notice));
  ASSERT_EQ(n.status, 200u) << n.body;
  const auto nj = json_of(n);
  EXPECT_EQ(nj["noticeNumber"], notice);
  EXPECT_EQ(nj["paymentOption"]["noticeNumber"], notice);
  EXPECT_EQ(nj["paymentOption"]["amount"], 15000);
  EXPECT_EQ(nj["position"]["externalId"], "p-1");
  EXPECT_EQ(nj["position"]["status"], "CANCELLED");

  // Receipts: none yet, in their fixed shape.
  const auto receipts = get("tributi", path + "/receipts");
  ASSERT_EQ(receipts.status, 200u);
  EXPECT_EQ(json_of(receipts), nlohmann::json::parse(R"({"items":[],"nextCursor":null})"));
  EXPECT_EQ(get("tributi", path + "/receipts?limit=10").status, 200u);
  const auto bad_limit = get("tributi", path + "/receipts?limit=0");
  EXPECT_EQ(bad_limit.status, 400u);
  EXPECT_EQ(error_paths(bad_limit), std::vector<std::string>{"/query/limit"});
  // As the positions list answers: 400 with the parameter's path.
  const auto bad_cursor = get("tributi", path + "/receipts?cursor=zzz");
  EXPECT_EQ(bad_cursor.status, 400u);
  EXPECT_EQ(error_paths(bad_cursor), std::vector<std::string>{"/query/cursor"});
  const auto past_64_bits = get("tributi", path + "/receipts?cursor=r9999999999999999999");
  EXPECT_EQ(past_64_bits.status, 400u) << past_64_bits.body;
  EXPECT_EQ(error_paths(past_64_bits), std::vector<std::string>{"/query/cursor"});
  const auto twice = get("tributi", path + "/receipts?limit=1&limit=2");
  EXPECT_EQ(twice.status, 400u);
  EXPECT_EQ(error_paths(twice), std::vector<std::string>{"/query/limit"});
  EXPECT_EQ(get("tributi", path + "/receipts?cursor=r0").status, 200u);
}

// An entity's notice space changes (here its segregation code, on a reload): the numbers on
// citizens' paper notices stay valid for the application that issued them, and only for it.
TEST_F(api_e2e, numbers_of_the_old_notice_space_stay_the_applications) {
  const auto first = put("altrove", entity_b, "old", single_position());
  ASSERT_EQ(first.status, 201u) << first.body;
  const std::string issued = json_of(first)["paymentOptions"][0]["noticeNumber"];
  ASSERT_EQ(issued.substr(0, 3), "302");

  {
    std::ifstream in(daemon_->config_file());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = text.find("segregation_code = 2");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 20, "segregation_code = 3");
    std::ofstream(daemon_->config_file()) << text;
  }
  daemon_->signal(SIGHUP);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string drawn;
  for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
    const auto probe = put("altrove", entity_b, "probe-" + std::to_string(i), single_position());
    ASSERT_EQ(probe.status, 201u) << probe.body;
    drawn = json_of(probe)["paymentOptions"][0]["noticeNumber"];
    if (drawn.substr(0, 3) == "303") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(drawn.substr(0, 3), "303") << daemon_->log();

  auto again = single_position(15000);
  again["paymentOptions"][0]["noticeNumber"] = issued;
  const auto kept = put("altrove", entity_b, "old", again);
  ASSERT_EQ(kept.status, 200u) << kept.body;
  EXPECT_EQ(json_of(kept)["paymentOptions"][0]["noticeNumber"], issued);

  // A number of the old space the application never issued is still outside the space.
  auto other = single_position();
  other["paymentOptions"][0]["noticeNumber"] =
      core::notice_number::make_aux3(2, 9'000'000'000'000ULL).str();
  const auto refused = put("altrove", entity_b, "other", other);
  EXPECT_EQ(refused.status, 422u) << refused.body;
  EXPECT_EQ(error_code_at(refused, "/paymentOptions/0/noticeNumber"), "not_owned") << refused.body;
}

// A write that waits for a row past the statement timeout (the test daemon's is 5 s) rolls back
// and says so with 503 and Retry-After: not a 500, which reads as a defect of the daemon.
TEST_F(api_e2e, a_write_held_past_the_statement_timeout_is_503) {
  ASSERT_EQ(put("tributi", entity_a, "held", single_position()).status, 201u);
  pqxx::connection c(db_->conninfo());
  pqxx::work holding(c);
  holding.exec("SELECT 1 FROM positions WHERE external_id = 'held' FOR UPDATE");
  const auto r = put("tributi", entity_a, "held", single_position(15000));
  holding.abort();
  EXPECT_EQ(r.status, 503u) << r.body;
  EXPECT_EQ(r.header("retry-after"), "5");
  EXPECT_NE(r.body.find("in time"), std::string::npos) << r.body;
  EXPECT_EQ(
      json_of(get("tributi", api_path(entity_a, "/positions/held")))["paymentOptions"][0]["amount"],
      12000);
}

TEST_F(api_e2e, conditional_put_replaces_only_the_version_read) {
  const std::string path = api_path(entity_a, "/positions/cond-1");
  const auto body = single_position().dump();
  const auto put_if = [&](const std::string& header, const std::string& value,
                          const std::string& content) {
    return call(verb::put, path, key("tributi"), content,
                {{header, value}, {"Content-Type", "application/json"}});
  };
  // Replacing what does not exist fails; If-None-Match: * creates only.
  const auto missing = put_if("If-Match", "\"1\"", body);
  EXPECT_EQ(missing.status, 412u) << missing.body;
  EXPECT_NE(missing.body.find("/header/If-Match"), std::string::npos) << missing.body;
  EXPECT_EQ(get("tributi", path).status, 404u);
  ASSERT_EQ(put_if("If-None-Match", "*", body).status, 201u);
  const auto again = put_if("If-None-Match", "*", body);
  EXPECT_EQ(again.status, 412u);
  EXPECT_EQ(again.header("etag"), "\"1\"");
  EXPECT_NE(again.body.find("/header/If-None-Match"), std::string::npos) << again.body;

  // A stale version is refused and changes nothing; the current one (strong match) goes in.
  const auto changed = single_position(15000).dump();
  ASSERT_EQ(put_if("If-Match", "\"1\"", changed).status, 200u);
  const auto stale = put_if("If-Match", "\"1\"", single_position(17000).dump());
  EXPECT_EQ(stale.status, 412u) << stale.body;
  EXPECT_EQ(stale.header("etag"), "\"2\"");
  EXPECT_EQ(put_if("If-Match", "W/\"2\"", single_position(17000).dump()).status, 412u);
  auto now = json_of(get("tributi", path));
  EXPECT_EQ(now["version"], 2);
  EXPECT_EQ(now["paymentOptions"][0]["amount"], 15000);
  const auto fresh = put_if("If-Match", "\"9\", \"2\"", single_position(17000).dump());
  ASSERT_EQ(fresh.status, 200u) << fresh.body;
  EXPECT_EQ(fresh.header("etag"), "\"3\"");
  EXPECT_EQ(put_if("If-Match", "*", body).status, 200u);

  // Both headers (RFC 9110 §13.2.2): If-Match first, then If-None-Match, each can refuse.
  const auto both = [&](const std::string& match, const std::string& none_match) {
    return call(
        verb::put, path, key("tributi"), body,
        {{"If-Match", match}, {"If-None-Match", none_match}, {"Content-Type", "application/json"}});
  };
  const auto held = both("*", "W/\"4\"");
  EXPECT_EQ(held.status, 412u) << held.body;
  EXPECT_EQ(error_paths(held), std::vector<std::string>{"/header/If-None-Match"});
  EXPECT_EQ(held.header("etag"), "\"4\"");
  const auto wrong = both("\"3\"", "\"1\"");
  EXPECT_EQ(wrong.status, 412u) << wrong.body;
  EXPECT_EQ(error_paths(wrong), std::vector<std::string>{"/header/If-Match"});
  const auto through = both("\"4\"", "\"1\", \"2\"");
  EXPECT_EQ(through.status, 200u) << through.body;
  EXPECT_EQ(through.header("etag"), "\"5\"");
}

TEST_F(api_e2e, unknown_and_malformed_identifiers) {
  EXPECT_EQ(get("tributi", api_path(entity_a, "/positions/nope")).status, 404u);
  EXPECT_EQ(get("tributi", api_path(entity_a, "/positions/nope/receipts")).status, 404u);
  EXPECT_EQ(call(verb::post, api_path(entity_a, "/positions/nope/publish"), key("tributi")).status,
            404u);
  EXPECT_EQ(call(verb::post, api_path(entity_a, "/positions/nope/cancel"), key("tributi")).status,
            404u);
  const auto spaced = put("tributi", entity_a, "a%20b", single_position());
  EXPECT_EQ(spaced.status, 400u);
  EXPECT_EQ(error_paths(spaced), std::vector<std::string>{"/path/externalId"});
  EXPECT_EQ(put("tributi", entity_a, std::string(36, 'x'), single_position()).status, 400u);
  const auto notice = get("tributi", api_path(entity_a, "/notices/123"));
  EXPECT_EQ(notice.status, 400u);
  EXPECT_EQ(error_paths(notice), std::vector<std::string>{"/path/noticeNumber"});
  const auto unknown = core::notice_number::make_aux3(1, 9'999'999'999'999ULL);
  EXPECT_EQ(get("tributi", api_path(entity_a, "/notices/" + unknown.str())).status, 404u);
  EXPECT_TRUE(listed("tributi", entity_a).empty());
}

TEST_F(api_e2e, list_filters_and_cursor_pages) {
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(put("tributi", entity_a, "t-" + std::to_string(i), single_position(1000 + i)).status,
              201u);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(
        put("tributi", entity_a, "m-" + std::to_string(i), single_position(500, "MENSA")).status,
        201u);
  ASSERT_EQ(call(verb::post, api_path(entity_a, "/positions/t-3/publish"), key("tributi")).status,
            200u);

  // Pages of 3: 3 + 3 + 1, each position once, in a stable order.
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    const auto r =
        get("tributi",
            api_path(entity_a, "/positions?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor)));
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto j = json_of(r);
    ++pages;
    for (const auto& item : j["items"]) seen.push_back(item["externalId"]);
    cursor = j["nextCursor"].is_null() ? "" : j["nextCursor"].get<std::string>();
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"t-0", "t-1", "t-2", "t-3", "t-4", "m-0", "m-1"}));

  const auto count = [&](const std::string& query) {
    const auto r = get("tributi", api_path(entity_a, "/positions?" + query));
    EXPECT_EQ(r.status, 200u) << query << " " << r.body;
    return json_of(r)["items"].size();
  };
  EXPECT_EQ(count("status=DRAFT"), 6u);
  EXPECT_EQ(count("status=VALID"), 1u);
  EXPECT_EQ(count("service=MENSA"), 2u);
  EXPECT_EQ(count("service=MENSA&status=VALID"), 0u);
  EXPECT_EQ(count("debtor=rssmra80a01h501u"), 7u);  // fiscal codes compare upper-cased
  EXPECT_EQ(count("debtor=VRDLGU80A01H501X"), 0u);
  const std::string due = std::to_string(next_year()) + "-12-31";
  EXPECT_EQ(count("dueFrom=" + due + "&dueTo=" + due), 7u);
  EXPECT_EQ(count("dueTo=2001-01-01"), 0u);
  EXPECT_EQ(count("updatedSince=2000-01-01T00:00:00Z"), 7u);
  EXPECT_EQ(count("updatedSince=2099-01-01T00:00:00.5%2B00:00"), 0u);

  // Bad parameters: 400 with /query/<name>.
  const auto bad = [&](const std::string& query, const std::string& path) {
    const auto r = get("tributi", api_path(entity_a, "/positions?" + query));
    EXPECT_EQ(r.status, 400u) << query << " " << r.body;
    EXPECT_EQ(error_paths(r), std::vector<std::string>{path}) << query << " " << r.body;
  };
  bad("status=NOPE", "/query/status");
  bad("status=draft", "/query/status");
  bad("limit=0", "/query/limit");
  bad("limit=501", "/query/limit");
  bad("limit=ten", "/query/limit");
  bad("dueFrom=2025-13-01", "/query/dueFrom");
  bad("dueFrom=2026-01-02&dueTo=2026-01-01", "/query/dueTo");
  bad("updatedSince=yesterday", "/query/updatedSince");
  bad("updatedSince=2025-01-01T10:00:00%2B01:00", "/query/updatedSince");  // UTC only
  bad("colour=red", "/query/colour");
  bad("status=DRAFT&status=VALID", "/query/status");
  bad("cursor=garbage!", "/query/cursor");
}

TEST_F(api_e2e, instalment_plan_and_multi_beneficiary_positions) {
  const std::string year = std::to_string(next_year());
  nlohmann::json plan = single_position(30000);
  plan["paymentOptions"] = nlohmann::json::array();
  plan["paymentOptions"].push_back(
      {{"kind", "SINGLE"},
       {"amount", 30000},
       {"dueDate", year + "-03-31"},
       {"description", "Unica soluzione"},
       {"transfers",
        {{{"index", 1}, {"amount", 30000}, {"remittanceInformation", "TARI unica soluzione"}}}}});
  for (int i = 1; i <= 2; ++i) {
    plan["paymentOptions"].push_back(
        {{"kind", "INSTALMENT"},
         {"instalment", i},
         {"amount", 15000},
         {"dueDate", year + (i == 1 ? "-03-31" : "-09-30")},
         {"description", "Rata " + std::to_string(i)},
         {"transfers",
          {{{"index", 1},
            {"amount", 15000},
            {"remittanceInformation", "TARI rata " + std::to_string(i)},
            {"accounting",
             {{{"chapter", "1010"}, {"year", next_year()}, {"amount", 10000}},
              {{"chapter", "1020"},
               {"article", "2"},
               {"year", next_year()},
               {"amount", 5000}}}}}}}});
  }
  const auto r = put("tributi", entity_a, "plan-1", plan);
  ASSERT_EQ(r.status, 201u) << r.body;
  const auto j = json_of(r);
  ASSERT_EQ(j["paymentOptions"].size(), 3u);
  std::set<std::string> notices;
  for (const auto& o : j["paymentOptions"]) notices.insert(o["noticeNumber"].get<std::string>());
  EXPECT_EQ(notices.size(), 3u);  // each option its own notice number
  EXPECT_EQ(j["paymentOptions"][1]["kind"], "INSTALMENT");
  EXPECT_EQ(j["paymentOptions"][1]["instalment"], 1);
  EXPECT_EQ(j["paymentOptions"][1]["transfers"][0]["accounting"][1]["article"], "2");
  EXPECT_EQ(j["dueDate"], year + "-09-30");

  nlohmann::json multi = single_position(10000);
  multi["paymentOptions"][0]["transfers"] = {
      {{"index", 1}, {"amount", 7000}, {"remittanceInformation", "Quota del comune"}},
      {{"index", 2},
       {"beneficiaryFiscalCode", entity_b},
       {"amount", 3000},
       {"iban", iban_b},
       {"remittanceInformation", "Quota di Altrove"}}};
  const auto m = put("tributi", entity_a, "multi-1", multi);
  ASSERT_EQ(m.status, 201u) << m.body;
  const auto mj = json_of(m);
  EXPECT_EQ(mj["paymentOptions"][0]["transfers"][1]["beneficiaryFiscalCode"], entity_b);
  EXPECT_EQ(mj["paymentOptions"][0]["transfers"][1]["iban"], iban_b);
  EXPECT_EQ(mj["paymentOptions"][0]["transfers"][0]["iban"], iban_a);
}

TEST_F(api_e2e, post_with_idempotency_key_creates_once) {
  const std::string target = api_path(entity_a, "/positions");
  const std::string body = single_position().dump();
  const std::map<std::string, std::string> k1 = {{"Idempotency-Key", "\"order-2025-0001\""}};
  const auto first = call(verb::post, target, key("tributi"), body, k1);
  ASSERT_EQ(first.status, 201u) << first.body;
  const std::string id = json_of(first)["externalId"];
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(first.header("location"), target + "/" + id);

  const auto again = call(verb::post, target, key("tributi"), body, k1);
  EXPECT_EQ(again.status, 201u);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.header("location"), first.header("location"));
  EXPECT_EQ(again.header("idempotent-replayed"), "true");

  const auto other_body = call(verb::post, target, key("tributi"), single_position(999).dump(), k1);
  EXPECT_EQ(other_body.status, 422u) << other_body.body;
  EXPECT_EQ(error_paths(other_body), std::vector<std::string>{"/header/Idempotency-Key"});
  // The key is the application's: another application may use the same words.
  EXPECT_EQ(call(verb::post, target, key("tributi-2"), body, k1).status, 201u);

  // Without a key each POST is a new position.
  const auto a = call(verb::post, target, key("tributi"), body);
  const auto b = call(verb::post, target, key("tributi"), body);
  ASSERT_EQ(a.status, 201u);
  ASSERT_EQ(b.status, 201u);
  EXPECT_NE(json_of(a)["externalId"], json_of(b)["externalId"]);
  EXPECT_EQ(listed("tributi", entity_a).size(), 3u);

  // POST chooses the id; a malformed key is refused.
  auto with_id = single_position();
  with_id["externalId"] = "mine";
  const auto chosen = call(verb::post, target, key("tributi"), with_id.dump());
  EXPECT_EQ(chosen.status, 422u);
  EXPECT_EQ(error_paths(chosen), std::vector<std::string>{"/externalId"});
  EXPECT_EQ(
      call(verb::post, target, key("tributi"), body, {{"Idempotency-Key", std::string(256, 'k')}})
          .status,
      400u);
  // A refused create stores neither a position nor the key.
  auto invalid = single_position(0);
  const std::map<std::string, std::string> k2 = {{"Idempotency-Key", "k2"}};
  EXPECT_EQ(call(verb::post, target, key("tributi"), invalid.dump(), k2).status, 422u);
  EXPECT_EQ(call(verb::post, target, key("tributi"), body, k2).status, 201u);
  EXPECT_EQ(listed("tributi", entity_a).size(), 4u);
}

// A key that is sent counts: empty, or twice (a list, not one key), the create is refused
// rather than run without the protection the client asked for.
TEST_F(api_e2e, an_empty_or_repeated_idempotency_key_is_refused) {
  const std::string target = api_path(entity_a, "/positions");
  const std::string body = single_position().dump();
  for (const std::string empty : {"", "\"\""}) {
    const auto r = call(verb::post, target, key("tributi"), body, {{"Idempotency-Key", empty}});
    EXPECT_EQ(r.status, 400u) << "[" << empty << "] " << r.body;
    EXPECT_EQ(error_paths(r), std::vector<std::string>{"/header/Idempotency-Key"}) << r.body;
  }
  for (const std::string second : {"b", "a"}) {
    raw_connection conn(daemon_->port());
    conn.send("POST " + target + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " +
              key("tributi") +
              "\r\nContent-Type: application/json\r\nIdempotency-Key: a\r\n"
              "Idempotency-Key: " +
              second + "\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\nConnection: close\r\n\r\n" + body);
    const auto r = conn.read_reply();
    EXPECT_EQ(r.status, 400u) << second << " " << r.body;
    EXPECT_EQ(error_paths(r), std::vector<std::string>{"/header/Idempotency-Key"}) << r.body;
  }
  EXPECT_TRUE(listed("tributi", entity_a).empty());
}

TEST_F(api_e2e, concurrent_writers_of_one_key_make_one_position) {
  const std::string target = api_path(entity_a, "/positions");
  const std::string body = single_position().dump();
  std::vector<std::thread> threads;
  std::vector<http_reply> posts(8), puts(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      posts[static_cast<std::size_t>(i)] =
          call(verb::post, target, key("tributi"), body, {{"Idempotency-Key", "same"}});
      puts[static_cast<std::size_t>(i)] = put("tributi", entity_a, "race", single_position());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  int created = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    // A POST that came while another with its key was being processed is refused at once
    // (409, Retry-After); retried now, it replays the first answer.
    if (posts[i].status == 409u) {
      EXPECT_EQ(error_paths(posts[i]), std::vector<std::string>{"/header/Idempotency-Key"});
      EXPECT_EQ(posts[i].header("retry-after"), "1");
      posts[i] = call(verb::post, target, key("tributi"), body, {{"Idempotency-Key", "same"}});
    }
    EXPECT_EQ(posts[i].status, 201u) << posts[i].body;
    ids.insert(json_of(posts[i])["externalId"].get<std::string>());
    EXPECT_TRUE(puts[i].status == 201u || puts[i].status == 200u) << puts[i].body;
    if (puts[i].status == 201u) ++created;
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(created, 1);
  EXPECT_EQ(listed("tributi", entity_a).size(), 2u);
}

TEST_F(api_e2e, bodies_over_one_megabyte_get_413) {
  // Refused on the announced length, before the body is read: send the head alone, so the
  // answer does not race with the upload.
  raw_connection c(daemon_->port());
  c.send("PUT " + api_path(entity_a, "/positions/big") +
         " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key("tributi") +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string((1 << 20) + 1) +
         "\r\n\r\n");
  const auto r = c.read_reply();
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  EXPECT_TRUE(listed("tributi", entity_a).empty());
}

}  // namespace
}  // namespace pagohub::test

namespace pagohub::test {
namespace {

using beast_http::verb;

// Creates that arrive together are written together (create_batcher.hpp); each still gets its
// own answer, its own notice number, and only its own application sees it.
TEST_F(api_e2e, concurrent_creates_of_several_applications_each_get_their_own_position) {
  struct call_spec {
    std::string app, fc, id;
  };
  std::vector<call_spec> specs;
  for (int i = 0; i < 12; ++i) {
    specs.push_back({"tributi", entity_a, "batch-a-" + std::to_string(i)});
    specs.push_back({"tributi-2", entity_a, "batch-a-" + std::to_string(i)});
    specs.push_back({"altrove", entity_b, "batch-b-" + std::to_string(i)});
  }
  std::vector<http_reply> replies(specs.size()), posts(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    threads.emplace_back(
        [&, i] { replies[i] = put(specs[i].app, specs[i].fc, specs[i].id, single_position()); });
  }
  for (std::size_t i = 0; i < posts.size(); ++i) {
    threads.emplace_back([&, i] {
      posts[i] = call(verb::post, api_path(entity_a, "/positions"), key("tributi"),
                      single_position().dump());
    });
  }
  for (auto& t : threads) t.join();

  std::set<std::string> notices;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    ASSERT_EQ(replies[i].status, 201u) << replies[i].body;
    const auto j = json_of(replies[i]);
    EXPECT_EQ(j["externalId"], specs[i].id);
    EXPECT_EQ(j["version"], 1);
    EXPECT_FALSE(replies[i].header("etag").empty());
    const std::string notice = j["paymentOptions"][0]["noticeNumber"];
    EXPECT_TRUE(notices.insert(specs[i].fc + notice).second) << notice;
    // Read back by its own application: the answer was what was stored.
    const auto back = get(specs[i].app, api_path(specs[i].fc, "/positions/" + specs[i].id));
    ASSERT_EQ(back.status, 200u);
    EXPECT_EQ(json_of(back)["paymentOptions"][0]["noticeNumber"], notice);
  }
  for (const auto& r : posts) {
    ASSERT_EQ(r.status, 201u) << r.body;
    EXPECT_TRUE(
        notices
            .insert(entity_a + json_of(r)["paymentOptions"][0]["noticeNumber"].get<std::string>())
            .second);
  }
  EXPECT_EQ(listed("tributi", entity_a).size(), 16u);
  EXPECT_EQ(listed("tributi-2", entity_a).size(), 12u);
  EXPECT_EQ(listed("altrove", entity_b).size(), 12u);
  const auto metrics = http_request(daemon_->port(), verb::get, "/metrics");
  EXPECT_NE(metrics.body.find("pagohub_api_batched_creates_total{outcome=\"created\"} 40\n"),
            std::string::npos)
      << metrics.body;
}

}  // namespace
}  // namespace pagohub::test
