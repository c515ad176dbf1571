// A push integration whose endpoint cannot be used through the real daemon: a back-office on
// https (fake-bo with a certificate of a throwaway CA, made with the openssl command) and an
// integration trusting that CA through ca_file, which the client reads when it is built. With
// the file broken, an admin's move of the endpoint is refused; a move stored all the same (as a
// daemon whose files are readable stores it) leaves the deliveries at the previous endpoint,
// shown in the admin GET and in a gauge, logged once; the file repaired, the new endpoint is
// used without a restart. At start-up, with nothing to fall back to, messages wait until the file
// is repaired.
#include <pagohub/api/api_key.hpp>

#include <nlohmann/json.hpp>

#include <set>
#include <thread>

#include "support/eventually.hpp"
#include "tls_bo_fixture.hpp"

namespace pagohub::test {
namespace {

using namespace std::chrono_literals;
namespace http = boost::beast::http;
using nlohmann::json;
using test_support::eventually;

class endpoint_failure_e2e : public tls_bo_e2e {
 protected:
  void break_ca() { ca_.break_ca(); }
  void repair_ca() { ca_.repair_ca(); }

  std::string extra_toml() const override {
    return pap_e2e::extra_toml() + "\n[[application]]\nid = \"root\"\nname = \"root\"\n" +
           "role = \"admin\"\nentities = [\"" + pap_entity + "\"]\napi_key_hashes = [\"" +
           admin_key_.hash_line + "\"]\n\n[[integration]]\nid = \"tests-tls\"\nentities = [\"" +
           pap_entity + "\"]\nbase_url = \"" + bo_url("/bo") + "\"\nca_file = \"" + ca_.ca_file() +
           "\"\ntimeout_ms = 2000\nmax_attempts = 100\nbackoff_initial_ms = 50\n"
           "backoff_max_ms = 300\n";
  }

  http_reply send(http::verb method, const std::string& target, const std::string& body = {}) {
    return http_request(
        daemon_->port(), method, target, body,
        {{"Authorization", "Bearer " + admin_key_.key}, {"Content-Type", "application/json"}});
  }

  json item() {
    const auto got = send(http::verb::get, item_);
    EXPECT_EQ(got.status, 200u) << got.body;
    return json::parse(got.body, nullptr, false);
  }

  std::string metrics() { return http_request(daemon_->port(), http::verb::get, "/metrics").body; }
  static std::string gauge(int value) {
    return "pagohub_delivery_endpoint_failed{integration=\"tests-tls\"} " + std::to_string(value) +
           "\n";
  }

  // Receipt ids the back-office acknowledged on paths under `prefix`.
  std::set<std::string> acked(const std::string& prefix) const {
    std::set<std::string> out;
    for (const auto& r : bo_->log())
      if (r.method == "PUT" && r.answered / 100 == 2 && r.target.starts_with(prefix))
        out.insert(r.idempotency_key);
    return out;
  }

