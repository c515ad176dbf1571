// The 2018 model (DIGEST §2.1), payments on demand (§1.4) and caller authentication, through
// the daemon.
#include <pagohub/nodo/xsd_validator.hpp>

#include <nlohmann/json.hpp>

#include <future>

#include "pap_fixture.hpp"

namespace pagohub::test {
namespace {

using namespace nodo_sim;

TEST_F(pap_e2e, old_model_verifica_attiva_invia_rt) {
  const std::string notice = make_position(7500);
  const std::string iuv = notice.substr(1);
  const std::string ccp = new_token();
  const auto v =
      call(verifica_rpt_xml(id_, iuv, ccp, "BCITITMM"),
           {"importoSingoloVersamento", "ibanAccredito", "causaleVersamento"}, old_model_path);
  EXPECT_EQ(v.outcome, "OK") << v.body;
  EXPECT_EQ(v.fields.at("importoSingoloVersamento"), "75.00");
  EXPECT_EQ(v.fields.at("ibanAccredito"), "IT97U0503411701000000001234");
  EXPECT_TRUE(v.fields.at("causaleVersamento").starts_with("/RFB/" + iuv + "/75.00/TXT/"))
      << v.fields.at("causaleVersamento");

  // A wrong amount is refused; the right one activates, and a repeat changes nothing.
  const auto wrong = call(attiva_rpt_xml(id_, iuv, ccp, "BCITITMM", 7400), {}, old_model_path);
  EXPECT_EQ(wrong.fault_code, "PAA_ATTIVA_RPT_IMPORTO_NON_VALIDO");
  EXPECT_EQ(call(attiva_rpt_xml(id_, iuv, ccp, "BCITITMM", 7500), {}, old_model_path).outcome,
            "OK");
  EXPECT_EQ(call(attiva_rpt_xml(id_, iuv, ccp, "BCITITMM", 7500), {}, old_model_path).outcome,
            "OK");
  EXPECT_EQ(count("SELECT count(*) FROM rpt_activations WHERE state = 'EXPECTED'"), 1);
  // ARCHITECTURE §5: the activation committed with its INTERNO event; the repeat, with the push
  // still pending, changed nothing and recorded nothing.
  const std::string activation_events =
      "SELECT count(*) FROM journal_events WHERE category = 'INTERNO' "
      "AND event_type = 'rptActivation' AND iuv = '" +
      iuv + "' AND ccp = '" + ccp + "'";
  EXPECT_EQ(count(activation_events + " AND event_subtype = 'created'"), 1);
  EXPECT_EQ(count(activation_events), 1);
  // A push that has ended is re-armed by a repeat, which is a state change with its own event.
  scalar("UPDATE rpt_activations SET push_state = 'SENT', nodo_outcome = 'OK'");
  EXPECT_EQ(call(attiva_rpt_xml(id_, iuv, ccp, "BCITITMM", 7500), {}, old_model_path).outcome,
            "OK");
  EXPECT_EQ(scalar("SELECT push_state FROM rpt_activations"), "PENDING");
  EXPECT_EQ(count(activation_events + " AND event_subtype = 'rearmed'"), 1);
  EXPECT_EQ(count(activation_events), 2);

  const std::string rt = rt_document(id_, iuv, ccp, 7500);
  if (test_support::pagopa_spec_dir()) {
    auto schema = nodo::xsd_schema::from_file(*test_support::pagopa_spec_dir() / "gad" / "xsd" /
                                              "PagInf_RPT_RT_6_2_0.xsd");
    auto doc = nodo::xml_document::parse(rt);
    ASSERT_TRUE(doc);
    EXPECT_TRUE(schema->validate(*doc)) << rt;
  }
  const auto sent = call(invia_rt_xml(id_, iuv, ccp, rt), {}, old_model_path);
  EXPECT_EQ(sent.outcome, "OK") << sent.body;
  EXPECT_EQ(scalar("SELECT status FROM payment_options"), "PAID");
  EXPECT_EQ(scalar("SELECT receipt_id FROM payment_options"), ccp);
  // Stored under its (IUV, CCP), the PSP's identifier of the RT kept in the details.
  EXPECT_EQ(scalar("SELECT receipt_id FROM receipts"), iuv + "-" + ccp);
  EXPECT_EQ(scalar("SELECT details->>'identificativoMessaggioRicevuta' FROM receipts"),
            "RT" + ccp.substr(0, 30));
  EXPECT_EQ(count("SELECT count(*) FROM rpt_activations WHERE state = 'RT_RECEIVED'"), 1);
  // The back-office reads it over REST with its transfer and the option's accounting entries.
  const auto listed = http_request(daemon_->port(), boost::beast::http::verb::get,
                                   "/api/v1/entities/" + pap_entity + "/positions/pos-1/receipts",
                                   {}, {{"Authorization", "Bearer " + key_.key}});
  ASSERT_EQ(listed.status, 200u) << listed.body;
  const auto items = nlohmann::json::parse(listed.body)["items"];
  ASSERT_EQ(items.size(), 1u) << listed.body;
  ASSERT_EQ(items[0]["transfers"].size(), 1u) << listed.body;
  EXPECT_EQ(items[0]["transfers"][0]["amount"], 7500) << listed.body;
  EXPECT_EQ(items[0]["transfers"][0]["accounting"].size(), 2u) << listed.body;

  // The same RT again: PAA_RT_DUPLICATA, nothing changes.
  const auto dup = call(invia_rt_xml(id_, iuv, ccp, rt), {}, old_model_path);
  EXPECT_EQ(dup.fault_code, "PAA_RT_DUPLICATA");
  EXPECT_EQ(count("SELECT count(*) FROM receipts"), 1);

  // Paid now.
  EXPECT_EQ(
      call(verifica_rpt_xml(id_, iuv, new_token(), "BCITITMM"), {}, old_model_path).fault_code,
      "PAA_PAGAMENTO_DUPLICATO");
}

// A notice issued before the entity moved from aux digit 0 to 3 has a 15-digit IUV that the
// entity's space (aux 3, no application code) cannot complete to a notice number: the stored
// option with that IUV says which notice it is, for the verify, the activation and the RT.
TEST_F(pap_e2e, an_iuv_issued_before_the_notice_space_changed_is_found_and_paid) {
  config::entity before = *cfg_->entities->find(pap_entity);
  before.aux_digit = 0;
  before.application_code = 12;
  before.segregation_code = -1;
  const std::string notice = make_position(6100, 1, {}, pap_entity, &before);
  ASSERT_EQ(notice.substr(0, 3), "012");
  const std::string iuv = notice.substr(3);
  ASSERT_EQ(iuv.size(), 15u);
  const std::string ccp = new_token();
  const auto v = call(verifica_rpt_xml(id_, iuv, ccp, "BCITITMM"), {"importoSingoloVersamento"},
                      old_model_path);
  ASSERT_EQ(v.outcome, "OK") << v.body;
  EXPECT_EQ(v.fields.at("importoSingoloVersamento"), "61.00");
  EXPECT_EQ(call(attiva_rpt_xml(id_, iuv, ccp, "BCITITMM", 6100), {}, old_model_path).outcome,
            "OK");
  EXPECT_EQ(scalar("SELECT notice_number FROM rpt_activations"), notice);
  const auto sent =
      call(invia_rt_xml(id_, iuv, ccp, rt_document(id_, iuv, ccp, 6100)), {}, old_model_path);
  EXPECT_EQ(sent.outcome, "OK") << sent.body;
  EXPECT_EQ(scalar("SELECT status FROM payment_options"), "PAID");
  EXPECT_EQ(scalar("SELECT notice_number FROM receipts"), notice);
  EXPECT_EQ(scalar("SELECT count(*) FROM receipts WHERE anomaly IS NOT NULL"), "0");
}

// DIGEST §0: the 2018 model's lock. While one PSP's payment runs, another PSP's verify and
// activation of the same IUV get PAA_PAGAMENTO_IN_CORSO; the RT, positive or negative, or the
// lock's expiry ([pap] rpt_lock_minutes, 30 by default) ends it.
TEST_F(pap_e2e, an_old_model_payment_in_progress_holds_the_notice) {
  const std::string iuv = make_position(7500).substr(1);
  const std::string first = new_token();
  const std::string second = new_token();
  ASSERT_EQ(call(attiva_rpt_xml(id_, iuv, first, "BCITITMM", 7500), {}, old_model_path).outcome,
            "OK");
  // The PSP that activated may verify and activate again with its CCP; another may not.
  EXPECT_EQ(call(verifica_rpt_xml(id_, iuv, first, "BCITITMM"), {}, old_model_path).outcome, "OK");
  const auto verify = call(verifica_rpt_xml(id_, iuv, second, "UNCRITMM"), {}, old_model_path);
  EXPECT_EQ(verify.fault_code, "PAA_PAGAMENTO_IN_CORSO") << verify.body;
  const auto refused = call(attiva_rpt_xml(id_, iuv, second, "UNCRITMM", 7500), {}, old_model_path);
  EXPECT_EQ(refused.fault_code, "PAA_PAGAMENTO_IN_CORSO") << refused.body;
  EXPECT_NE(refused.body.find("BCITITMM"), std::string::npos) << refused.body;
  EXPECT_EQ(count("SELECT count(*) FROM rpt_activations"), 1);
  EXPECT_EQ(call(attiva_rpt_xml(id_, iuv, first, "BCITITMM", 7500), {}, old_model_path).outcome,
            "OK");

  // The Nodo's negative RT (the payment timed out) frees the notice.
  ASSERT_EQ(call(invia_rt_xml(id_, iuv, first, rt_document(id_, iuv, first, 7500, "1")), {},
                 old_model_path)
                .outcome,
            "OK");
  EXPECT_EQ(call(attiva_rpt_xml(id_, iuv, second, "UNCRITMM", 7500), {}, old_model_path).outcome,
            "OK");

  // An activation whose RT never came holds the notice only for the configured time, and one
  // whose RPT could not be sent not at all.
  const std::string third = new_token();
  EXPECT_EQ(call(verifica_rpt_xml(id_, iuv, third, "BPPIITRR"), {}, old_model_path).fault_code,
            "PAA_PAGAMENTO_IN_CORSO");
  scalar("UPDATE rpt_activations SET push_state = 'FAILED' WHERE ccp = '" + second + "'");
  EXPECT_EQ(call(verifica_rpt_xml(id_, iuv, third, "BPPIITRR"), {}, old_model_path).outcome, "OK");
  // The lock's end is fixed at the activation: rpt_lock_minutes (30) after it (sql/0030).
  EXPECT_EQ(scalar("SELECT locked_until - activated_at FROM rpt_activations WHERE ccp = '" +
                   second + "'"),
            "00:30:00");
  scalar(
      "UPDATE rpt_activations SET push_state = 'SENT', "
      "locked_until = now() - interval '1 minute' WHERE ccp = '" +
      second + "'");
  EXPECT_EQ(call(attiva_rpt_xml(id_, iuv, third, "BPPIITRR", 7500), {}, old_model_path).outcome,
            "OK");
  EXPECT_EQ(count("SELECT count(*) FROM rpt_activations"), 3);
}

// The lock holds against the back-office too: between paaAttivaRPT and the RT, a replacement
// or a cancellation of the position would change what the PSP's RPT collects. Both are refused
// with 409 and change nothing; the RT ends the lock.
TEST_F(pap_e2e, an_old_model_payment_in_progress_holds_the_position_against_the_back_office) {
  const std::string notice = make_position(7500);
  const std::string iuv = notice.substr(1);
  const std::string external_id = scalar(
      "SELECT p.external_id FROM positions p JOIN payment_options o ON o.position_id = p.id "
      "WHERE o.notice_number = '" +
      notice + "'");
  const std::string ccp = new_token();
  ASSERT_EQ(call(attiva_rpt_xml(id_, iuv, ccp, "BCITITMM", 7500), {}, old_model_path).outcome,
            "OK");
  const std::string path = "/api/v1/entities/" + pap_entity + "/positions/" + external_id;
  const std::map<std::string, std::string> auth{{"Authorization", "Bearer " + key_.key},
                                                {"Content-Type", "application/json"}};
  const std::string version =
      scalar("SELECT version FROM positions WHERE external_id = '" + external_id + "'");
  // The same notice, at 80.00 euro.
  const nlohmann::json changed = {
      {"debtor", {{"type", "F"}, {"fiscalCode", "RSSMRA80A01H501U"}, {"fullName", "Mario Rossi"}}},
      {"description", "TARI 2025, ricalcolata"},
      {"serviceCode", "TARI"},
      {"referenceYear", 2025},
      {"paymentOptions",
       {{{"kind", "SINGLE"},
         {"noticeNumber", notice},
         {"amount", 8000},
         {"dueDate",
          scalar("SELECT due_date FROM payment_options WHERE notice_number = '" + notice + "'")},
         {"description", "Rata unica"},
         {"transfers",
          {{{"index", 1}, {"amount", 8000}, {"remittanceInformation", "TARI rata unica"}}}}}}}};
  const auto put =
      http_request(daemon_->port(), boost::beast::http::verb::put, path, changed.dump(), auth);
  EXPECT_EQ(put.status, 409u) << put.body;
  EXPECT_NE(put.body.find("BCITITMM"), std::string::npos) << put.body;
  EXPECT_NE(put.body.find("in progress"), std::string::npos) << put.body;
  const auto cancel =
      http_request(daemon_->port(), boost::beast::http::verb::post, path + "/cancel", {}, auth);
  EXPECT_EQ(cancel.status, 409u) << cancel.body;
  EXPECT_EQ(scalar("SELECT version FROM positions WHERE external_id = '" + external_id + "'"),
            version);
  EXPECT_EQ(scalar("SELECT amount FROM payment_options WHERE notice_number = '" + notice + "'"),
            "7500");

  // The Nodo's negative RT ends the payment: the back-office may change the position again.
  ASSERT_EQ(
      call(invia_rt_xml(id_, iuv, ccp, rt_document(id_, iuv, ccp, 7500, "1")), {}, old_model_path)
          .outcome,
      "OK");
  const auto again =
      http_request(daemon_->port(), boost::beast::http::verb::put, path, changed.dump(), auth);
  EXPECT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(scalar("SELECT amount FROM payment_options WHERE notice_number = '" + notice + "'"),
            "8000");
}

// A replacement that commits between the activation's read of the position and its row lock
// changed the amounts the activation checked: it is not recorded, and the PSP is asked to try
// again (PAA_SYSTEM_ERROR), rather than an RPT carrying amounts the position no longer has.
TEST_F(pap_e2e, an_activation_does_not_record_a_position_that_changed_under_it) {
  const std::string notice = make_position(7500);
  const std::string iuv = notice.substr(1);
  pqxx::connection c(db_->conninfo());
  pqxx::work replacing(c);
  replacing.exec(
      "UPDATE positions SET version = version + 1 WHERE id = (SELECT position_id FROM "
      "payment_options WHERE notice_number = '" +
      notice + "')");
  auto activation = std::async(std::launch::async, [&] {
    return call(attiva_rpt_xml(id_, iuv, new_token(), "BCITITMM", 7500), {}, old_model_path);
  });
  // The activation read the position as committed, and now waits for its row.
  ASSERT_TRUE(test_support::eventually(
      [&] {
        return count(
                   "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                   "AND query LIKE '%FOR NO KEY UPDATE%'") > 0;
      },
      std::chrono::seconds(10)));
  replacing.commit();
  const auto a = activation.get();
  EXPECT_EQ(a.fault_code, "PAA_SYSTEM_ERROR") << a.body;
  EXPECT_NE(a.body.find("try again"), std::string::npos) << a.body;
  EXPECT_EQ(count("SELECT count(*) FROM rpt_activations"), 0);
  // The PSP's next attempt reads the position as it is now.
  EXPECT_EQ(
      call(attiva_rpt_xml(id_, iuv, new_token(), "BCITITMM", 7500), {}, old_model_path).outcome,
      "OK");
}

// datiPagamentoPA's ibanAccredito is mandatory (DIGEST §2.1): an option paying only a marca da
// bollo digitale has none to give, and only the current model (paGetPaymentV2) can collect it.
TEST_F(pap_e2e, an_option_paying_only_a_stamp_is_refused_by_the_old_model) {
  const std::string notice = make_position(1600, 1, [](positions::payment_option& o) {
    o.transfers[0].stamp =
        positions::revenue_stamp{"n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=", "01", "RM"};
    o.transfers[0].taxonomy = "9/0301116TS/";
  });
  const std::string iuv = notice.substr(1);
  const std::string ccp = new_token();
  for (const auto& envelope : {verifica_rpt_xml(id_, iuv, ccp, "BCITITMM"),
                               attiva_rpt_xml(id_, iuv, ccp, "BCITITMM", 1600)}) {
    const auto a = call(envelope, {}, old_model_path);
    EXPECT_EQ(a.fault_code, "PAA_SEMANTICA") << a.body;
    EXPECT_NE(a.body.find("marca da bollo"), std::string::npos) << a.body;
  }
  EXPECT_EQ(count("SELECT count(*) FROM rpt_activations"), 0);
  // The current model collects it.
  const auto v = call(verify_xml(id_, notice), {"amount"});
  EXPECT_EQ(v.outcome, "OK") << v.body;
}

// An RPT pays one domain (its enteBeneficiario): a transfer to another entity would credit that
// entity's account with no RT ever reaching it. Multi-beneficiary notices are the current model's
// (or the old model's carts, DIGEST §2.2).
TEST_F(pap_e2e, an_option_crediting_another_entity_is_refused_by_the_old_model) {
  const std::string notice = make_position(10000, 2, [](positions::payment_option& o) {
    o.transfers[1].beneficiary_fiscal_code = other_station_entity;
    o.transfers[1].iban = "IT60X0542811101000000123456";
    o.transfers[1].postal_iban.reset();
  });
  const std::string iuv = notice.substr(1);
  const std::string ccp = new_token();
  for (const auto& envelope : {verifica_rpt_xml(id_, iuv, ccp, "BCITITMM"),
                               attiva_rpt_xml(id_, iuv, ccp, "BCITITMM", 10000)}) {
    const auto a = call(envelope, {}, old_model_path);
    EXPECT_EQ(a.fault_code, "PAA_SEMANTICA") << a.body;
    EXPECT_NE(a.body.find("another entity"), std::string::npos) << a.body;
  }
  EXPECT_EQ(count("SELECT count(*) FROM rpt_activations"), 0);
  const auto v = call(verify_xml(id_, notice), {"amount"});
  EXPECT_EQ(v.outcome, "OK") << v.body;
}

// An RT that finds its position locked (a bulk import writing it) is stored and held, its option
// not PAID yet: the payment stays in progress until the held-receipts job applies it, however
// long that takes, or another PSP could collect the notice again meanwhile.
TEST_F(pap_e2e, a_held_rt_keeps_the_notice_in_progress_until_it_is_applied) {
  const std::string notice = make_position(7500);
  const std::string iuv = notice.substr(1);
  const std::string first = new_token();
  const std::string second = new_token();
  ASSERT_EQ(call(attiva_rpt_xml(id_, iuv, first, "BCITITMM", 7500), {}, old_model_path).outcome,
            "OK");
  pqxx::connection c(db_->conninfo());
  pqxx::work holding(c);
  holding.exec(
      "SELECT 1 FROM positions WHERE id = (SELECT position_id FROM payment_options "
      "WHERE notice_number = '" +
      notice + "') FOR UPDATE");
  const auto rt =
      call(invia_rt_xml(id_, iuv, first, rt_document(id_, iuv, first, 7500)), {}, old_model_path);
  ASSERT_EQ(rt.outcome, "OK") << rt.body;
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE anomaly = 'POSITION_BUSY'"), 1);
  // Held past the configured lock's end (rpt_lock_minutes): until it is applied.
  scalar("UPDATE rpt_activations SET locked_until = now() - interval '1 minute' WHERE ccp = '" +
         first + "'");
  const auto other = call(verifica_rpt_xml(id_, iuv, second, "UNCRITMM"), {}, old_model_path);
  EXPECT_EQ(other.fault_code, "PAA_PAGAMENTO_IN_CORSO") << other.body;
  EXPECT_NE(other.body.find("its RT came and is being applied"), std::string::npos) << other.body;
  holding.commit();
  // The held-receipts job (every 30 s) applies it and ends the activation.
  EXPECT_TRUE(test_support::eventually(
      [&] {
        return count(
                   "SELECT count(*) FROM rpt_activations WHERE state = 'RT_RECEIVED' "
                   "AND ccp = '" +
                   first + "'") == 1;
      },
      std::chrono::seconds(90)));
  EXPECT_EQ(
      count("SELECT count(*) FROM payment_options WHERE status = 'PAID' AND notice_number = '" +
            notice + "'"),
      1);
  const auto paid = call(verifica_rpt_xml(id_, iuv, second, "UNCRITMM"), {}, old_model_path);
  EXPECT_EQ(paid.fault_code, "PAA_PAGAMENTO_DUPLICATO") << paid.body;
}

// A repeated paaAttivaRPT re-sends the RPT of the first activation (SANP2 §8.2.3.2). When the
// position no longer matches it (the lock lapsed, the back-office changed the account), the
// repeat is refused rather than answered with an account the RPT does not credit.
TEST_F(pap_e2e, a_repeat_of_an_activation_the_position_no_longer_matches_is_refused) {
  const std::string iuv = make_position(7500).substr(1);
  const std::string ccp = new_token();
  ASSERT_EQ(call(attiva_rpt_xml(id_, iuv, ccp, "BCITITMM", 7500), {}, old_model_path).outcome,
            "OK");
  EXPECT_EQ(call(attiva_rpt_xml(id_, iuv, ccp, "BCITITMM", 7500), {}, old_model_path).outcome,
            "OK");
  // As if the position had moved to another account after the lock's end.
  scalar(
      "UPDATE rpt_activations SET iban = 'IT60X0542811101000000123456', "
      "locked_until = now() - interval '1 minute' WHERE ccp = '" +
      ccp + "'");
  const auto again = call(attiva_rpt_xml(id_, iuv, ccp, "BCITITMM", 7500), {}, old_model_path);
  EXPECT_EQ(again.fault_code, "PAA_SEMANTICA") << again.body;
  EXPECT_NE(again.body.find("start a new payment"), std::string::npos) << again.body;
  // A new payment (another CCP) is activated as usual.
  EXPECT_EQ(
      call(attiva_rpt_xml(id_, iuv, new_token(), "BCITITMM", 7500), {}, old_model_path).outcome,
      "OK");
}

TEST_F(pap_e2e, rts_of_two_payments_with_one_psp_message_id_are_both_kept) {
  // identificativoMessaggioRicevuta is the PSP's: two PSPs may both send "RT-0001". Each RT is
  // its own payment, applied; neither is PAA_RT_DUPLICATA.
  const auto with_message_id = [](std::string rt) {
    const std::string open = "<pay_i:identificativoMessaggioRicevuta>";
    const auto from = rt.find(open) + open.size();
    return rt.replace(from, rt.find('<', from) - from, "RT-0001");
  };
  for (const int cents : {7500, 8100}) {
    const std::string iuv = make_position(cents).substr(1);
    const std::string ccp = new_token();
    const auto a =
        call(invia_rt_xml(id_, iuv, ccp, with_message_id(rt_document(id_, iuv, ccp, cents))), {},
             old_model_path);
    EXPECT_EQ(a.outcome, "OK") << a.body;
  }
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE applied"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options WHERE status = 'PAID'"), 2);
}

TEST_F(pap_e2e, an_rt_that_fails_its_schema_is_paa_sintassi_xsd) {
  const std::string notice = make_position(7500);
  const std::string iuv = notice.substr(1);
  const std::string ccp = new_token();
  std::string rt = rt_document(id_, iuv, ccp, 7500);
  rt.replace(rt.find("<pay_i:versioneOggetto>"), 0, "<pay_i:intruso>1</pay_i:intruso>");
  const auto a = call(invia_rt_xml(id_, iuv, ccp, rt), {}, old_model_path);
  EXPECT_EQ(a.fault_code, "PAA_SINTASSI_XSD") << a.body;
  EXPECT_EQ(count("SELECT count(*) FROM receipts"), 0);
}

TEST_F(pap_e2e, a_negative_rt_is_stored_not_applied) {
  const std::string notice = make_position(7500);
  const std::string iuv = notice.substr(1);
  const std::string ccp = new_token();
  const auto a =
      call(invia_rt_xml(id_, iuv, ccp, rt_document(id_, iuv, ccp, 7500, "1")), {}, old_model_path);
  EXPECT_EQ(a.outcome, "OK") << a.body;
  EXPECT_EQ(scalar("SELECT anomaly FROM receipts"), "OUTCOME_KO");
  EXPECT_EQ(scalar("SELECT status FROM payment_options"), "UNPAID");
}

const std::string fishing_licence =
    "<ta:praticaPagamentoCanoni xmlns:ta=\"http://PuntoAccessoPSP.spcoop.gov.it/"
    "praticaPagamentoCanoni\"><ta:codicePratica>D847</ta:codicePratica><ta:pagatore>"
    "<ta:codiceFiscalePagatore>RSSMRA80A01H501U</ta:codiceFiscalePagatore>"
    "<ta:denominazionePagatore>Mario Rossi</ta:denominazionePagatore></ta:pagatore>"
    "<ta:intestatario><ta:codiceFiscaleIntestatario>RSSMRA80A01H501U</ta:codiceFiscaleIntestatario>"
    "<ta:denominazioneIntestatario>Mario Rossi</ta:denominazioneIntestatario></ta:intestatario>"
    "</ta:praticaPagamentoCanoni>";

TEST_F(pap_e2e, a_payment_on_demand) {
  const auto a = call(demand_xml(id_, "00847", fishing_licence), {"noticeNumber", "amount"});
  EXPECT_EQ(a.outcome, "OK") << a.body;
  const std::string notice = a.fields.at("noticeNumber");
  ASSERT_EQ(notice.size(), 18u);
  EXPECT_EQ(a.fields.at("amount"), "34.00");
  // The new notice is payable at once.
  const auto v = call(verify_xml(id_, notice), {"amount"});
  EXPECT_EQ(v.outcome, "OK") << v.body;
  EXPECT_EQ(scalar("SELECT debtor_fiscal_code FROM positions"), "RSSMRA80A01H501U");

  // Data that fails the service's schema: PAA_SINTASSI_XSD, nothing created.
  std::string bad = fishing_licence;
  bad.replace(bad.find("<ta:pagatore>"), 0, "<ta:extra>1</ta:extra>");
  EXPECT_EQ(call(demand_xml(id_, "00847", bad)).fault_code, "PAA_SINTASSI_XSD");
  EXPECT_EQ(call(demand_xml(id_, "00847", "not xml")).fault_code, "PAA_SINTASSI_XSD");
  // An unknown service.
  EXPECT_EQ(call(demand_xml(id_, "99999", fishing_licence)).fault_code,
            "PAA_PAGAMENTO_SCONOSCIUTO");
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 1);
}

