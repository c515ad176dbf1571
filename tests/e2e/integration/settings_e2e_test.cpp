// Admins' runtime settings through the real daemon: an admin moves an integration's endpoint to
// a new path and the next receipts go there, without a restart and across a reload (SIGHUP),
// but cannot send the configured credentials to a second fake-bo on another port; operator and
// back-office keys cannot change settings; bad input gets a 400 with the field's path and
// changes nothing; If-Match guards concurrent changes; a reset goes back to the configuration;
// an override of an integration no longer configured shows as orphaned.
#include <pagohub/api/api_key.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <map>
#include <set>

#include "fake_bo.hpp"
#include "pap_fixture.hpp"
#include "support/eventually.hpp"

namespace pagohub::test {
namespace {

using namespace std::chrono_literals;
namespace http = boost::beast::http;
using nlohmann::json;
using test_support::eventually;

class settings_e2e : public pap_e2e {
 protected:
  void SetUp() override {
    if (!test_support::pg_available()) GTEST_SKIP() << test_support::pg_unavailable_reason();
    for (auto* bo : {&bo1_, &bo2_}) {
      fake_bo::settings s;
      s.require_api_key = "bo-secret-value";
      *bo = std::make_unique<fake_bo::server>(s);
      (*bo)->start();
    }
    pap_e2e::SetUp();
  }
  void TearDown() override {
    pap_e2e::TearDown();
    bo1_.reset();
    bo2_.reset();
  }

  std::string bo_url(const fake_bo::server& bo, const std::string& prefix = "/bo") const {
    return "http://127.0.0.1:" + std::to_string(bo.port()) + prefix;
  }

  std::string extra_toml() const override {
    ::setenv("PAGOHUB_TEST_BO_SECRET", "bo-secret-value", 1);
    const auto app = [](const char* id, const char* role, const api::new_api_key& k) {
      return std::string("[[application]]\nid = \"") + id + "\"\nname = \"" + id + "\"\nrole = \"" +
             role + "\"\nentities = [\"" + pap_entity + "\"]\napi_key_hashes = [\"" + k.hash_line +
             "\"]\n\n";
    };
    return pap_e2e::extra_toml() + "\n" + app("ops", "operator", ops_key_) +
           app("root", "admin", admin_key_) +
           "[[integration]]\nid = \"tests-push\"\nentities = [\"" + pap_entity +
           "\"]\nbase_url = \"" + bo_url(*bo1_) +
           "\"\nauth = \"api_key\"\nsecret_env = \"PAGOHUB_TEST_BO_SECRET\"\n"
           "timeout_ms = 2000\nmax_attempts = 100\nbackoff_initial_ms = 50\n"
           "backoff_max_ms = 300\n\n"
           // Another entity's: the operator of pap_entity does not learn that it exists.
           "[[integration]]\nid = \"tests-other\"\nentities = [\"" +
           other_station_entity + "\"]\nmode = \"pull\"\n";
  }

  http_reply send(http::verb method, const std::string& target, const api::new_api_key& key,
                  const std::string& body = {}, const std::string& if_match = {}) {
    std::map<std::string, std::string> headers = {{"Authorization", "Bearer " + key.key},
                                                  {"Content-Type", "application/json"}};
    if (!if_match.empty()) headers["If-Match"] = if_match;
    return http_request(daemon_->port(), method, target, body, headers);
  }

  // Receipt ids fake-bo `bo` acknowledged, on paths under `prefix`.
  static std::set<std::string> acked(const fake_bo::server& bo, const std::string& prefix = "/") {
    std::set<std::string> out;
    for (const auto& r : bo.log())
      if (r.method == "PUT" && r.answered / 100 == 2 && r.target.starts_with(prefix))
        out.insert(r.idempotency_key);
    return out;
  }

  std::string outbox() const {
    return scalar(
        "SELECT string_agg(state || ' ' || coalesce(integration_id, '-') || ' ' || "
        "coalesce(last_error, ''), '; ') FROM outbox");
  }

  long long overrides() { return count("SELECT count(*) FROM integration_overrides"); }

