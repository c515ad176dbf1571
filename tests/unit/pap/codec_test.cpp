// The codec on fixtures: every operation decoded, the bad inputs refused with the right kind,
// the answers encoded as the contract wants (children unqualified, DIGEST §0).
#include <gtest/gtest.h>

#include "codec.hpp"
#include "nodo_client.hpp"

namespace pagohub::pap {
namespace {

using namespace nodo_sim;

const identity id;
constexpr const char* notice = "301000000000000144";

inbound decode_ok(const std::string& xml) {
  auto r = decode_request(xml, "text/xml; charset=utf-8", 32);
  EXPECT_TRUE(r) << (r ? "" : r.error().reason) << "\n" << xml;
  return r ? *r : inbound{operation::pa_verify_payment_notice, verify_request{}};
}

decode_failure decode_bad(const std::string& xml, std::string_view content_type = "text/xml") {
  auto r = decode_request(xml, content_type, 32);
  EXPECT_FALSE(r) << xml;
  return r ? decode_failure{} : r.error();
}

std::string replaced(std::string s, const std::string& what, const std::string& with) {
  const auto at = s.find(what);
  EXPECT_NE(at, std::string::npos) << what;
  if (at != std::string::npos) s.replace(at, what.size(), with);
  return s;
}

receipt_spec sample_receipt(bool v2 = true) {
  receipt_spec r;
  r.receipt_id = "c0ffee";
  r.notice_number = notice;
  r.fiscal_code = id.entity;
  r.iuv = std::string(notice).substr(1);
  r.amount = 12000;
  r.transfers = {{1, 10000, id.entity}, {2, 2000, "80012000826"}};
  r.stand_in = true;
  r.payment_date_time = "2025-03-01T11:00:00";
  r.payer = party{"F", "VRDGPP75C15F205X", "Giuseppe Verdi"};
  r.v2 = v2;
  return r;
}

TEST(codec_decode, verify) {
  const auto in = decode_ok(verify_xml(id, notice));
  EXPECT_EQ(in.op, operation::pa_verify_payment_notice);
  const auto& r = std::get<verify_request>(in.body);
  EXPECT_EQ(r.ids.id_pa, id.entity);
  EXPECT_EQ(r.ids.id_broker_pa, id.broker);
  EXPECT_EQ(r.ids.id_station, id.station);
  EXPECT_EQ(r.notice_number, notice);
}

TEST(codec_decode, get_payment_v1_and_v2) {
  auto in = decode_ok(get_payment_xml(id, notice, false));
  EXPECT_EQ(in.op, operation::pa_get_payment);
  EXPECT_FALSE(std::get<get_payment_request>(in.body).v2);
  in = decode_ok(get_payment_xml(id, notice, true, std::string("POSTAL")));
  EXPECT_EQ(in.op, operation::pa_get_payment_v2);
  EXPECT_EQ(std::get<get_payment_request>(in.body).transfer_type, "POSTAL");
}

TEST(codec_decode, send_rt_v1_and_v2) {
  for (bool v2 : {false, true}) {
    const auto in = decode_ok(send_rt_xml(id, sample_receipt(v2)));
    EXPECT_EQ(in.op, v2 ? operation::pa_send_rt_v2 : operation::pa_send_rt);
    const auto& r = std::get<send_rt_request>(in.body).r;
    EXPECT_EQ(r.receipt_id, "c0ffee");
    EXPECT_EQ(r.payment_amount, "120.00");
    EXPECT_EQ(r.outcome, "OK");
    ASSERT_EQ(r.transfers.size(), 2u);
    EXPECT_EQ(r.transfers[1].fiscal_code_pa, "80012000826");
    EXPECT_EQ(r.transfers[1].amount, "20.00");
    EXPECT_EQ(r.transfers[0].iban, "IT97U0503411701000000001234");
    EXPECT_TRUE(r.stand_in);
    EXPECT_EQ(r.payment_date_time, "2025-03-01T11:00:00");
    EXPECT_EQ(r.fee, "1.50");
    ASSERT_TRUE(r.payer);
    EXPECT_EQ(r.debtor.value, "RSSMRA80A01H501U");
  }
}

TEST(codec_decode, old_model_with_its_header) {
  auto in = decode_ok(verifica_rpt_xml(id, "01000000000000144", "ccp-1", "BCITITMM"));
  EXPECT_EQ(in.op, operation::paa_verifica_rpt);
  const auto& h = std::get<verifica_rpt_request>(in.body).header;
  EXPECT_EQ(h.broker_id, id.broker);
  EXPECT_EQ(h.station_id, id.station);
  EXPECT_EQ(h.entity_fc, id.entity);
  EXPECT_EQ(h.iuv, "01000000000000144");
  EXPECT_EQ(h.ccp, "ccp-1");
  in = decode_ok(attiva_rpt_xml(id, "01000000000000144", "ccp-1", "BCITITMM", 1234));
  EXPECT_EQ(std::get<attiva_rpt_request>(in.body).amount, "12.34");
  in = decode_ok(invia_rt_xml(id, "01000000000000144", "ccp-1", "<RT>x</RT>"));
  EXPECT_EQ(std::get<invia_rt_request>(in.body).rt, "<RT>x</RT>");  // base64 decoded
}

TEST(codec_decode, demand_carries_the_decoded_service_data) {
  const auto in = decode_ok(demand_xml(id, "00847", "<a>b</a>"));
  EXPECT_EQ(in.op, operation::pa_demand_payment_notice);
  const auto& r = std::get<demand_request>(in.body);
  EXPECT_EQ(r.id_servizio, "00847");
  EXPECT_EQ(r.service_data, "<a>b</a>");
}

TEST(codec_decode, bad_input) {
  using kind = decode_failure::kind;
  const std::string v = verify_xml(id, notice);
  // Malformed.
  auto f = decode_bad(v.substr(0, v.size() - 30));
  EXPECT_EQ(f.what, kind::syntax);
  // SOAP 1.2, by namespace or media type.
  f = decode_bad(replaced(v, "http://schemas.xmlsoap.org/soap/envelope/",
                          "http://www.w3.org/2003/05/soap-envelope"));
  EXPECT_EQ(f.what, kind::version_mismatch);
  EXPECT_EQ(decode_bad(v, "application/soap+xml").what, kind::version_mismatch);
  // Wrong namespace: the operation is still recognised, for the answer's shape.
  f = decode_bad(replaced(v, "paForNode.xsd\"", "paForNodeX.xsd\""));
  EXPECT_EQ(f.what, kind::syntax);
  EXPECT_EQ(f.op, operation::pa_verify_payment_notice);
  // Qualified children (DIGEST §0).
  f = decode_bad(replaced(replaced(v, "<idPA>", "<pafn:idPA>"), "</idPA>", "</pafn:idPA>"));
  EXPECT_EQ(f.op, operation::pa_verify_payment_notice);
  // Missing, unknown, duplicated elements; facets.
  EXPECT_EQ(decode_bad(replaced(v, "<idStation>15376371009_01</idStation>", "")).op,
            operation::pa_verify_payment_notice);
  EXPECT_EQ(decode_bad(replaced(v, "<idStation>", "<x>1</x><idStation>")).what, kind::syntax);
  EXPECT_EQ(decode_bad(replaced(v, "<idStation>", "<idPA>01234567897</idPA><idStation>")).what,
            kind::syntax);
  EXPECT_EQ(decode_bad(verify_xml(id, "30100000000000014")).what, kind::syntax);
  EXPECT_EQ(decode_bad(verify_xml(id, "30100000000000014a")).what, kind::syntax);
  auto r = sample_receipt();
  const std::string rt = send_rt_xml(id, r);
  EXPECT_EQ(decode_bad(replaced(rt, "<paymentAmount>120.00", "<paymentAmount>120.000")).op,
            operation::pa_send_rt_v2);
  EXPECT_EQ(decode_bad(replaced(rt, "<outcome>OK", "<outcome>MAYBE")).what, kind::syntax);
  // DTD: refused before parsing.
  EXPECT_EQ(decode_bad(replaced(v, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                                "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]>"))
                .what,
            kind::syntax);
  // Depth.
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "<a>";
  EXPECT_EQ(decode_bad(replaced(v, "<idPA>", deep + "<idPA>")).what, kind::syntax);
  // Not ours.
  EXPECT_EQ(decode_bad("<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/"
                       "soap/envelope/\"><s:Body><q:x xmlns:q=\"urn:q\"/></s:Body></s:Envelope>")
                .what,
            kind::unknown_operation);
}

TEST(codec_encode, verify_ok_and_ko) {
  verify_response ok;
  ok.option = option_description{12000, "2025-12-31", "Rata unica", false};
  ok.payment_description = "TARI";
  ok.fiscal_code_pa = id.entity;
  ok.company_name = "Comune";
  const std::string xml = encode(ok);
  EXPECT_NE(
      xml.find("<pafn:paVerifyPaymentNoticeRes><outcome>OK</outcome><paymentList>"
               "<paymentOptionDescription><amount>120.00</amount><options>EQ</options>"
               "<dueDate>2025-12-31</dueDate><detailDescription>Rata unica</detailDescription>"
               "<allCCP>false</allCCP></paymentOptionDescription></paymentList>"),
      std::string::npos)
      << xml;
  const std::string ko = encode_fault(operation::pa_verify_payment_notice,
                                      fault_bean{"PAA_PAGAMENTO_SCONOSCIUTO", "x", id.entity, "d"});
  EXPECT_NE(ko.find("<outcome>KO</outcome><fault><faultCode>PAA_PAGAMENTO_SCONOSCIUTO</faultCode>"
                    "<faultString>x</faultString><id>01234567897</id><description>d</description>"
                    "</fault>"),
            std::string::npos)
      << ko;
}

TEST(codec_encode, get_payment_v2_with_a_revenue_stamp) {
  get_payment_response r;
  r.v2 = true;
  payment_data d;
  d.creditor_reference_id = "01000000000000144";
  d.amount = 1600;
  d.due_date = "2025-12-31";
  d.description = "Bollo";
  d.company_name = "Comune";
  d.debtor = subject{"F", "RSSMRA80A01H501U", "Mario Rossi", {}, {}, {}, {}, {}, {}, {}};
  payment_transfer t;
  t.amount = 1600;
  t.fiscal_code_pa = id.entity;
  t.stamp = stamp_request{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "01", "RM"};
  t.remittance_information = "Bollo";
  t.transfer_category = "9/0101108TS/";
  d.transfers.push_back(t);
  r.data = d;
  const std::string xml = encode(r);
  EXPECT_NE(xml.find("<richiestaMarcaDaBollo><hashDocumento>"
                     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=</hashDocumento><tipoBollo>01"
                     "</tipoBollo><provinciaResidenza>RM</provinciaResidenza>"),
            std::string::npos)
      << xml;
  EXPECT_EQ(xml.find("<IBAN>"), std::string::npos);
}

TEST(codec_encode, old_model_answers_are_double_wrapped) {
  const std::string ok = encode(operation::paa_invia_rt, old_model_response{});
  EXPECT_NE(ok.find("<ppt:paaInviaRTRisposta><paaInviaRTRisposta><esito>OK</esito>"
                    "</paaInviaRTRisposta></ppt:paaInviaRTRisposta>"),
            std::string::npos)
      << ok;
  old_model_response v;
  v.data = dati_pagamento_pa{7500, "IT97U0503411701000000001234", "/RFB/x/75.00"};
  const std::string verifica = encode(operation::paa_verifica_rpt, v);
  EXPECT_NE(verifica.find("<datiPagamentoPA><importoSingoloVersamento>75.00"), std::string::npos)
      << verifica;
  EXPECT_NE(verifica.find("<causaleVersamento>/RFB/x/75.00</causaleVersamento>"),
            std::string::npos);
}

}  // namespace
}  // namespace pagohub::pap