TEST_F(pap_e2e, a_repeated_demand_gets_the_same_notice_until_it_is_paid) {
  // DIGEST §1.4: the Nodo repeats a demand it got no answer to; the EC "creates (or finds)".
  const auto a = call(demand_xml(id_, "00847", fishing_licence), {"noticeNumber"});
  ASSERT_EQ(a.outcome, "OK") << a.body;
  const std::string notice = a.fields.at("noticeNumber");
  const auto again = call(demand_xml(id_, "00847", fishing_licence), {"noticeNumber"});
  ASSERT_EQ(again.outcome, "OK") << again.body;
  EXPECT_EQ(again.fields.at("noticeNumber"), notice);
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 1);
  EXPECT_EQ(scalar("SELECT left(external_id, 3) FROM positions"), "DEM");

  // Other data: another payment.
  std::string other = fishing_licence;
  other.replace(other.find("Mario Rossi"), 11, "Maria Rossi");
  const auto b = call(demand_xml(id_, "00847", other), {"noticeNumber"});
  ASSERT_EQ(b.outcome, "OK") << b.body;
  EXPECT_NE(b.fields.at("noticeNumber"), notice);
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 2);

  // Once paid, the same request is a new payment, itself found again when repeated.
  auto r = receipt_of(notice);
  const auto paid = call(send_rt_xml(id_, r));
  ASSERT_EQ(paid.outcome, "OK") << paid.body;
  const auto next = call(demand_xml(id_, "00847", fishing_licence), {"noticeNumber"});
  ASSERT_EQ(next.outcome, "OK") << next.body;
  EXPECT_NE(next.fields.at("noticeNumber"), notice);
  EXPECT_EQ(
      call(demand_xml(id_, "00847", fishing_licence), {"noticeNumber"}).fields.at("noticeNumber"),
      next.fields.at("noticeNumber"));
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM positions WHERE external_id LIKE 'DEM%-2'"), 1);
}

