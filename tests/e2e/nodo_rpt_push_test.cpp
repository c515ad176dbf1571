// The old-model RPT push through the real daemon (DIGEST §2.1): after paaAttivaRPT pagohubd sends
// the RPT with nodoInviaRPT to nodo-sim in server mode, which records what it received; faults
// are retried, PPT_RPT_DUPLICATA counts as sent, a repeated activation sends the same RPT again.
#include <pagohub/journal/query.hpp>
#include <pagohub/nodo/xsd_validator.hpp>

#include <cstdio>
#include <iostream>

#include "nodo_server.hpp"
#include "pap_fixture.hpp"

namespace pagohub::test {
namespace {

using namespace nodo_sim;
using json = nlohmann::json;

class rpt_push_e2e : public pap_e2e {
 protected:
  void SetUp() override {
    server_options so;
    if (const auto dir = test_support::pagopa_spec_dir()) so.contract_dir = *dir;
    sim_ = std::make_unique<nodo_server>(json{{"operations", json::object()}}, so);
    sim_port_ = sim_->start();
    pap_e2e::SetUp();
  }
  void TearDown() override {
    if (HasFailure() && daemon_) {
      const auto log = daemon_->log();
      std::cerr << "daemon log (tail):\n" << log.substr(log.size() > 6000 ? log.size() - 6000 : 0);
    }
    pap_e2e::TearDown();
    sim_.reset();
  }

  std::string extra_toml() const override {
    return pap_e2e::extra_toml() + "\n[nodo]\nnodo_per_pa_url = \"" + sim_url() +
           "/nodo/NodoPerPa\"\npassword = \"stationPwd1\"\nrpt_poll_interval_ms = 50\n"
           "rpt_retry_base_ms = 100\nrpt_retry_max_ms = 200\nrpt_max_attempts = 3\n"
           "request_timeout_ms = 5000\n"
           // The second station, other_station_entity's, has a password of its own; [daemon]'s
           // takes [nodo] password.
           "[[nodo.station]]\nstation_id = \"15376371009_02\"\npassword = \"" +
           second_station_password + "\"\n";
  }

  static constexpr const char* second_station_password = "secondPwd22";

  std::string sim_url() const { return "http://127.0.0.1:" + std::to_string(sim_port_); }

  /// Polls `sql` (a scalar) until it reads `expected`, up to 20 s; returns the last value.
  std::string wait_for(const std::string& sql, const std::string& expected) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::string v;
    while (std::chrono::steady_clock::now() < deadline) {
      v = scalar(sql);
      if (v == expected) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return v;
  }

  /// Waits up to 20 s until nodo-sim has received `n` nodoInviaRPT; returns what it has.
  std::vector<recorded_request> wait_for_requests(std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    auto got = sim_->requests("nodoInviaRPT");
    while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      got = sim_->requests("nodoInviaRPT");
    }
    return got;
  }

  /// paaVerificaRPT and paaAttivaRPT for a new position of `cents`; returns (IUV, CCP).
  std::pair<std::string, std::string> activate(long long cents = 7500) {
    const std::string notice = make_position(cents);
    const std::string iuv = notice.substr(1);
    const std::string ccp = new_token();
    EXPECT_EQ(call(verifica_rpt_xml(id_, iuv, ccp, "BCITITMM"), {}, old_model_path).outcome, "OK");
    EXPECT_EQ(call(attiva_rpt_xml(id_, iuv, ccp, "BCITITMM", cents), {}, old_model_path).outcome,
              "OK");
    return {iuv, ccp};
  }

  /// Checks one recorded nodoInviaRPT: the contract, the header and body fields, the RPT.
  void expect_rpt(const recorded_request& r, const std::string& iuv, const std::string& ccp,
                  const std::string& amount) {
    PAGOHUB_EXPECT_CONFORMS(r.body);
    if (r.valid) {
      EXPECT_TRUE(*r.valid) << r.problem;
    }
    EXPECT_EQ(r.soap_action, "nodoInviaRPT");
    EXPECT_EQ(r.fields.value("identificativoDominio", ""), pap_entity);
    EXPECT_EQ(r.fields.value("identificativoUnivocoVersamento", ""), iuv);
    EXPECT_EQ(r.fields.value("codiceContestoPagamento", ""), ccp);
    EXPECT_EQ(r.fields.value("identificativoIntermediarioPA", ""), id_.broker);
    EXPECT_EQ(r.fields.value("identificativoStazioneIntermediarioPA", ""), id_.station);
    EXPECT_EQ(r.fields.value("password", ""), "stationPwd1");
    EXPECT_EQ(r.fields.value("identificativoPSP", ""), "BCITITMM");
    ASSERT_FALSE(r.rpt.empty());
    auto doc = nodo::xml_document::parse(r.rpt);
    ASSERT_TRUE(doc) << r.rpt;
    if (const auto dir = test_support::pagopa_spec_dir()) {
      auto schema = nodo::xsd_schema::from_file(*dir / "gad" / "xsd" / "PagInf_RPT_RT_6_2_0.xsd");
      auto ok = schema->validate(*doc);
      EXPECT_TRUE(ok) << (ok ? "" : ok.error().message) << "\n" << r.rpt;
    }
    xmlNode* dati = nodo::find_element(doc->root(), "datiVersamento");
    EXPECT_EQ(nodo::find_text(dati, "identificativoUnivocoVersamento").value_or(""), iuv);
    EXPECT_EQ(nodo::find_text(dati, "codiceContestoPagamento").value_or(""), ccp);
    EXPECT_EQ(nodo::find_text(dati, "importoTotaleDaVersare").value_or(""), amount);
    EXPECT_EQ(nodo::find_text(doc->root(), "versioneOggetto").value_or(""), "6.2.0");
  }

