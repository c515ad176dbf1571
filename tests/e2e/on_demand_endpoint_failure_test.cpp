// On-demand lookups through an integration whose endpoint cannot be used, through the real
// daemon: a back-office on https (fake-bo with a certificate of a throwaway CA, answering GET
// /notices/{n} under any prefix) and an integration trusting that CA through ca_file, which the
// client reads when it is built. A move of the endpoint stored while the file is broken leaves
// the lookups at the previous endpoint, shown in a gauge and logged once; the file repaired, the
// new endpoint is used without a restart. At start-up, with no previous client, lookups fail
// until the file is repaired, and that is logged once, not at every lookup.
#include <pagohub/core/notice_number.hpp>
#include <pagohub/positions/dates.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <thread>

#include "support/eventually.hpp"
#include "tls_bo_fixture.hpp"

namespace pagohub::test {
namespace {

using namespace std::chrono_literals;
namespace http = boost::beast::http;
using test_support::eventually;

const std::string od_entity = "12345678903";  // segregation code 07
const std::string od_iban = "IT67P0306909606000000012345";

class on_demand_endpoint_failure_e2e : public tls_bo_e2e {
 protected:
  fake_bo::settings bo_settings() override {
    // The positions the back-office answers for, whatever the path's prefix.
    const auto positions = ca_.dir() / "positions.json";
    {
      std::ofstream out(positions);
      out << "{";
      for (int n = 1; n <= 6; ++n)
        out << (n > 1 ? "," : "") << '"' << notice(n) << "\":" << body(n);
      out << "}";
    }
    fake_bo::settings s;
    s.positions_file = positions.string();
    return s;
  }

  static std::string notice(int n) { return core::notice_number::make_aux3(7, 4100000 + n).str(); }

  // A position in the REST PUT body's shape, due in 30 days.
  static std::string body(int n) {
    const auto nav = notice(n);
    const auto due = positions::format_date(
        positions::rome_date(std::chrono::system_clock::now() + std::chrono::days(30)));
    return R"({"externalId":"tls-)" + std::to_string(n) +
           R"(","debtor":{"type":"F","fiscalCode":"RSSMRA80A01H501U","fullName":"Mario Rossi"},)"
           R"("description":"TARI 2026","serviceCode":"TARI","referenceYear":2026,)"
           R"("paymentOptions":[{"kind":"SINGLE","noticeNumber":")" +
           nav + R"(","amount":1000,"dueDate":")" + due +
           R"(","description":"Rata unica","transfers":[{"index":1,"amount":1000,)"
           R"("remittanceInformation":"TARI 2026"}]}]})";
  }

  std::string extra_toml() const override {
    return pap_e2e::extra_toml() + "\n[[entity]]\nfiscal_code = \"" + od_entity +
           "\"\nname = \"Comune su richiesta\"\nsegregation_code = 7\n[[entity.iban]]\niban = \"" +
           od_iban +
           "\"\n[[entity.service]]\ncode = \"TARI\"\ndescription = \"TARI\"\n"
           "taxonomy = \"9/0101002IM/\"\ndefault_ibans = [\"" +
           od_iban +
           "\"]\nlookup = \"od-bo\"\nlookup_budget_ms = 1000\n\n"
           "[[application]]\nid = \"od-bo\"\nname = \"od\"\nentities = [\"" +
           od_entity + "\"]\napi_key_hashes = [\"" + od_key_.hash_line +
           "\"]\n\n[[integration]]\nid = \"od-bo\"\nentities = [\"" + od_entity +
           "\"]\napplication = \"od-bo\"\nmode = \"push\"\nbase_url = \"" + bo_url("/bo") +
           "\"\nca_file = \"" + ca_.ca_file() +
           "\"\ntimeout_ms = 1000\n\n"
           // An operator of the entity, who reads the integration's state.
           "[[application]]\nid = \"ops\"\nname = \"ops\"\nrole = \"operator\"\nentities = [\"" +
           od_entity + "\"]\napi_key_hashes = [\"" + ops_key_.hash_line + "\"]\n";
  }