  std::unique_ptr<fake_bo::server> bo1_, bo2_;
  api::new_api_key ops_key_ = api::generate_api_key();
  api::new_api_key admin_key_ = api::generate_api_key();
  const std::string item_ = "/api/v1/admin/integrations/tests-push";
  const std::string settings_ = item_ + "/settings";
};

TEST_F(settings_e2e, admin_moves_the_endpoint_at_runtime_but_not_its_credentials_elsewhere) {
  const auto first = pay();
  ASSERT_TRUE(eventually([&] { return acked(*bo1_).contains(first); }))
      << bo1_->log_json() << " outbox: " << outbox() << daemon_->log();

  // As configured: no override, version 0.
  auto got = send(http::verb::get, item_, admin_key_);
  ASSERT_EQ(got.status, 200u) << got.body;
  EXPECT_EQ(got.header("etag"), "\"0\"");
  auto item = json::parse(got.body);
  EXPECT_TRUE(item["override"].is_null());
  EXPECT_EQ(item["configured"]["baseUrl"], bo_url(*bo1_));
  EXPECT_EQ(item["effective"]["baseUrl"], bo_url(*bo1_));
  EXPECT_EQ(item["effective"]["timeoutMs"], 2000);
  EXPECT_EQ(item["effective"]["maxAge"], "3d");
  EXPECT_FALSE(item["orphaned"].get<bool>());
  EXPECT_EQ(item["configured"].dump().find("bo-secret-value"), std::string::npos);

  const std::string move = R"({"baseUrl":")" + bo_url(*bo1_, "/bo-v2") +
                           R"(","timeoutMs":3000,"reason":"back-office API version 2"})";
  // Only admins change settings; operators may read.
  EXPECT_EQ(send(http::verb::patch, settings_, ops_key_, move).status, 403u);
  EXPECT_EQ(send(http::verb::patch, settings_, key_, move).status, 403u);
  EXPECT_EQ(send(http::verb::delete_, settings_, ops_key_).status, 403u);
  EXPECT_EQ(send(http::verb::get, item_, ops_key_).status, 200u);
  EXPECT_EQ(send(http::verb::get, item_, key_).status, 403u);
  // Another entity's integration is unknown to this operator, as one that does not exist.
  const std::string other = "/api/v1/admin/integrations/tests-other";
  EXPECT_EQ(send(http::verb::get, other, ops_key_).status, 404u);
  EXPECT_EQ(send(http::verb::post, other + "/suspend", ops_key_, R"({"reason":"x"})").status, 404u);
  EXPECT_EQ(send(http::verb::get, other, admin_key_).status, 200u);

  // Bad input: 400 with the field's path, nothing stored.
  auto bad = send(http::verb::patch, settings_, admin_key_,
                  R"({"baseUrl":"ftp://127.0.0.1/bo","reason":"typo"})");
  EXPECT_EQ(bad.status, 400u) << bad.body;
  EXPECT_EQ(bad.header("content-type"), "application/problem+json");
  EXPECT_NE(bad.body.find("\"/baseUrl\""), std::string::npos) << bad.body;
  bad = send(http::verb::patch, settings_, admin_key_,
             R"({"secret":"x","maxConcurrency":0,"colour":"red","reason":"r"})");
  EXPECT_EQ(bad.status, 400u) << bad.body;
  for (const char* path : {"\"/secret\"", "\"/colour\""})
    EXPECT_NE(bad.body.find(path), std::string::npos) << path << " " << bad.body;
  bad = send(http::verb::patch, settings_, admin_key_, R"({"maxConcurrency":0,"reason":"r"})");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("\"/maxConcurrency\""), std::string::npos) << bad.body;
  bad = send(http::verb::patch, settings_, admin_key_, R"({"mode":"file","reason":"r"})");
  EXPECT_EQ(bad.status, 400u);  // file mode needs a directory
  EXPECT_NE(bad.body.find("\"/directory\""), std::string::npos) << bad.body;
  EXPECT_EQ(send(http::verb::patch, settings_, admin_key_, R"({"timeoutMs":3000})").status,
            400u);  // no reason
  EXPECT_EQ(
      send(http::verb::patch, "/api/v1/admin/integrations/nope/settings", admin_key_, move).status,
      404u);
  EXPECT_EQ(send(http::verb::patch, settings_, admin_key_, move, "\"7\"").status, 412u);
  // The configured API key goes to the configured host and port only: another endpoint needs a
  // configuration change.
  const std::string away = R"({"baseUrl":")" + bo_url(*bo2_) + R"(","reason":"new host"})";
  bad = send(http::verb::patch, settings_, admin_key_, away, "\"0\"");
  EXPECT_EQ(bad.status, 400u) << bad.body;
  EXPECT_NE(bad.body.find("\"/baseUrl\""), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("change base_url in the configuration file"), std::string::npos)
      << bad.body;
  EXPECT_EQ(overrides(), 0);

  // The move, conditional on what was read.
  auto moved = send(http::verb::patch, settings_, admin_key_, move, "\"0\"");
  ASSERT_EQ(moved.status, 200u) << moved.body;
  EXPECT_EQ(moved.header("etag"), "\"1\"");
  item = json::parse(moved.body);
  EXPECT_EQ(item["override"],
            json::parse(R"({"baseUrl":")" + bo_url(*bo1_, "/bo-v2") + R"(","timeoutMs":3000})"));
  EXPECT_EQ(item["configured"]["baseUrl"], bo_url(*bo1_));
  EXPECT_EQ(item["effective"]["baseUrl"], bo_url(*bo1_, "/bo-v2"));
  EXPECT_EQ(item["effective"]["timeoutMs"], 3000);
  EXPECT_EQ(item["baseUrl"], bo_url(*bo1_, "/bo-v2"));
  EXPECT_EQ(item["overrideChangedBy"], "admin:root");
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = "
                  "'integrationSettingsChanged' AND actor_id = 'root' AND category = 'INTERNO'"),
            1);
  // The same ETag again is stale now.
  EXPECT_EQ(send(http::verb::patch, settings_, admin_key_, move, "\"0\"").status, 412u);

  // The next receipts go to the new path.
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(pay());
  ASSERT_TRUE(eventually([&] {
    const auto a = acked(*bo1_, "/bo-v2/");
    return std::all_of(ids.begin(), ids.end(), [&](const auto& id) { return a.contains(id); });
  })) << daemon_->log();
  EXPECT_EQ(acked(*bo1_, "/bo/"), std::set<std::string>{first});
  EXPECT_EQ(bo2_->count(), 0u);

  // A reload of the configuration keeps the override.
  daemon_->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] {
    return daemon_->log().find("entity registry reloaded") != std::string::npos;
  })) << daemon_->log();
  const auto after_reload = pay();
  ASSERT_TRUE(eventually([&] { return acked(*bo1_, "/bo-v2/").contains(after_reload); }))
      << daemon_->log();
  EXPECT_EQ(acked(*bo1_, "/bo/").size(), 1u);

  // Back to the configuration.
  auto reset = send(http::verb::delete_, settings_, admin_key_, R"({"reason":"moved back"})");
  ASSERT_EQ(reset.status, 200u) << reset.body;
  EXPECT_EQ(reset.header("etag"), "\"2\"");
  item = json::parse(reset.body);
  EXPECT_TRUE(item["override"].is_null());
  EXPECT_EQ(item["effective"]["baseUrl"], bo_url(*bo1_));
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = "
                  "'integrationSettingsReset' AND actor_id = 'root'"),
            1);
  // The served contract documents the routes.
  const auto doc =
      json::parse(http_request(daemon_->port(), http::verb::get, "/api/v1/openapi.json").body);
  EXPECT_TRUE(doc["paths"]["/api/v1/admin/integrations/{integrationId}"].contains("get"));
  EXPECT_TRUE(
      doc["paths"]["/api/v1/admin/integrations/{integrationId}/settings"].contains("patch"));
  EXPECT_TRUE(
      doc["paths"]["/api/v1/admin/integrations/{integrationId}/settings"].contains("delete"));

  const auto back = pay();
  ASSERT_TRUE(eventually([&] { return acked(*bo1_, "/bo/").contains(back); })) << daemon_->log();
  EXPECT_FALSE(acked(*bo1_, "/bo-v2/").contains(back));
  EXPECT_EQ(bo2_->count(), 0u);
}