  std::unique_ptr<nodo_server> sim_;
  unsigned short sim_port_ = 0;
};

TEST_F(rpt_push_e2e, old_model_pay_leads_to_exactly_one_valid_rpt) {
  const std::string notice = make_position(7500);
  const std::string cmd = std::string(PAGOHUB_NODO_SIM) + " old-model-pay --notice " + notice +
                          " --url " + url() + " --wait-rpt " + sim_url() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ASSERT_EQ(pclose(p), 0) << out;

  const std::string iuv = notice.substr(1);
  const std::string ccp = scalar("SELECT ccp FROM rpt_activations");
  EXPECT_EQ(wait_for("SELECT push_state FROM rpt_activations", "SENT"), "SENT");
  const auto sent = sim_->requests("nodoInviaRPT");
  ASSERT_EQ(sent.size(), 1u) << sim_->requests_json().dump(2);
  expect_rpt(sent[0], iuv, ccp, "75.00");
  EXPECT_EQ(scalar("SELECT nodo_outcome FROM rpt_activations"), "OK");
  EXPECT_EQ(scalar("SELECT push_attempts FROM rpt_activations"), "1");
  EXPECT_EQ(scalar("SELECT state FROM rpt_activations"), "RT_RECEIVED");
  // INTERFACCIA req and rsp of the exchange, and the state change, in the journal.
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE interface = 'soap_nodo' "
                  "AND event_type = 'nodoInviaRPT' AND category = 'INTERFACCIA'"),
            2);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'rptPush' "
                  "AND event_subtype = 'sent'"),
            1);
}

// An entity with a station of its own: the PSP's paaAttivaRPT comes through that station, and the
// RPT goes out under it too (nodoInviaRPT's header and the RPT's
// identificativoStazioneRichiedente), not under [daemon]'s station, which does not serve that
// domain.
TEST_F(rpt_push_e2e, an_entity_with_its_own_station_pushes_under_that_station) {
  const std::string notice = make_position(7500, 1, {}, other_station_entity);
  const std::string iuv = notice.substr(1);
  const std::string ccp = new_token();
  nodo_sim::identity own = id_;
  own.station = "15376371009_02";
  own.entity = other_station_entity;
  ASSERT_EQ(call(attiva_rpt_xml(own, iuv, ccp, "BCITITMM", 7500), {}, old_model_path).outcome,
            "OK");
  EXPECT_EQ(wait_for("SELECT push_state FROM rpt_activations", "SENT"), "SENT");
  const auto sent = wait_for_requests(1);
  ASSERT_EQ(sent.size(), 1u) << sim_->requests_json().dump(2);
  EXPECT_EQ(sent[0].fields.value("identificativoDominio", ""), other_station_entity);
  EXPECT_EQ(sent[0].fields.value("identificativoStazioneIntermediarioPA", ""), "15376371009_02");
  EXPECT_EQ(sent[0].fields.value("identificativoIntermediarioPA", ""), id_.broker);
  // The Nodo authenticates the station named in the call: its own password, not [nodo]'s.
  EXPECT_EQ(sent[0].fields.value("password", ""), second_station_password);
  auto doc = nodo::xml_document::parse(sent[0].rpt);
  ASSERT_TRUE(doc) << sent[0].rpt;
  EXPECT_EQ(nodo::find_text(doc->root(), "identificativoStazioneRichiedente").value_or(""),
            "15376371009_02");
  // The journal keeps the request with the password masked.
  const std::string req_sql =
      "SELECT id FROM journal_events WHERE interface = 'soap_nodo' AND event_type = "
      "'nodoInviaRPT' AND event_subtype = 'req' AND entity_fc = '" +
      other_station_entity + "'";
  ASSERT_EQ(count_reaching("SELECT count(*) FROM (" + req_sql + ") q", 1), 1);
  pqxx::connection c(db_->conninfo());
  pqxx::read_transaction w(c);
  journal::scope everything;
  everything.all = true;
  const auto event = journal::get_event(w, everything, std::stoll(scalar(req_sql)));
  ASSERT_TRUE(event);
  ASSERT_TRUE(event->body);
  EXPECT_NE(event->body->find("15376371009_02"), std::string::npos) << *event->body;
  EXPECT_EQ(event->body->find(second_station_password), std::string::npos) << *event->body;
  EXPECT_NE(event->body->find("<password>***</password>"), std::string::npos) << *event->body;
}

