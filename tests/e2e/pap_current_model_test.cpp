// The current model end to end (DIGEST §1): verify, getPayment(V2), sendRT(V2) through the
// daemon, with the receipts' idempotency and anomalies, and the journal.
#include <sys/wait.h>

#include <future>
#include <vector>

#include <nlohmann/json.hpp>

#include <pagohub/core/notice_number.hpp>

#include "pap_fixture.hpp"

namespace pagohub::test {
namespace {

using nodo_sim::get_payment_xml;
using nodo_sim::send_rt_xml;
using nodo_sim::verify_xml;

TEST_F(pap_e2e, a_payment_verify_get_payment_send_rt) {
  const std::string notice = make_position(12000, 2);
  const auto v = call(verify_xml(id_, notice), {"amount", "allCCP", "options", "fiscalCodePA"});
  EXPECT_EQ(v.outcome, "OK") << v.body;
  EXPECT_EQ(v.fields.at("amount"), "120.00");
  EXPECT_EQ(v.fields.at("options"), "EQ");
  EXPECT_EQ(v.fields.at("allCCP"), "false");  // transfer 1 has no postal account
  EXPECT_EQ(v.fields.at("fiscalCodePA"), pap_entity);

  const auto g = call(get_payment_xml(id_, notice, true), {"creditorReferenceId", "paymentAmount"});
  EXPECT_EQ(g.outcome, "OK") << g.body;
  EXPECT_EQ(g.fields.at("creditorReferenceId"), notice.substr(1));  // IUV (aux 3)
  const auto info = nodo_sim::read_payment(g);
  ASSERT_TRUE(info);
  ASSERT_EQ(info->transfers.size(), 2u);
  EXPECT_EQ(info->transfers[0].amount + info->transfers[1].amount, 12000);

  auto r = nodo_sim::receipt_for(id_, notice, *info);
  const auto s = call(send_rt_xml(id_, r));
  EXPECT_EQ(s.outcome, "OK") << s.body;

  EXPECT_EQ(
      count("SELECT count(*) FROM receipts WHERE applied AND anomaly IS NULL AND receipt_id = '" +
            r.receipt_id + "'"),
      1);
  EXPECT_EQ(scalar("SELECT status FROM payment_options WHERE notice_number = '" + notice + "'"),
            "PAID");
  EXPECT_EQ(scalar("SELECT p.status FROM positions p JOIN payment_options o ON o.position_id = "
                   "p.id WHERE o.notice_number = '" +
                   notice + "'"),
            "PAID");
  EXPECT_EQ(
      count("SELECT count(*) FROM outbox WHERE kind = 'receipt' AND key = '" + r.receipt_id + "'"),
      1);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'receiptApplied'"), 1);

  // Paid now: verify says so.
  const auto again = call(verify_xml(id_, notice));
  EXPECT_EQ(again.outcome, "KO");
  EXPECT_EQ(again.fault_code, "PAA_PAGAMENTO_DUPLICATO");

  // Every exchange is journaled, req and rsp, with the SANP fields (the writer is batched).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  long long events = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    events = count(
        "SELECT count(*) FROM journal_events WHERE category = 'INTERFACCIA' AND interface = "
        "'soap_pa' AND entity_fc = '" +
        pap_entity + "' AND event_type = 'paSendRTV2' AND ccp = '" + r.receipt_id +
        "' AND psp_id = 'BCITITMM' AND iuv = '" + notice.substr(1) + "'");
    if (events == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(events, 2);
}

TEST_F(pap_e2e, get_payment_is_repeatable_and_locks_nothing) {
  const std::string notice = make_position(5000);
  const auto first = call(get_payment_xml(id_, notice, false));
  const auto second = call(get_payment_xml(id_, notice, false));
  EXPECT_EQ(first.outcome, "OK") << first.body;
  EXPECT_EQ(first.body, second.body);
  const auto v = call(verify_xml(id_, notice));
  EXPECT_EQ(v.outcome, "OK");  // no PAA_PAGAMENTO_IN_CORSO in the current model
  const auto metrics = http_request(daemon_->port(), boost::beast::http::verb::get, "/metrics");
  EXPECT_NE(
      metrics.body.find("pagohub_pap_answers_total{operation=\"paGetPayment\",outcome=\"OK\"} 2"),
      std::string::npos);
}

TEST_F(pap_e2e, postal_transfer_type_gives_the_postal_account) {
  const std::string notice = make_position(9000, 2);
  const auto g = call(get_payment_xml(id_, notice, true, std::string("POSTAL")));
  const auto info = nodo_sim::read_payment(g);
  ASSERT_TRUE(info) << g.body;
  EXPECT_EQ(info->transfers[1].iban, "IT22L0760101600000012345678");
  EXPECT_EQ(info->transfers[0].iban, "IT97U0503411701000000001234");
}

TEST_F(pap_e2e, the_same_receipt_twice_is_ok_and_changes_nothing) {
  const std::string notice = make_position();
  auto r = receipt_of(notice);
  EXPECT_EQ(call(send_rt_xml(id_, r)).outcome, "OK");
  const auto before = scalar("SELECT version FROM positions");
  EXPECT_EQ(call(send_rt_xml(id_, r)).outcome, "OK");
  EXPECT_EQ(count("SELECT count(*) FROM receipts"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox"), 1);
  EXPECT_EQ(scalar("SELECT version FROM positions"), before);
}

TEST_F(pap_e2e, a_second_receipt_for_a_paid_notice_is_stored_as_an_anomaly) {
  const std::string notice = make_position();
  auto first = receipt_of(notice);
  EXPECT_EQ(call(send_rt_xml(id_, first)).outcome, "OK");
  auto second = first;
  second.receipt_id = nodo_sim::new_token();
  const auto s = call(send_rt_xml(id_, second));
  EXPECT_EQ(s.outcome, "OK") << s.body;  // never refused
  EXPECT_EQ(scalar("SELECT anomaly FROM receipts WHERE receipt_id = '" + second.receipt_id + "'"),
            "ALREADY_PAID");
  EXPECT_EQ(
      scalar("SELECT applied::text FROM receipts WHERE receipt_id = '" + second.receipt_id + "'"),
      "false");
  EXPECT_EQ(scalar("SELECT receipt_id FROM payment_options"), first.receipt_id);
}

TEST_F(pap_e2e, receipts_that_do_not_fit_are_stored_and_flagged) {
  // Transfers not matching the position: applied, flagged.
  const std::string n1 = make_position(10000, 2);
  auto r1 = receipt_of(n1);
  r1.transfers[0].amount -= 100;
  r1.transfers[1].amount += 100;
  EXPECT_EQ(call(send_rt_xml(id_, r1)).outcome, "OK");
  EXPECT_EQ(scalar("SELECT anomaly || ' ' || applied FROM receipts WHERE receipt_id = '" +
                   r1.receipt_id + "'"),
            "TRANSFERS_MISMATCH true");

  // Unknown notice: stored, not applied.
  nodo_sim::receipt_spec r2 = r1;
  r2.receipt_id = nodo_sim::new_token();
  r2.notice_number = "301000000009999929";
  r2.iuv = r2.notice_number.substr(1);
  EXPECT_EQ(call(send_rt_xml(id_, r2)).outcome, "OK");
  EXPECT_EQ(scalar("SELECT anomaly || ' ' || applied FROM receipts WHERE receipt_id = '" +
                   r2.receipt_id + "'"),
            "UNKNOWN_POSITION false");

  // Stand-in: applied, flagged for the operators.
  const std::string n3 = make_position(2500);
  auto r3 = receipt_of(n3);
  r3.stand_in = true;
  EXPECT_EQ(call(send_rt_xml(id_, r3)).outcome, "OK");
  EXPECT_EQ(scalar("SELECT anomaly || ' ' || applied || ' ' || stand_in FROM receipts WHERE "
                   "receipt_id = '" +
                   r3.receipt_id + "'"),
            "STAND_IN true true");

  // A KO receipt: stored, not applied.
  const std::string n4 = make_position(2500);
  auto r4 = receipt_of(n4);
  r4.outcome = "KO";
  EXPECT_EQ(call(send_rt_xml(id_, r4)).outcome, "OK");
  EXPECT_EQ(scalar("SELECT status FROM payment_options WHERE notice_number = '" + n4 + "'"),
            "UNPAID");
}

TEST_F(pap_e2e, the_v1_primitives_work_too) {
  const std::string notice = make_position(3000);
  auto r = receipt_of(notice, false);
  const auto s = call(send_rt_xml(id_, r));
  EXPECT_EQ(s.outcome, "OK") << s.body;
  EXPECT_EQ(scalar("SELECT source FROM receipts"), "paSendRT");
}

TEST_F(pap_e2e, position_states_map_to_their_faults) {
  const auto fault_of = [&](const std::string& notice) {
    return call(verify_xml(id_, notice)).fault_code;
  };
  EXPECT_EQ(fault_of("301000000009999929"), "PAA_PAGAMENTO_SCONOSCIUTO");
  const std::string expired = make_position();
  scalar(
      "UPDATE positions SET status = 'EXPIRED' WHERE id = (SELECT position_id FROM "
      "payment_options WHERE notice_number = '" +
      expired + "')");
  EXPECT_EQ(fault_of(expired), "PAA_PAGAMENTO_SCADUTO");
  const std::string cancelled = make_position();
  scalar(
      "UPDATE positions SET status = 'CANCELLED' WHERE id = (SELECT position_id FROM "
      "payment_options WHERE notice_number = '" +
      cancelled + "')");
  EXPECT_EQ(fault_of(cancelled), "PAA_PAGAMENTO_ANNULLATO");
  const std::string draft = make_position();
  scalar(
      "UPDATE positions SET status = 'DRAFT' WHERE id = (SELECT position_id FROM "
      "payment_options WHERE notice_number = '" +
      draft + "')");
  EXPECT_EQ(fault_of(draft), "PAA_PAGAMENTO_SCONOSCIUTO");
  // A KO answer's journal events carry the IUV the notice number holds (SANP: required).
  const auto unknown = core::notice_number::make_aux3(1, 7777777);
  EXPECT_EQ(fault_of(unknown.str()), "PAA_PAGAMENTO_SCONOSCIUTO");
  EXPECT_EQ(count_reaching("SELECT count(*) FROM journal_events WHERE category = 'INTERFACCIA' "
                           "AND event_type = 'paVerifyPaymentNotice' AND notice_number = '" +
                               unknown.str() + "' AND iuv = '" + unknown.iuv() + "'",
                           2),
            2);
}

TEST_F(pap_e2e, configuration_faults_come_in_order) {
  const std::string notice = make_position();
  nodo_sim::identity wrong = id_;
  wrong.broker = "99999999999";
  wrong.station = "99999999999_01";
  wrong.entity = "00000000000";
  // Everything wrong: the broker is reported first.
  EXPECT_EQ(call(verify_xml(wrong, notice)).fault_code, "PAA_ID_INTERMEDIARIO_ERRATO");
  wrong.broker = id_.broker;
  EXPECT_EQ(call(verify_xml(wrong, notice)).fault_code, "PAA_STAZIONE_INT_ERRATA");
  wrong.station = id_.station;
  EXPECT_EQ(call(verify_xml(wrong, notice)).fault_code, "PAA_ID_DOMINIO_ERRATO");
  wrong.entity = other_station_entity;  // configured, but served by another station
  EXPECT_EQ(call(verify_xml(wrong, notice)).fault_code, "PAA_ID_DOMINIO_ERRATO");
  // A receipt for an entity not served is not stored: it is not this station's.
  auto r = receipt_of(notice);
  EXPECT_EQ(call(send_rt_xml(wrong, r)).fault_code, "PAA_ID_DOMINIO_ERRATO");
  EXPECT_EQ(count("SELECT count(*) FROM receipts"), 0);
}

TEST_F(pap_e2e, refunds_are_answered_not_supported) {
  const std::string body =
      "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
      "xmlns:ppt=\"http://ws.pagamenti.telematici.gov/\"><s:Body><ppt:paaInviaEsitoStorno>"
      "<identificativoIntermediarioPA>15376371009</identificativoIntermediarioPA>"
      "<identificativoStazioneIntermediarioPA>15376371009_01</"
      "identificativoStazioneIntermediarioPA>"
      "<identificativoDominio>01234567897</identificativoDominio>"
      "<identificativoUnivocoVersamento>01000000000000144</identificativoUnivocoVersamento>"
      "<codiceContestoPagamento>abc</codiceContestoPagamento><er>PEVSLz4=</er>"
      "</ppt:paaInviaEsitoStorno></s:Body></s:Envelope>";
  const auto a = call(body, {}, nodo_sim::old_model_path);
  EXPECT_EQ(a.outcome, "KO");
  EXPECT_EQ(a.fault_code, "PAA_SEMANTICA");
  EXPECT_NE(a.fault_description.find("not supported"), std::string::npos);
}

TEST_F(pap_e2e, the_wsdl_is_served) {
  const auto r =
      http_request(daemon_->port(), boost::beast::http::verb::get, "/pagopa/paForNode?wsdl");
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find("paVerifyPaymentNotice"), std::string::npos);
  EXPECT_NE(r.body.find("schemaLocation=\"?xsd=paForNode.xsd\""), std::string::npos);
  EXPECT_NE(r.body.find("/pagopa/paForNode\""), std::string::npos);
  const auto x = http_request(daemon_->port(), boost::beast::http::verb::get,
                              "/pagopa/paForNode?xsd=paForNode.xsd");
  EXPECT_EQ(x.status, 200u);
  EXPECT_NE(x.body.find("paSendRTV2Request"), std::string::npos);
  const auto old = http_request(daemon_->port(), boost::beast::http::verb::get,
                                "/pagopa/PaPerNodo?wsdl=PaPerNodoPagamentoPsp");
  EXPECT_EQ(old.status, 200u);
  EXPECT_NE(old.body.find("paaAttivaRPT"), std::string::npos);
}

// Runs nodo-sim with `args` against the daemon; returns (exit code, output).
std::pair<int, std::string> nodo_sim_run(const std::string& url, const std::string& args) {
  const std::string cmd = std::string(PAGOHUB_NODO_SIM) + " " + args + " --url " + url + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_F(pap_e2e, nodo_sim_commands) {
  const std::string notice = make_position(4200);
  auto [rc, out] = nodo_sim_run(url(), "pay --notice " + notice);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("paSendRTV2: HTTP 200 OK"), std::string::npos) << out;
  EXPECT_EQ(scalar("SELECT status FROM payment_options WHERE notice_number = '" + notice + "'"),
            "PAID");
  const std::string receipt_id = scalar("SELECT receipt_id FROM receipts");

  // A re-delivery of that receipt: OK twice, nothing new.
  std::tie(rc, out) =
      nodo_sim_run(url(), "replay-receipt --notice " + notice + " --receipt-id " + receipt_id);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(count("SELECT count(*) FROM receipts"), 1);

  // Paying it again fails at verify, as a PSP would see.
  std::tie(rc, out) = nodo_sim_run(url(), "pay --notice " + notice);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("PAA_PAGAMENTO_DUPLICATO"), std::string::npos) << out;

  const std::string other = make_position(1300);
  std::tie(rc, out) = nodo_sim_run(url(), "standin-receipt --notice " + other + " --amount 1300");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE stand_in AND anomaly = 'STAND_IN'"), 1);

  const std::string old = make_position(2100);
  std::tie(rc, out) = nodo_sim_run(url(), "old-model-pay --notice " + old);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("paaInviaRT: HTTP 200 OK"), std::string::npos) << out;
  EXPECT_EQ(scalar("SELECT status FROM payment_options WHERE notice_number = '" + old + "'"),
            "PAID");
}

}  // namespace
}  // namespace pagohub::test