  api::new_api_key admin_key_ = api::generate_api_key();
  const std::string item_ = "/api/v1/admin/integrations/tests-tls";
};

TEST_F(endpoint_failure_e2e, a_new_endpoint_that_cannot_be_used_leaves_deliveries_at_the_old_one) {
  const auto first = pay();
  ASSERT_TRUE(eventually([&] { return acked("/bo/").contains(first); }))
      << bo_->log_json() << daemon_->log();
  EXPECT_NE(metrics().find(gauge(0)), std::string::npos);
  EXPECT_FALSE(item().contains("endpointFailure"));

  // The CA file breaks; the lane built before keeps what it read.
  break_ca();
  const std::string move =
      R"({"baseUrl":")" + bo_url("/bo-v2") + R"(","reason":"back-office API version 2"})";
  // This daemon cannot build the new endpoint's client: the move is refused, nothing stored.
  auto refused = send(http::verb::patch, item_ + "/settings", move);
  EXPECT_EQ(refused.status, 400u) << refused.body;
  EXPECT_EQ(refused.header("content-type"), "application/problem+json");
  EXPECT_NE(refused.body.find("\"/baseUrl\""), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("cannot be used now"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("cannot load CA file"), std::string::npos) << refused.body;
  EXPECT_EQ(count("SELECT count(*) FROM integration_overrides"), 0);

  // Files can also break after a move was accepted, and another daemon of the database, whose
  // files are readable, accepts the move this one refused. The row it would store, written
  // directly: this daemon reads it with the overrides (every 2 s) and must keep delivering.
  count(
      "WITH i AS (INSERT INTO integration_overrides (integration_id, base_url, version, "
      "changed_at, changed_by_kind, changed_by_id, reason) VALUES ('tests-tls', '" +
      bo_url("/bo-v2") +
      "', 1, now(), 'admin', 'root', 'moved on another daemon') RETURNING 1) "
      "SELECT count(*) FROM i");
  ASSERT_TRUE(eventually([&] { return item().contains("endpointFailure"); })) << daemon_->log();
  auto shown = item();
  EXPECT_EQ(shown["effective"]["baseUrl"], bo_url("/bo-v2"));
  EXPECT_EQ(shown["endpointFailure"]["deliveringTo"], bo_url("/bo")) << shown.dump();
  EXPECT_NE(shown["endpointFailure"]["error"].get<std::string>().find("cannot load CA file"),
            std::string::npos)
      << shown.dump();
  EXPECT_TRUE(shown["endpointFailure"]["since"].is_string());
  EXPECT_NE(metrics().find(gauge(1)), std::string::npos) << metrics();

  // Deliveries go on at the previous endpoint.
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) ids.push_back(pay());
  ASSERT_TRUE(eventually([&] {
    const auto a = acked("/bo/");
    return a.contains(ids[0]) && a.contains(ids[1]);
  })) << bo_->log_json()
      << daemon_->log();
  EXPECT_TRUE(acked("/bo-v2/").empty());
  // Logged once for the change, not at every poll (every 500 ms).
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(times_logged("its endpoint " + bo_url("/bo-v2") + " cannot be used"), 1u)
      << daemon_->log();
  EXPECT_EQ(times_logged("still delivering at " + bo_url("/bo")), 1u) << daemon_->log();

  // Repaired, the file is read again at once: the new endpoint is used, without a restart.
  repair_ca();
  const auto after = pay();
  ASSERT_TRUE(eventually([&] { return acked("/bo-v2/").contains(after); }))
      << bo_->log_json() << daemon_->log();
  EXPECT_FALSE(acked("/bo/").contains(after));
  EXPECT_FALSE(item().contains("endpointFailure"));
  EXPECT_NE(metrics().find(gauge(0)), std::string::npos) << metrics();
  EXPECT_EQ(times_logged("its endpoint " + bo_url("/bo-v2") + " is in use now"), 1u)
      << daemon_->log();

  // And with the files readable, this daemon accepts a change of the endpoint again.
  auto touched = send(http::verb::patch, item_ + "/settings",
                      R"({"timeoutMs":3000,"reason":"slower since version 2"})");
  ASSERT_EQ(touched.status, 200u) << touched.body;
  EXPECT_EQ(json::parse(touched.body)["effective"]["timeoutMs"], 3000);
  const auto last = pay();
  ASSERT_TRUE(eventually([&] { return acked("/bo-v2/").contains(last); }))
      << bo_->log_json() << daemon_->log();
  EXPECT_EQ(acked("/bo/").size(), 3u);
}

// At start-up there is no previous endpoint: the messages wait (PENDING, nothing lost), the
// failure shows as at runtime, and the repaired file is picked up without a restart.
class endpoint_broken_at_start_e2e : public endpoint_failure_e2e {
 protected:
  bool broken_at_start() const override { return true; }
};

TEST_F(endpoint_broken_at_start_e2e, messages_wait_until_the_file_is_repaired) {
  const auto id = pay();
  ASSERT_TRUE(eventually([&] { return item().contains("endpointFailure"); })) << daemon_->log();
  auto shown = item();
  EXPECT_TRUE(shown["endpointFailure"]["deliveringTo"].is_null()) << shown.dump();
  EXPECT_NE(metrics().find(gauge(2)), std::string::npos) << metrics();
  ASSERT_TRUE(eventually([&] {
    return count(
               "SELECT count(*) FROM outbox WHERE state = 'PENDING' AND integration_id = "
               "'tests-tls'") == 1;
  })) << daemon_->log();
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(bo_->count(), 0u);
  EXPECT_EQ(times_logged("its messages wait until it can"), 1u) << daemon_->log();

  repair_ca();
  ASSERT_TRUE(eventually([&] { return acked("/bo/").contains(id); }))
      << bo_->log_json() << daemon_->log();
  EXPECT_FALSE(item().contains("endpointFailure"));
  EXPECT_NE(metrics().find(gauge(0)), std::string::npos) << metrics();
}

}  // namespace
}  // namespace pagohub::test