TEST_F(rpt_push_e2e, a_repeated_attiva_sends_the_same_rpt_again_and_makes_no_new_one) {
  const auto [iuv, ccp] = activate();
  EXPECT_EQ(wait_for("SELECT push_state FROM rpt_activations", "SENT"), "SENT");
  // SANP2 §8.2.3.2: the repeat generates nothing new, the RPT of the first time goes again.
  sim_->set_script(json{{"operations", {{"nodoInviaRPT", {{"fault", "PPT_RPT_DUPLICATA"}}}}}});
  EXPECT_EQ(call(attiva_rpt_xml(id_, iuv, ccp, "BCITITMM", 7500), {}, old_model_path).outcome,
            "OK");
  EXPECT_EQ(wait_for("SELECT nodo_outcome FROM rpt_activations", "PPT_RPT_DUPLICATA"),
            "PPT_RPT_DUPLICATA");
  const auto sent = sim_->requests("nodoInviaRPT");
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].rpt, sent[1].rpt);
  EXPECT_EQ(count("SELECT count(*) FROM rpt_activations"), 1);
  EXPECT_EQ(scalar("SELECT push_state FROM rpt_activations"), "SENT");
}

TEST_F(rpt_push_e2e, a_fault_is_retried_then_sent_once) {
  sim_->set_script(json{{"operations", {{"nodoInviaRPT", {{"faults", {"PPT_SYSTEM_ERROR"}}}}}}});
  const auto [iuv, ccp] = activate(12000);
  EXPECT_EQ(wait_for("SELECT push_state FROM rpt_activations", "SENT"), "SENT");
  const auto sent = sim_->requests("nodoInviaRPT");
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].answered_fault, "PPT_SYSTEM_ERROR");
  EXPECT_EQ(sent[1].answered_fault, "");
  // The retry re-sends the same RPT (generated once).
  EXPECT_EQ(sent[0].rpt, sent[1].rpt);
  expect_rpt(sent[1], iuv, ccp, "120.00");
  EXPECT_EQ(scalar("SELECT push_attempts FROM rpt_activations"), "2");
  EXPECT_EQ(scalar("SELECT nodo_outcome FROM rpt_activations"), "OK");
  EXPECT_EQ(scalar("SELECT last_error FROM rpt_activations"), "");
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'rptPush' "
                  "AND event_subtype = 'retry' AND fault_code = 'PPT_SYSTEM_ERROR'"),
            1);
}

TEST_F(rpt_push_e2e, ppt_rpt_duplicata_counts_as_sent) {
  sim_->set_script(json{{"operations", {{"nodoInviaRPT", {{"fault", "PPT_RPT_DUPLICATA"}}}}}});
  const auto [iuv, ccp] = activate();
  EXPECT_EQ(wait_for("SELECT push_state FROM rpt_activations", "SENT"), "SENT");
  EXPECT_EQ(scalar("SELECT nodo_outcome FROM rpt_activations"), "PPT_RPT_DUPLICATA");
  EXPECT_EQ(sim_->requests("nodoInviaRPT").size(), 1u);
  EXPECT_EQ(scalar("SELECT push_attempts FROM rpt_activations"), "1");
}

TEST_F(rpt_push_e2e, gives_up_after_the_last_attempt) {
  sim_->set_script(json{{"operations", {{"nodoInviaRPT", {{"fault", "PPT_SEMANTICA"}}}}}});
  activate();
  EXPECT_EQ(wait_for("SELECT push_state FROM rpt_activations", "FAILED"), "FAILED");
  EXPECT_EQ(sim_->requests("nodoInviaRPT").size(), 3u);
  EXPECT_NE(scalar("SELECT last_error FROM rpt_activations").find("PPT_SEMANTICA"),
            std::string::npos);
}