TEST_F(settings_e2e, override_of_an_integration_no_longer_configured_is_shown_as_orphaned) {
  count(
      "WITH i AS (INSERT INTO integration_overrides (integration_id, timeout_ms, version, "
      "changed_at, changed_by_kind, changed_by_id) VALUES ('gone', 1000, 1, now(), 'admin', "
      "'root') RETURNING 1) SELECT count(*) FROM i");
  auto list = send(http::verb::get, "/api/v1/admin/integrations", admin_key_);
  ASSERT_EQ(list.status, 200u) << list.body;
  const auto items = json::parse(list.body)["items"];
  ASSERT_EQ(items.size(), 3u) << list.body;
  EXPECT_EQ(items[0]["id"], "tests-push");
  EXPECT_EQ(items[1]["id"], "tests-other");
  EXPECT_EQ(items[2]["id"], "gone");
  EXPECT_TRUE(items[2]["orphaned"].get<bool>());
  EXPECT_TRUE(items[2]["effective"].is_null());
  EXPECT_EQ(items[2]["override"]["timeoutMs"], 1000);
  // Operators see the integrations of their entities only: an orphan names none.
  auto ops = send(http::verb::get, "/api/v1/admin/integrations", ops_key_);
  EXPECT_EQ(json::parse(ops.body)["items"].size(), 1u);
  // An admin can clear it.
  auto cleared = send(http::verb::delete_, "/api/v1/admin/integrations/gone/settings", admin_key_);
  ASSERT_EQ(cleared.status, 200u) << cleared.body;
  EXPECT_EQ(
      json::parse(send(http::verb::get, "/api/v1/admin/integrations", admin_key_).body)["items"]
          .size(),
      2u);
  // Deliveries are unaffected.
  const auto id = pay();
  ASSERT_TRUE(eventually([&] { return acked(*bo1_).contains(id); })) << daemon_->log();
}

}  // namespace
}  // namespace pagohub::test
