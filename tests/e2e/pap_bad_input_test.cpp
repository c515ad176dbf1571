// Bad input at the SOAP endpoints (issue 5's list): each gets the right fault and changes
// nothing. The answers are checked against the contract; the requests, being bad, are not.
#include "pap_fixture.hpp"

namespace pagohub::test {
namespace {

using nodo_sim::send_rt_xml;
using nodo_sim::verify_xml;

std::string replace(std::string s, const std::string& what, const std::string& with) {
  const auto at = s.find(what);
  EXPECT_NE(at, std::string::npos) << what;
  if (at != std::string::npos) s.replace(at, what.size(), with);
  return s;
}

// `envelope` with the text of its first <description> replaced by `text` (raw, not escaped).
std::string with_description(std::string envelope, const std::string& text) {
  const auto begin = envelope.find("<description>");
  const auto end = envelope.find("</description>", begin);
  EXPECT_NE(end, std::string::npos);
  if (end != std::string::npos) envelope.replace(begin + 13, end - begin - 13, text);
  return envelope;
}

class pap_bad_input : public pap_e2e {
 protected:
  void SetUp() override {
    pap_e2e::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    notice_ = make_position(12000);
    receipt_ = receipt_of(notice_);
  }

  // Nothing changed: no receipt, the option unpaid, the position at its first version.
  void expect_unchanged() {
    EXPECT_EQ(count("SELECT count(*) FROM receipts"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM outbox"), 0);
    EXPECT_EQ(scalar("SELECT status FROM payment_options"), "UNPAID");
  }

  void expect_syntax_fault(const nodo_sim::answer& a) {
    EXPECT_EQ(a.http_status, 200u) << a.body;
    EXPECT_EQ(a.outcome, "KO") << a.body;
    EXPECT_EQ(a.fault_code, "PAA_SINTASSI_EXTRAXSD") << a.body;
    EXPECT_FALSE(a.fault_description.empty());
  }

  std::string notice_;
  nodo_sim::receipt_spec receipt_;
};

TEST_F(pap_bad_input, malformed_xml) {
  const std::string rt = send_rt_xml(id_, receipt_);
  expect_syntax_fault(call_raw(rt.substr(0, rt.size() - 40), "paSendRTV2"));
  expect_syntax_fault(call_raw(replace(rt, "<receiptId>", "<receiptId><"), "paSendRTV2"));
  expect_unchanged();
}

TEST_F(pap_bad_input, wrong_namespace) {
  const std::string rt = send_rt_xml(id_, receipt_);
  const auto a = call_raw(replace(rt, "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd",
                                  "http://pagopa-api.pagopa.gov.it/pa/paForNodeX.xsd"),
                          "paSendRTV2");
  expect_syntax_fault(a);
  // Children qualified with the wrapper's namespace: the qualification trap (DIGEST §0).
  const std::string v = verify_xml(id_, notice_);
  expect_syntax_fault(
      call_raw(replace(replace(v, "<idPA>", "<pafn:idPA>"), "</idPA>", "</pafn:idPA>")));
  expect_unchanged();
}

TEST_F(pap_bad_input, soap_12_envelope) {
  const std::string rt = send_rt_xml(id_, receipt_);
  const auto a = call_raw(replace(rt, "http://schemas.xmlsoap.org/soap/envelope/",
                                  "http://www.w3.org/2003/05/soap-envelope"),
                          "paSendRTV2");
  EXPECT_EQ(a.http_status, 500u);
  EXPECT_NE(a.body.find("VersionMismatch"), std::string::npos) << a.body;
  expect_unchanged();
}

TEST_F(pap_bad_input, missing_required_element) {
  const std::string rt = send_rt_xml(id_, receipt_);
  expect_syntax_fault(
      call_raw(replace(rt, "<idChannel>00799960158_01</idChannel>", ""), "paSendRTV2"));
  expect_syntax_fault(
      call_raw(replace(verify_xml(id_, notice_), "<idStation>15376371009_01</idStation>", "")));
  expect_unchanged();
}

TEST_F(pap_bad_input, an_old_model_request_without_its_header) {
  // PaPerNodoRichiestaAvvisi requires intestazionePPT: without it the request breaks the WSDL,
  // which is a syntax fault, not a wrong broker.
  const std::string demand =
      "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
      "xmlns:ppt=\"http://ws.pagamenti.telematici.gov/\"><soapenv:Body>"
      "<ppt:paaChiediNumeroAvviso><identificativoPSP>BCITITMM</identificativoPSP>"
      "<datiSpecificiServizio>PGEvPg==</datiSpecificiServizio></ppt:paaChiediNumeroAvviso>"
      "</soapenv:Body></soapenv:Envelope>";
  expect_syntax_fault(call_raw(demand, "paaChiediNumeroAvviso", nodo_sim::old_model_path));
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 1);
}

TEST_F(pap_bad_input, unknown_element) {
  const std::string rt = send_rt_xml(id_, receipt_);
  expect_syntax_fault(
      call_raw(replace(rt, "<idPSP>", "<surprise>1</surprise><idPSP>"), "paSendRTV2"));
  expect_unchanged();
}

TEST_F(pap_bad_input, notice_number_with_17_digits) {
  expect_syntax_fault(call_raw(verify_xml(id_, notice_.substr(0, 17))));
  auto r = receipt_;
  r.notice_number = notice_.substr(0, 17);
  expect_syntax_fault(call_raw(send_rt_xml(id_, r), "paSendRTV2"));
  expect_unchanged();
}

TEST_F(pap_bad_input, amount_with_three_decimals) {
  const std::string rt = send_rt_xml(id_, receipt_);
  expect_syntax_fault(call_raw(replace(rt, "<paymentAmount>120.00</paymentAmount>",
                                       "<paymentAmount>120.000</paymentAmount>"),
                               "paSendRTV2"));
  expect_unchanged();
}

TEST_F(pap_bad_input, entity_expansion_is_refused) {
  const std::string laughs =
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
      "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
      "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">]>";
  std::string rt = send_rt_xml(id_, receipt_);
  rt = replace(rt, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", laughs);
  rt = with_description(rt, "&lol2;");
  const auto a = call_raw(rt, "paSendRTV2");
  expect_syntax_fault(a);
  EXPECT_NE(a.fault_description.find("DTD"), std::string::npos) << a.fault_description;
  // An entity reference without a DTD is refused too.
  expect_syntax_fault(
      call_raw(with_description(send_rt_xml(id_, receipt_), "&xxe;"), "paSendRTV2"));
  expect_unchanged();
}

TEST_F(pap_bad_input, a_10_mb_body_is_refused) {
  std::string rt = send_rt_xml(id_, receipt_);
  rt = with_description(rt, std::string(10 << 20, 'x'));
  const auto a = link_->post(nodo_sim::current_model_path, rt, {}, "paSendRTV2");
  EXPECT_EQ(a.http_status, 413u);
  expect_unchanged();
}

TEST_F(pap_bad_input, deep_nesting_is_refused) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "<a>";
  for (int i = 0; i < 200; ++i) deep += "</a>";
  const std::string rt = send_rt_xml(id_, receipt_);
  expect_syntax_fault(call_raw(replace(rt, "<idPSP>", deep + "<idPSP>"), "paSendRTV2"));
  expect_unchanged();
}

TEST_F(pap_bad_input, soap_action_must_match_the_body) {
  const auto a = call_raw(send_rt_xml(id_, receipt_), "paVerifyPaymentNotice");
  expect_syntax_fault(a);
  EXPECT_NE(a.fault_description.find("SOAPAction"), std::string::npos);
  expect_unchanged();
}

TEST_F(pap_bad_input, a_body_that_is_no_request_of_ours) {
  const std::string other =
      "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
      "<s:Body><x:hello xmlns:x=\"urn:x\"/></s:Body></s:Envelope>";
  const auto a = call_raw(other, "hello");
  EXPECT_EQ(a.http_status, 500u);
  EXPECT_EQ(a.fault_code, "SOAP-ENV:Client") << a.body;
  expect_unchanged();
}

}  // namespace
}  // namespace pagohub::test
