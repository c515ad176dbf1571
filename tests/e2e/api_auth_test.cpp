// Back-office API access through the real daemon: API keys (401), grants (403), tenant
// isolation, rate limits (429), reload of applications on SIGHUP, the public OpenAPI document
// and the `apikey new` command.
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <pqxx/pqxx>

#include "api_fixture.hpp"

namespace pagohub::test {
namespace {

using beast_http::verb;
using namespace std::chrono_literals;

TEST_F(api_e2e, requests_without_a_valid_key_get_401) {
  const std::string target = api_path(entity_a, "/positions");
  const auto none = call(verb::get, target, "");
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(none.header("content-type"), "application/problem+json");
  EXPECT_EQ(none.header("www-authenticate"), "Bearer realm=\"pagohub\"");

  const auto wrong = call(verb::get, target, api::generate_api_key().key);
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(wrong.header("www-authenticate"), "Bearer realm=\"pagohub\", error=\"invalid_token\"");
  EXPECT_EQ(call(verb::get, target, "not-a-key").status, 401u);
  // The hash line is not a key.
  EXPECT_EQ(call(verb::get, target, keys_.at("tributi").hash_line).status, 401u);

  const auto basic = http_request(daemon_->port(), verb::get, target, {},
                                  {{"Authorization", "Basic " + key("tributi")}});
  EXPECT_EQ(basic.status, 401u);
  // Writes are refused the same way, and change nothing.
  EXPECT_EQ(
      call(verb::put, api_path(entity_a, "/positions/x1"), "", single_position().dump()).status,
      401u);

  // Both header forms work; the scheme is case-insensitive.
  EXPECT_EQ(call(verb::get, target, key("tributi")).status, 200u);
  EXPECT_EQ(
      http_request(daemon_->port(), verb::get, target, {}, {{"X-API-Key", key("tributi")}}).status,
      200u);
  EXPECT_EQ(http_request(daemon_->port(), verb::get, target, {},
                         {{"Authorization", "bearer " + key("tributi")}})
                .status,
            200u);
  EXPECT_TRUE(listed("tributi", entity_a).empty());

  // The key never reaches the log; the refusal does.
  const std::string log = daemon_->log();
  for (const auto& [app, k] : keys_) EXPECT_EQ(log.find(k.key), std::string::npos) << app;
  EXPECT_NE(log.find("refused an unknown API key"), std::string::npos);
}

TEST_F(api_e2e, entities_and_services_not_granted_get_403) {
  // An entity the key does not hold, whether or not it exists.
  for (const char* fc : {entity_b.c_str(), "00000000000", "abc"}) {
    const auto r = get("tributi", api_path(fc, "/positions"));
    EXPECT_EQ(r.status, 403u) << fc << " " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json");
  }
  // A service the key does not hold: the mensa application may load MENSA only.
  const auto tari = put("mensa", entity_a, "m1", single_position(5000, "TARI"));
  EXPECT_EQ(tari.status, 403u) << tari.body;
  EXPECT_EQ(error_paths(tari), std::vector<std::string>{"/serviceCode"});
  const auto listed_tari = get("mensa", api_path(entity_a, "/positions?service=TARI"));
  EXPECT_EQ(listed_tari.status, 403u);
  EXPECT_EQ(put("mensa", entity_a, "m1", single_position(5000, "MENSA")).status, 201u);
  EXPECT_EQ(get("mensa", api_path(entity_a, "/positions?service=MENSA")).status, 200u);
  EXPECT_EQ(listed("mensa", entity_a), std::vector<std::string>{"m1"});
  EXPECT_TRUE(listed("tributi", entity_a).empty());  // nothing of TARI was stored

  // A notice of a service the key does not hold.
  ASSERT_EQ(put("tributi", entity_a, "t1", single_position()).status, 201u);
  const auto t1 = json_of(get("tributi", api_path(entity_a, "/positions/t1")));
  const std::string notice = t1["paymentOptions"][0]["noticeNumber"];
  EXPECT_EQ(get("mensa", api_path(entity_a, "/notices/" + notice)).status, 403u);
  EXPECT_EQ(get("tributi", api_path(entity_a, "/notices/" + notice)).status, 200u);
}

TEST_F(api_e2e, a_stored_position_of_a_service_not_granted_is_not_replaced) {
  // mensa created m1 for MENSA; the position now belongs to TARI (as when an application's
  // grant narrows after it stored positions). A PUT naming MENSA must not take it over.
  ASSERT_EQ(put("mensa", entity_a, "m1", single_position(5000, "MENSA")).status, 201u);
  {
    pqxx::connection c(db_->conninfo());
    pqxx::work w(c);
    w.exec_params(
        "UPDATE positions SET service_code = 'TARI' WHERE entity_fiscal_code = $1 "
        "AND application_id = 'mensa' AND external_id = 'm1'",
        entity_a);
    w.commit();
  }
  const auto r = put("mensa", entity_a, "m1", single_position(7000, "MENSA"));
  EXPECT_EQ(r.status, 403u) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  EXPECT_NE(r.body.find("TARI"), std::string::npos) << r.body;
  // Conditional or not, nothing changed.
  const auto cond = call(verb::put, api_path(entity_a, "/positions/m1"), key("mensa"),
                         single_position(7000, "MENSA").dump(), {{"If-Match", "\"1\""}});
  EXPECT_EQ(cond.status, 403u) << cond.body;
  pqxx::connection c(db_->conninfo());
  pqxx::work w(c);
  const auto row = w.exec_params1(
      "SELECT service_code, version FROM positions WHERE entity_fiscal_code = $1 "
      "AND external_id = 'm1'",
      entity_a);
  EXPECT_EQ(row[0].as<std::string>(), "TARI");
  EXPECT_EQ(row[1].as<long long>(), 1);
  // A new position of a granted service is still created.
  EXPECT_EQ(put("mensa", entity_a, "m2", single_position(5000, "MENSA")).status, 201u);
}

TEST_F(api_e2e, an_application_never_reads_lists_or_changes_another_tenants_positions) {
  ASSERT_EQ(put("tributi", entity_a, "a-1", single_position()).status, 201u);
  auto b_body = single_position();
  ASSERT_EQ(put("altrove", entity_b, "b-1", b_body).status, 201u) << daemon_->log();
  const auto a1 = json_of(get("tributi", api_path(entity_a, "/positions/a-1")));
  const std::string notice_a = a1["paymentOptions"][0]["noticeNumber"];
  const auto b1 = json_of(get("altrove", api_path(entity_b, "/positions/b-1")));
  EXPECT_EQ(b1["paymentOptions"][0]["transfers"][0]["iban"], iban_b);

  // Entity B's application on entity A's URLs: refused before anything is read or written.
  const std::string ka = "altrove";
  EXPECT_EQ(get(ka, api_path(entity_a, "/positions/a-1")).status, 403u);
  EXPECT_EQ(get(ka, api_path(entity_a, "/positions")).status, 403u);
  EXPECT_EQ(get(ka, api_path(entity_a, "/notices/" + notice_a)).status, 403u);
  EXPECT_EQ(get(ka, api_path(entity_a, "/positions/a-1/receipts")).status, 403u);
  EXPECT_EQ(put(ka, entity_a, "a-1", single_position(1)).status, 403u);
  EXPECT_EQ(
      call(verb::post, api_path(entity_a, "/positions"), key(ka), single_position().dump()).status,
      403u);
  EXPECT_EQ(call(verb::post, api_path(entity_a, "/positions/a-1/publish"), key(ka)).status, 403u);
  EXPECT_EQ(call(verb::post, api_path(entity_a, "/positions/a-1/cancel"), key(ka)).status, 403u);
  // On its own entity's URLs, entity A's external id and notice do not exist.
  EXPECT_EQ(get(ka, api_path(entity_b, "/positions/a-1")).status, 404u);
  EXPECT_EQ(get(ka, api_path(entity_b, "/notices/" + notice_a)).status, 404u);
  EXPECT_EQ(listed(ka, entity_b), std::vector<std::string>{"b-1"});

  // Another application of the same entity owns other external ids: a-1 is not its own.
  EXPECT_EQ(get("tributi-2", api_path(entity_a, "/positions/a-1")).status, 404u);
  EXPECT_TRUE(listed("tributi-2", entity_a).empty());
  EXPECT_EQ(call(verb::post, api_path(entity_a, "/positions/a-1/cancel"), key("tributi-2")).status,
            404u);
  // Its own a-1 is a separate position.
  ASSERT_EQ(put("tributi-2", entity_a, "a-1", single_position(7000)).status, 201u);

  // Entity A's position is untouched by all of the above.
  const auto after = json_of(get("tributi", api_path(entity_a, "/positions/a-1")));
  EXPECT_EQ(after["status"], "DRAFT");
  EXPECT_EQ(after["version"], 1);
  EXPECT_EQ(after["paymentOptions"][0]["amount"], 12000);
  EXPECT_EQ(listed("tributi", entity_a), std::vector<std::string>{"a-1"});
}

TEST_F(api_e2e, too_many_requests_get_429_with_retry_after) {
  // The slow application: rate 1/s, burst 2.
  const std::string target = api_path(entity_a, "/positions");
  EXPECT_EQ(get("slow", target).status, 200u);
  EXPECT_EQ(get("slow", target).status, 200u);
  const auto refused = get("slow", target);
  ASSERT_EQ(refused.status, 429u) << refused.body;
  EXPECT_EQ(refused.header("content-type"), "application/problem+json");
  const int retry = std::stoi(refused.header("retry-after"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 2);
  // Other keys have their own buckets.
  EXPECT_EQ(get("tributi", target).status, 200u);
  // After Retry-After, a token is back (polled with a deadline rather than slept).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(retry + 5);
  unsigned status = 0;
  while (std::chrono::steady_clock::now() < until && status != 200u) {
    std::this_thread::sleep_for(200ms);
    status = get("slow", target).status;
  }
  EXPECT_EQ(status, 200u);
  const auto metrics = http_request(daemon_->port(), verb::get, "/metrics");
  EXPECT_NE(metrics.body.find("pagohub_api_refusals_total{reason=\"rate_limited\"}"),
            std::string::npos);
}

TEST_F(api_e2e, a_key_has_one_budget_across_positions_and_journal) {
  // The slow application: rate 1/s, burst 2, spent on two route families.
  const std::string positions = api_path(entity_a, "/positions");
  EXPECT_EQ(get("slow", positions).status, 200u);
  EXPECT_EQ(get("slow", "/api/v1/journal").status, 200u);
  const auto refused = get("slow", "/api/v1/journal");
  ASSERT_EQ(refused.status, 429u) << refused.body;
  EXPECT_EQ(refused.header("content-type"), "application/problem+json");
  EXPECT_FALSE(refused.header("retry-after").empty());
  EXPECT_EQ(get("slow", positions).status, 429u);
}

TEST_F(api_e2e, sighup_reloads_applications) {
  const auto made = api::generate_api_key();
  const std::string target = api_path(entity_a, "/positions");
  EXPECT_EQ(call(verb::get, target, made.key).status, 401u);
  std::ofstream(apps_dir_ / "late.toml")
      << "[[application]]\nid = \"late\"\nname = \"Late\"\nentities = [\"" << entity_a
      << "\"]\napi_key_hashes = [\"" << made.hash_line << "\"]\n";
  daemon_->signal(SIGHUP);
  const auto until = std::chrono::steady_clock::now() + 10s;
  unsigned status = 0;
  while (std::chrono::steady_clock::now() < until && status != 200u) {
    status = call(verb::get, target, made.key).status;
    if (status != 200u) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(status, 200u) << daemon_->log();

  // A bad file is refused whole: the previous applications stay in force.
  std::ofstream(apps_dir_ / "zz-bad.toml") << "[[application]]\nid = \"Bad Id\"\n";
  daemon_->signal(SIGHUP);
  const auto until2 = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until2 &&
         daemon_->log().find("reload refused") == std::string::npos) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(daemon_->log().find("reload refused"), std::string::npos);
  EXPECT_EQ(call(verb::get, target, made.key).status, 200u);
  EXPECT_EQ(get("tributi", target).status, 200u);
}

TEST_F(api_e2e, openapi_document_is_public_json) {
  const auto r = http_request(daemon_->port(), verb::get, "/api/v1/openapi.json");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("content-type"), "application/json");
  const auto doc = json_of(r);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 3), "3.1");
  // Every route the daemon serves is in the document, with its method.
  const std::string base = "/api/v1/entities/{entityFiscalCode}";
  const std::vector<std::pair<std::string, std::string>> routes = {
      {base + "/positions", "get"},
      {base + "/positions", "post"},
      {base + "/positions/{externalId}", "get"},
      {base + "/positions/{externalId}", "put"},
      {base + "/positions/{externalId}/publish", "post"},
      {base + "/positions/{externalId}/cancel", "post"},
      {base + "/positions/{externalId}/receipts", "get"},
      {base + "/notices/{noticeNumber}", "get"},
      {base + "/receipts", "get"},
      {base + "/receipts/{receiptId}", "get"},
      {base + "/imports", "post"},
      {base + "/imports/{importId}", "get"},
      {base + "/imports/{importId}/report", "get"},
      {"/api/v1/journal", "get"},
      {"/api/v1/journal/{id}", "get"},
      {base + "/notices/{noticeNumber}/timeline", "get"},
      {"/api/v1/admin/deliveries", "get"},
      {"/api/v1/admin/deliveries/{id}", "get"},
      {"/api/v1/admin/deliveries/{id}/resend", "post"},
      {"/api/v1/admin/deliveries/resend", "post"},
      {"/api/v1/admin/deliveries/requeue-dead", "post"},
      {"/api/v1/admin/integrations", "get"},
      {"/api/v1/admin/integrations/{integrationId}", "get"},
      {"/api/v1/admin/integrations/{integrationId}/settings", "patch"},
      {"/api/v1/admin/integrations/{integrationId}/settings", "delete"},
      {"/api/v1/admin/integrations/{integrationId}/suspend", "post"},
      {"/api/v1/admin/integrations/{integrationId}/resume", "post"},
      {"/api/v1/openapi.json", "get"}};
  for (const auto& [path, method] : routes) {
    ASSERT_TRUE(doc["paths"].contains(path)) << path;
    EXPECT_TRUE(doc["paths"][path].contains(method)) << method << " " << path;
  }
}

TEST(e2e_apikey, new_prints_a_key_and_its_hash_line_once) {
  const auto [code, out] = run_pagohubd("apikey new --application tributi");
  ASSERT_EQ(code, 0) << out;
  std::istringstream lines(out);
  std::string key, hash;
  std::getline(lines, key);
  std::getline(lines, hash);
  EXPECT_TRUE(api::looks_like_api_key(key)) << key;
  EXPECT_EQ(hash, api::api_key_hash_line(key));
  const auto [code2, out2] = run_pagohubd("apikey new");
  ASSERT_EQ(code2, 0);
  EXPECT_EQ(out2.find(key), std::string::npos);  // a new key each time
  EXPECT_EQ(run_pagohubd("apikey new --application 'Not Valid'").first, 2);
  EXPECT_EQ(run_pagohubd("apikey old").first, 2);
}

}  // namespace
}  // namespace pagohub::test
