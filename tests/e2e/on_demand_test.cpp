// On-demand positions through the real daemon (issue 6): the Nodo verifies notices the gateway
// does not hold; the daemon asks a back-office on loopback (GET /notices/{noticeNumber}) within
// the service's budget, stores what it answers, and getPayment reuses it. Every SOAP message is
// checked against the official XSDs (pap_fixture.hpp).
#include <pagohub/core/notice_number.hpp>

#include <support/loopback_bo.hpp>

#include <thread>

#include "pap_fixture.hpp"

namespace pagohub::test {
namespace {

using namespace std::chrono_literals;

const std::string od_entity = "12345678903";  // segregation code 07
const std::string od_iban = "IT67P0306909606000000012345";

std::string rome_date_in(int days) {
  return positions::format_date(
      positions::rome_date(std::chrono::system_clock::now() + std::chrono::days(days)));
}

// The back-office's answer: a position in the REST PUT body's shape.
std::string position_body(const std::string& notice, long long cents) {
  return R"({"externalId":"tari-)" + notice.substr(10) +
         R"(","debtor":{"type":"F","fiscalCode":"RSSMRA80A01H501U","fullName":"Mario Rossi"},)"
         R"("description":"TARI 2026","serviceCode":"TARI","referenceYear":2026,)"
         R"("paymentOptions":[{"kind":"SINGLE","noticeNumber":")" +
         notice + R"(","amount":)" + std::to_string(cents) + R"(,"dueDate":")" + rome_date_in(30) +
         R"(","description":"Rata unica","transfers":[{"index":1,"amount":)" +
         std::to_string(cents) + R"(,"remittanceInformation":"TARI 2026"}]}]})";
}

class on_demand_e2e : public pap_e2e {
 protected:
  std::string extra_toml() const override {
    return pap_e2e::extra_toml() + "\n[[entity]]\nfiscal_code = \"" + od_entity +
           "\"\nname = \"Comune su richiesta\"\nsegregation_code = 7\n"
           "[[entity.iban]]\niban = \"" +
           od_iban +
           "\"\n"
           "[[entity.service]]\ncode = \"TARI\"\ndescription = \"TARI\"\n"
           "taxonomy = \"9/0101002IM/\"\ndefault_ibans = [\"" +
           od_iban +
           "\"]\n"
           "lookup = \"od-bo\"\nlookup_budget_ms = 500\n\n"
           "[[application]]\nid = \"od-bo\"\nname = \"od\"\nentities = [\"" +
           od_entity + "\"]\napi_key_hashes = [\"" + od_key_.hash_line +
           "\"]\n\n"
           "[[integration]]\nid = \"od-bo\"\nentities = [\"" +
           od_entity + "\"]\napplication = \"od-bo\"\nmode = \"push\"\nbase_url = \"" +
           bo_.base_url() + "\"\ntimeout_ms = 1000\n";
  }

  nodo_sim::identity od_id() const {
    nodo_sim::identity id;
    id.entity = od_entity;
    return id;
  }

  std::string notice(std::uint64_t n) const {
    return core::notice_number::make_aux3(7, 4000000 + n).str();
  }

  long long stored(const std::string& notice) const {
    return count("SELECT count(*) FROM payment_options WHERE entity_fiscal_code = '" + od_entity +
                 "' AND notice_number = '" + notice + "'");
  }

  mutable test_support::loopback_bo bo_;
  api::new_api_key od_key_ = api::generate_api_key();
};

TEST_F(on_demand_e2e, an_unknown_notice_is_fetched_stored_and_get_payment_reuses_it) {
  const auto nav = notice(1);
  bo_.set(nav, {200, position_body(nav, 15050), 50ms});
  const auto t0 = std::chrono::steady_clock::now();
  const auto v = call(nodo_sim::verify_xml(od_id(), nav), {"amount", "fiscalCodePA"});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  EXPECT_EQ(v.outcome, "OK") << v.body;
  EXPECT_EQ(v.fields.at("amount"), "150.50");
  EXPECT_EQ(v.fields.at("fiscalCodePA"), od_entity);
  EXPECT_EQ(stored(nav), 1);
  EXPECT_EQ(scalar("SELECT application_id || ' ' || status FROM positions WHERE "
                   "entity_fiscal_code = '" +
                   od_entity + "'"),
            "od-bo VALID");

  const auto g = call(nodo_sim::get_payment_xml(od_id(), nav, true), {"paymentAmount"});
  EXPECT_EQ(g.outcome, "OK") << g.body;
  EXPECT_EQ(g.fields.at("paymentAmount"), "150.50");
  EXPECT_EQ(bo_.lookups(nav), 1);  // getPayment answered from what verify stored

  // The GET is an INTERFACCIA exchange in the journal (req and rsp, through the writer's
  // queue), under the request id of the verify that asked: the verify's own SOAP events and the
  // stored position's INTERNO event share it.
  const std::string lookups =
      "SELECT count(*) FROM journal_events WHERE interface = 'webhook' "
      "AND category = 'INTERFACCIA' AND notice_number = '" +
      nav + "'";
  ASSERT_EQ(count_reaching(lookups, 2), 2);
  const auto rid = scalar(
      "SELECT request_id FROM journal_events WHERE interface = 'webhook' "
      "AND event_subtype = 'rsp' AND notice_number = '" +
      nav + "'");
  ASSERT_FALSE(rid.empty());
  EXPECT_EQ(count(lookups + " AND request_id = '" + rid +
                  "' AND event_type = 'GET /notices/{noticeNumber}' AND entity_fc = '" + od_entity +
                  "' AND provider_id = 'od-bo' AND outcome = 'OK'"),
            2);
  EXPECT_EQ(scalar("SELECT http_status FROM journal_events WHERE request_id = '" + rid +
                   "' AND interface = 'webhook' AND event_subtype = 'rsp'"),
            "200");
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE request_id = '" + rid +
                  "' AND event_type = 'onDemandLookup'"),
            1);
  // The verify's own req and rsp come through the writer's queue too.
  EXPECT_EQ(count_reaching("SELECT count(*) FROM journal_events WHERE request_id = '" + rid +
                               "' AND event_type = 'paVerifyPaymentNotice'",
                           2),
            2);
}