TEST_F(rpt_push_e2e, an_unreachable_nodo_is_retried) {
  // The Nodo answers HTTP 503 without a SOAP body, then recovers.
  sim_->set_script(json{{"operations", {{"nodoInviaRPT", {{"http_status", 503}}}}}});
  activate();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (sim_->requests("nodoInviaRPT").empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  sim_->set_script(json{{"operations", json::object()}});
  EXPECT_EQ(wait_for("SELECT push_state FROM rpt_activations", "SENT"), "SENT");
  EXPECT_GE(sim_->requests("nodoInviaRPT").size(), 2u);
}

TEST_F(rpt_push_e2e, the_rpt_is_stored_before_it_first_leaves) {
  // A slow Nodo keeps the first call in flight while the row is read.
  sim_->set_script(json{{"operations", {{"nodoInviaRPT", {{"delay_ms", 1500}}}}}});
  activate();
  const auto sent = wait_for_requests(1);
  ASSERT_EQ(sent.size(), 1u);
  // 0015: generated once and kept, so any later attempt, by any daemon, sends this document.
  EXPECT_EQ(scalar("SELECT push_state FROM rpt_activations"), "PENDING");
  EXPECT_EQ(scalar("SELECT rpt_xml FROM rpt_activations"), sent[0].rpt);
  EXPECT_EQ(scalar("SELECT length(rpt_message_id) FROM rpt_activations"), "32");
  EXPECT_NE(sent[0].rpt.find(scalar("SELECT rpt_message_id FROM rpt_activations")),
            std::string::npos);
  EXPECT_EQ(wait_for("SELECT push_state FROM rpt_activations", "SENT"), "SENT");
  EXPECT_EQ(scalar("SELECT rpt_xml FROM rpt_activations"), sent[0].rpt);
}

TEST_F(rpt_push_e2e, due_activations_are_claimed_one_at_a_time) {
  activate();
  activate(8000);
  EXPECT_EQ(wait_for("SELECT count(*) FROM rpt_activations WHERE push_state = 'SENT'", "2"), "2");
  const auto first = sim_->requests("nodoInviaRPT");
  ASSERT_EQ(first.size(), 2u);
  // Both due again at once, to a slow Nodo: only the activation being sent is claimed, the
  // other stays free in the database instead of waiting behind the call with a running claim.
  sim_->set_script(json{{"operations", {{"nodoInviaRPT", {{"delay_ms", 1500}}}}}});
  sim_->clear_requests();
  scalar(
      "UPDATE rpt_activations SET push_state = 'PENDING', next_attempt_at = NULL, "
      "push_attempts = 0");
  ASSERT_EQ(wait_for_requests(1).size(), 1u);
  EXPECT_EQ(count("SELECT count(*) FROM rpt_activations WHERE push_attempts > 0"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM rpt_activations WHERE next_attempt_at IS NULL"), 1);
  EXPECT_EQ(wait_for("SELECT count(*) FROM rpt_activations WHERE push_state = 'SENT'", "2"), "2");
  const auto again = sim_->requests("nodoInviaRPT");
  ASSERT_EQ(again.size(), 2u);
  // The stored RPTs went again, not new ones.
  for (const auto& r : again) {
    EXPECT_TRUE(r.rpt == first[0].rpt || r.rpt == first[1].rpt) << r.rpt;
  }
  EXPECT_NE(again[0].rpt, again[1].rpt);
}

TEST_F(rpt_push_e2e, an_attempt_whose_claim_passed_to_another_daemon_records_nothing) {
  sim_->set_script(json{{"operations", {{"nodoInviaRPT", {{"delay_ms", 1500}}}}}});
  activate();
  ASSERT_EQ(wait_for_requests(1).size(), 1u);
  // What another daemon's claim writes once this one's has lapsed.
  scalar(
      "UPDATE rpt_activations SET push_attempts = push_attempts + 1, "
      "next_attempt_at = now() + interval '1 hour'");
  // The exchange happened and is journaled; the row stays with its new holder.
  EXPECT_EQ(wait_for("SELECT count(*) FROM journal_events WHERE interface = 'soap_nodo' "
                     "AND event_type = 'nodoInviaRPT' AND category = 'INTERFACCIA'",
                     "2"),
            "2");
  EXPECT_EQ(scalar("SELECT push_state FROM rpt_activations"), "PENDING");
  EXPECT_EQ(scalar("SELECT push_attempts FROM rpt_activations"), "2");
  EXPECT_EQ(scalar("SELECT next_attempt_at > now() + interval '30 minutes' FROM rpt_activations"),
            "t");
  EXPECT_EQ(scalar("SELECT coalesce(nodo_outcome, '') FROM rpt_activations"), "");
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'rptPush'"), 0);
  EXPECT_EQ(sim_->requests("nodoInviaRPT").size(), 1u);
}

}  // namespace
}  // namespace pagohub::test