namespace pagohub::test {
namespace {

// The checker behind PAGOHUB_EXPECT_CONFORMS catches what the XSD forbids.
TEST(soap_contract, refuses_what_the_contract_refuses) {
  const auto* contract = test_support::contract();
  if (contract == nullptr) GTEST_SKIP() << "the pagoPA contract folder is absent";
  const nodo_sim::identity id;
  EXPECT_EQ(contract->check(nodo_sim::verify_xml(id, "301000000000000144")), "");
  EXPECT_NE(contract->check(nodo_sim::verify_xml(id, "30100000000000014")), "");
  std::string qualified = nodo_sim::verify_xml(id, "301000000000000144");
  qualified.replace(qualified.find("<idPA>"), 6, "<pafn:idPA>");
  qualified.replace(qualified.find("</idPA>"), 7, "</pafn:idPA>");
  EXPECT_NE(contract->check(qualified), "");
  const std::string rt = nodo_sim::invia_rt_xml(id, "01000000000000144", "ccp", "<x/>");
  EXPECT_EQ(contract->check(rt), "");
}

}  // namespace
}  // namespace pagohub::test

namespace pagohub::test {
namespace {

// The Nodo's calls have connections of their own ([pap] connections): with every connection of
// the shared pool held (the test daemon's four, each a back-office's cancel waiting for a row
// lock), a notice is still verified, its payment data given and its receipt stored, and the
// cancels are still waiting when the receipt's OK arrives and its exchange is in the journal;
// /readyz still says ready.
TEST_F(pap_e2e, the_nodos_calls_are_served_while_the_shared_pool_is_busy) {
  constexpr int pool = 4;  // daemon_process's [db] pool_size
  for (int i = 0; i < pool; ++i) make_position();
  const std::string notice = make_position(5000);
  const auto lock_waits = [this] {
    return count(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'");
  };
  pqxx::connection c(db_->conninfo());
  pqxx::work holding(c);
  holding.exec(
      "SELECT 1 FROM positions WHERE external_id IN ('pos-1', 'pos-2', 'pos-3', 'pos-4') "
      "FOR UPDATE");
  std::vector<std::future<http_reply>> cancels;
  for (int i = 1; i <= pool; ++i) {
    cancels.push_back(std::async(std::launch::async, [this, i] {
      return http_request(
          daemon_->port(), boost::beast::http::verb::post,
          "/api/v1/entities/" + pap_entity + "/positions/pos-" + std::to_string(i) + "/cancel", {},
          {{"Authorization", "Bearer " + key_.key}});
    }));
  }
  ASSERT_TRUE(
      test_support::eventually([&] { return lock_waits() >= pool; }, std::chrono::seconds(4)));

  EXPECT_EQ(call(verify_xml(id_, notice)).outcome, "OK");
  auto r = receipt_of(notice);
  const auto sent = call(send_rt_xml(id_, r));
  EXPECT_EQ(sent.outcome, "OK") << sent.body;
  // The journal's writer has its own connection: the exchanges are recorded meanwhile.
  EXPECT_EQ(count_reaching("SELECT count(*) FROM journal_events WHERE category = 'INTERFACCIA' "
                           "AND event_type = 'paSendRTV2' AND notice_number = '" +
                               notice + "'",
                           2),
            2);
  // The daemon stays ready for its load balancer meanwhile.
  EXPECT_EQ(http_request(daemon_->port(), boost::beast::http::verb::get, "/readyz").status, 200u);
  EXPECT_GE(lock_waits(), pool);  // answered without one of the shared pool's connections
  holding.commit();
  for (auto& f : cancels) EXPECT_EQ(f.get().status, 200u);
  EXPECT_EQ(scalar("SELECT status FROM positions WHERE external_id = 'pos-5'"), "PAID");
  EXPECT_EQ(count("SELECT count(*) FROM positions WHERE status = 'CANCELLED'"), pool);
}

// The back-office reads a position's receipts over REST (docs/api/backoffice.yaml).
TEST_F(pap_e2e, the_rest_api_lists_a_positions_receipts) {
  const std::string notice = make_position(6400);
  auto r = receipt_of(notice);
  ASSERT_EQ(call(nodo_sim::send_rt_xml(id_, r)).outcome, "OK");
  const auto reply = http_request(daemon_->port(), boost::beast::http::verb::get,
                                  "/api/v1/entities/" + pap_entity + "/positions/pos-1/receipts",
                                  {}, {{"Authorization", "Bearer " + key_.key}});
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_NE(reply.body.find("\"receiptId\":\"" + r.receipt_id + "\""), std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("\"amount\":6400"), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find("\"nextCursor\":null"), std::string::npos) << reply.body;
  // The accounting entries of the option it paid, per transfer, in their order.
  const auto j = nlohmann::json::parse(reply.body);
  ASSERT_EQ(j["items"].size(), 1u) << reply.body;
  const auto& accounting = j["items"][0]["transfers"][0]["accounting"];
  ASSERT_EQ(accounting.size(), 2u) << reply.body;
  EXPECT_EQ(accounting[0], (nlohmann::json{{"chapter", "1010"},
                                           {"article", "2"},
                                           {"year", 2025},
                                           {"assessment", "A-77"},
                                           {"amount", 3200}}));
  EXPECT_EQ(accounting[1]["chapter"], "1020");
  EXPECT_EQ(accounting[1]["amount"], 3200);

  // A second receipt for the paid notice paid nothing of it: no accounting entries.
  auto second = r;
  second.receipt_id = nodo_sim::new_token();
  ASSERT_EQ(call(nodo_sim::send_rt_xml(id_, second)).outcome, "OK");
  const auto one = http_request(daemon_->port(), boost::beast::http::verb::get,
                                "/api/v1/entities/" + pap_entity + "/receipts/" + second.receipt_id,
                                {}, {{"Authorization", "Bearer " + key_.key}});
  ASSERT_EQ(one.status, 200u) << one.body;
  EXPECT_EQ(nlohmann::json::parse(one.body)["transfers"][0]["accounting"], nlohmann::json::array())
      << one.body;
}

}  // namespace
}  // namespace pagohub::test