TEST_F(on_demand_e2e, an_old_model_activation_without_a_verify_asks_the_back_office_too) {
  // A PSP may send paaAttivaRPT straight away: the notice is known only to the back-office.
  const auto nav = notice(5);
  bo_.set(nav, {200, position_body(nav, 2000), 10ms});
  const auto a = call(
      nodo_sim::attiva_rpt_xml(od_id(), nav.substr(1), nodo_sim::new_token(), "BCITITMM", 2000), {},
      nodo_sim::old_model_path);
  EXPECT_EQ(a.outcome, "OK") << a.body;
  EXPECT_EQ(stored(nav), 1);
  EXPECT_EQ(bo_.lookups(nav), 1);
}

// While a 2018-model payment of the position is in progress, its RPT carries the stored
// amounts and the position cannot change (sql/0030): an overdue notice is not refreshed, in
// either model, and the stored position answers. The RT ends that.
TEST_F(on_demand_e2e, a_payment_in_progress_is_not_refreshed) {
  const auto nav = notice(6);
  const std::string iuv = nav.substr(1);
  const std::string ccp = nodo_sim::new_token();
  bo_.set(nav, {200, position_body(nav, 2000), 10ms});
  ASSERT_EQ(call(nodo_sim::attiva_rpt_xml(od_id(), iuv, ccp, "BCITITMM", 2000), {},
                 nodo_sim::old_model_path)
                .outcome,
            "OK");
  ASSERT_EQ(bo_.lookups(nav), 1);
  // Overdue: a verify would ask for the amount of today.
  scalar("UPDATE payment_options SET due_date = current_date - 1 WHERE notice_number = '" + nav +
         "'");
  bo_.set(nav, {200, position_body(nav, 2500), 10ms});
  const auto v = call(nodo_sim::verify_xml(od_id(), nav), {"amount"});
  EXPECT_EQ(v.outcome, "OK") << v.body;
  EXPECT_EQ(v.fields.at("amount"), "20.00");
  const auto again = call(nodo_sim::attiva_rpt_xml(od_id(), iuv, ccp, "BCITITMM", 2000), {},
                          nodo_sim::old_model_path);
  EXPECT_EQ(again.outcome, "OK") << again.body;
  EXPECT_EQ(bo_.lookups(nav), 1);

  // The Nodo's negative RT ends the payment: the next verify asks the back-office again.
  ASSERT_EQ(call(nodo_sim::invia_rt_xml(od_id(), iuv, ccp,
                                        nodo_sim::rt_document(od_id(), iuv, ccp, 2000, "1")),
                 {}, nodo_sim::old_model_path)
                .outcome,
            "OK");
  const auto refreshed = call(nodo_sim::verify_xml(od_id(), nav), {"amount"});
  EXPECT_EQ(refreshed.outcome, "OK") << refreshed.body;
  EXPECT_EQ(refreshed.fields.at("amount"), "25.00");
  EXPECT_EQ(bo_.lookups(nav), 2);
}

TEST_F(on_demand_e2e, a_slow_back_office_gives_a_system_error_within_two_seconds) {
  const auto nav = notice(2);
  bo_.set(nav, {200, position_body(nav, 15050), 3000ms});
  const auto t0 = std::chrono::steady_clock::now();
  const auto v = call(nodo_sim::verify_xml(od_id(), nav));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(v.outcome, "KO") << v.body;
  EXPECT_EQ(v.fault_code, "PAA_SYSTEM_ERROR");
  EXPECT_NE(v.fault_description.find("500 ms"), std::string::npos) << v.fault_description;
  EXPECT_LT(took, 2000ms);
  EXPECT_EQ(stored(nav), 0);
}

TEST_F(on_demand_e2e, a_notice_unknown_to_the_back_office_is_unknown) {
  const auto nav = notice(3);  // not scripted: the back-office answers 404
  const auto v = call(nodo_sim::verify_xml(od_id(), nav));
  EXPECT_EQ(v.outcome, "KO") << v.body;
  EXPECT_EQ(v.fault_code, "PAA_PAGAMENTO_SCONOSCIUTO");
  EXPECT_EQ(bo_.lookups(nav), 1);
}

TEST_F(on_demand_e2e, an_invalid_answer_gives_a_system_error_and_stores_nothing) {
  const auto nav = notice(4);
  bo_.set(nav, {200, "{\"externalId\": \"x\", oops", 0ms});
  const auto v = call(nodo_sim::verify_xml(od_id(), nav));
  EXPECT_EQ(v.outcome, "KO") << v.body;
  EXPECT_EQ(v.fault_code, "PAA_SYSTEM_ERROR");
  EXPECT_EQ(stored(nav), 0);
  EXPECT_EQ(count("SELECT count(*) FROM positions WHERE entity_fiscal_code = '" + od_entity + "'"),
            0);
}

TEST_F(on_demand_e2e, entities_without_a_lookup_are_not_affected) {
  // The demo entity has no lookup: an unknown notice is unknown, nobody is asked.
  const auto v = call(nodo_sim::verify_xml(id_, core::notice_number::make_aux3(1, 999).str()));
  EXPECT_EQ(v.fault_code, "PAA_PAGAMENTO_SCONOSCIUTO");
}

}  // namespace
}  // namespace pagohub::test