  // The integration as the operators' GET shows it.
  nlohmann::json integration() {
    const auto r =
        http_request(daemon_->port(), http::verb::get, "/api/v1/admin/integrations/od-bo", {},
                     {{"Authorization", "Bearer " + ops_key_.key}});
    EXPECT_EQ(r.status, 200u) << r.body;
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  nodo_sim::answer verify(int n) {
    nodo_sim::identity id;
    id.entity = od_entity;
    return call(nodo_sim::verify_xml(id, notice(n)), {"amount"});
  }

  // Whether the back-office was asked for notice `n` on a path under `prefix`.
  bool asked(const std::string& prefix, int n) const {
    for (const auto& r : bo_->log())
      if (r.method == "GET" && r.target == prefix + "/notices/" + notice(n)) return true;
    return false;
  }
  std::size_t lookups() const {
    std::size_t k = 0;
    for (const auto& r : bo_->log()) k += r.method == "GET" ? 1 : 0;
    return k;
  }

  std::string metrics() { return http_request(daemon_->port(), http::verb::get, "/metrics").body; }
  static std::string gauge(int value) {
    return "pagohub_on_demand_endpoint_failed{integration=\"od-bo\"} " + std::to_string(value) +
           "\n";
  }

  api::new_api_key od_key_ = api::generate_api_key();
  api::new_api_key ops_key_ = api::generate_api_key();
  const std::string said_ = "on-demand lookups: integration od-bo: its endpoint ";
};

TEST_F(on_demand_endpoint_failure_e2e,
       a_new_endpoint_that_cannot_be_used_leaves_lookups_at_the_old_one) {
  auto v = verify(1);
  ASSERT_EQ(v.outcome, "OK") << v.body << daemon_->log();
  EXPECT_TRUE(asked("/bo", 1)) << bo_->log_json();
  EXPECT_NE(metrics().find(gauge(0)), std::string::npos) << metrics();
  EXPECT_FALSE(integration().contains("lookupEndpointFailure"));

  // The CA file breaks; the client built before keeps what it read. A move of the endpoint
  // stored meanwhile (by another daemon, whose files are readable: written here directly) reaches
  // this daemon with the overrides, within 2 s.
  ca_.break_ca();
  count(
      "WITH i AS (INSERT INTO integration_overrides (integration_id, base_url, version, "
      "changed_at, changed_by_kind, changed_by_id, reason) VALUES ('od-bo', '" +
      bo_url("/bo-v2") +
      "', 1, now(), 'admin', 'root', 'moved on another daemon') RETURNING 1) "
      "SELECT count(*) FROM i");
  ASSERT_TRUE(eventually([&] { return metrics().find(gauge(1)) != std::string::npos; }))
      << metrics() << daemon_->log();

  // Lookups go on at the previous endpoint, and succeed.
  for (int n : {2, 3}) {
    v = verify(n);
    EXPECT_EQ(v.outcome, "OK") << v.body << daemon_->log();
    EXPECT_EQ(v.fields.at("amount"), "10.00");
    EXPECT_TRUE(asked("/bo", n)) << bo_->log_json();
  }
  EXPECT_FALSE(asked("/bo-v2", 2) || asked("/bo-v2", 3)) << bo_->log_json();
  // The operators see it in the integration, next to the delivery's view of the same endpoint.
  const auto shown = integration();
  ASSERT_TRUE(shown.contains("lookupEndpointFailure")) << shown.dump();
  EXPECT_EQ(shown["lookupEndpointFailure"]["lookingUpAt"], bo_url("/bo")) << shown.dump();
  EXPECT_NE(shown["lookupEndpointFailure"]["error"].get<std::string>().find("cannot load CA file"),
            std::string::npos)
      << shown.dump();
  EXPECT_TRUE(shown["lookupEndpointFailure"]["since"].is_string());
  // Logged once for the change, not at every lookup nor at every scrape of the gauge.
  EXPECT_NE(metrics().find(gauge(1)), std::string::npos);
  EXPECT_EQ(times_logged(said_ + bo_url("/bo-v2") + " cannot be used"), 1u) << daemon_->log();
  EXPECT_EQ(times_logged("lookups still go to " + bo_url("/bo") + " with its previous settings"),
            1u)
      << daemon_->log();

  // Repaired, the file is read again at the next lookup: the new endpoint, without a restart.
  ca_.repair_ca();
  v = verify(4);
  EXPECT_EQ(v.outcome, "OK") << v.body << daemon_->log();
  EXPECT_TRUE(asked("/bo-v2", 4)) << bo_->log_json();
  EXPECT_FALSE(asked("/bo", 4)) << bo_->log_json();
  EXPECT_NE(metrics().find(gauge(0)), std::string::npos) << metrics();
  EXPECT_EQ(times_logged(said_ + bo_url("/bo-v2") + " is in use now"), 1u) << daemon_->log();
  EXPECT_FALSE(integration().contains("lookupEndpointFailure"));
}

// At start-up there is no client to fall back to: lookups fail (PAA_SYSTEM_ERROR) without asking,
// the failure is logged once rather than at every lookup, and the repaired file is picked up at
// the next lookup.
class on_demand_endpoint_broken_at_start_e2e : public on_demand_endpoint_failure_e2e {
 protected:
  bool broken_at_start() const override { return true; }
};

TEST_F(on_demand_endpoint_broken_at_start_e2e, lookups_fail_until_the_file_is_repaired) {
  for (int n : {1, 2, 3}) {
    const auto v = verify(n);
    EXPECT_EQ(v.outcome, "KO") << v.body;
    EXPECT_EQ(v.fault_code, "PAA_SYSTEM_ERROR") << v.body;
  }
  EXPECT_EQ(lookups(), 0u) << bo_->log_json();
  EXPECT_NE(metrics().find(gauge(2)), std::string::npos) << metrics();
  EXPECT_EQ(times_logged(said_ + bo_url("/bo") + " cannot be used"), 1u) << daemon_->log();
  EXPECT_EQ(times_logged("its lookups fail until it can"), 1u) << daemon_->log();
  const auto shown = integration();
  ASSERT_TRUE(shown.contains("lookupEndpointFailure")) << shown.dump();
  EXPECT_TRUE(shown["lookupEndpointFailure"]["lookingUpAt"].is_null()) << shown.dump();

  ca_.repair_ca();
  const auto v = verify(4);
  EXPECT_EQ(v.outcome, "OK") << v.body << daemon_->log();
  EXPECT_TRUE(asked("/bo", 4)) << bo_->log_json();
  EXPECT_NE(metrics().find(gauge(0)), std::string::npos) << metrics();
}

}  // namespace
// The GET shows the failure of the settings in effect only: moved elsewhere by a reload, the
// endpoint that failed says nothing of the new one until a lookup has tried it.
TEST_F(on_demand_endpoint_broken_at_start_e2e,
       a_failure_of_settings_no_longer_in_effect_is_hidden) {
  ASSERT_EQ(verify(1).fault_code, "PAA_SYSTEM_ERROR");
  ASSERT_TRUE(integration().contains("lookupEndpointFailure"));
  count(
      "WITH i AS (INSERT INTO integration_overrides (integration_id, base_url, version, "
      "changed_at, changed_by_kind, changed_by_id, reason) VALUES ('od-bo', '" +
      bo_url("/bo-v3") +
      "', 1, now(), 'admin', 'root', 'moved on another daemon') RETURNING 1) "
      "SELECT count(*) FROM i");
  // No lookup and no scrape of /metrics meanwhile: the GET alone.
  nlohmann::json shown;
  EXPECT_TRUE(eventually([&] {
    shown = integration();
    return shown["baseUrl"] == bo_url("/bo-v3") && !shown.contains("lookupEndpointFailure");
  })) << shown.dump();
  // The CA file is still broken: the next lookup fails with the new settings, and shows it.
  EXPECT_EQ(verify(2).fault_code, "PAA_SYSTEM_ERROR");
  shown = integration();
  ASSERT_TRUE(shown.contains("lookupEndpointFailure")) << shown.dump();
  EXPECT_TRUE(shown["lookupEndpointFailure"]["lookingUpAt"].is_null()) << shown.dump();
}

}  // namespace pagohub::test