class pap_auth_e2e : public pap_e2e {
 protected:
  std::string extra_toml() const override {
    return pap_e2e::extra_toml() +
           "\n[pap]\nshared_secret = \"a-secret-of-twenty-chars\"\n"
           "shared_secret_header = \"X-Nodo-Key\"\nduplicate_receipt = \"fault\"\n";
  }
};

TEST_F(pap_auth_e2e, the_shared_secret_is_required) {
  const std::string notice = make_position();
  const auto refused = call_raw(verify_xml(id_, notice));
  EXPECT_EQ(refused.http_status, 403u);
  const auto wrong = call_raw(verify_xml(id_, notice), {}, current_model_path,
                              {{"X-Nodo-Key", "a-secret-of-twenty-chaRS"}});
  EXPECT_EQ(wrong.http_status, 403u);
  const auto ok = call_raw(verify_xml(id_, notice), {}, current_model_path,
                           {{"X-Nodo-Key", "a-secret-of-twenty-chars"}});
  EXPECT_EQ(ok.http_status, 200u);
  EXPECT_EQ(ok.outcome, "OK") << ok.body;
}

}  // namespace
}  // namespace pagohub::test

namespace pagohub::test {
namespace {

// [pap] duplicate_receipt = "fault": a re-delivery is KO PAA_RECEIPT_DUPLICATA, and still
// changes nothing.
TEST_F(pap_auth_e2e, duplicate_receipts_can_be_answered_with_a_fault) {
  const std::string notice = make_position();
  const std::map<std::string, std::string> key{{"X-Nodo-Key", "a-secret-of-twenty-chars"}};
  const auto g =
      call_raw(nodo_sim::get_payment_xml(id_, notice, true), {}, nodo_sim::current_model_path, key);
  const auto info = nodo_sim::read_payment(g);
  ASSERT_TRUE(info) << g.body;
  const auto r = nodo_sim::receipt_for(id_, notice, *info);
  EXPECT_EQ(call_raw(nodo_sim::send_rt_xml(id_, r), {}, nodo_sim::current_model_path, key).outcome,
            "OK");
  const auto again = call_raw(nodo_sim::send_rt_xml(id_, r), {}, nodo_sim::current_model_path, key);
  EXPECT_EQ(again.fault_code, "PAA_RECEIPT_DUPLICATA") << again.body;
  EXPECT_EQ(count("SELECT count(*) FROM receipts"), 1);
}

}  // namespace
}  // namespace pagohub::test
