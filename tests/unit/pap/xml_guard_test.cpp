// The byte-level checks before any parser: DTDs, entities, SOAP 1.2; SOAPAction values.
#include <pagohub/nodo/xml_guard.hpp>
#include <pagohub/nodo/xsd_validator.hpp>

#include <gtest/gtest.h>

namespace pagohub::nodo {
namespace {

using verdict = xml_guard_result::verdict;

TEST(xml_guard, plain_xml_passes) {
  EXPECT_TRUE(guard_xml("<a>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;</a>"));
  EXPECT_TRUE(guard_xml("<a><![CDATA[& <!DOCTYPE x> &bogus;]]></a>"));
  EXPECT_TRUE(guard_xml("<!-- &bogus; <!DOCTYPE --><a/>"));
}

TEST(xml_guard, dtds_and_entities_are_refused) {
  EXPECT_EQ(guard_xml("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>").what,
            verdict::dtd);
  EXPECT_EQ(guard_xml("<a>&x;</a>").what, verdict::entity);
  EXPECT_EQ(guard_xml("<a>&#xZZ;</a>").what, verdict::entity);
  EXPECT_EQ(guard_xml("<a>& b</a>").what, verdict::entity);
}

// libxml2 detects UTF-16 and UTF-32 and would parse a DTD the byte scan cannot see in them.
TEST(xml_guard, encodings_that_hide_markup_from_the_scan_are_refused) {
  std::string utf16 = "\xFF\xFE";
  for (char c : std::string("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>")) {
    utf16 += c;
    utf16 += '\0';
  }
  EXPECT_EQ(guard_xml(utf16).what, verdict::encoding);
  EXPECT_EQ(guard_xml(utf16.substr(2)).what, verdict::encoding);  // without its mark: NULs
  EXPECT_EQ(guard_xml("\xFE\xFF<a/>").what, verdict::encoding);
  EXPECT_EQ(guard_xml("<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>").what, verdict::encoding);
  EXPECT_EQ(guard_xml("\xEF\xBB\xBF<?xml version='1.0' encoding='ebcdic-cp-us'?><a/>").what,
            verdict::encoding);
  EXPECT_TRUE(guard_xml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>"));
  EXPECT_TRUE(guard_xml("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>"));
  EXPECT_TRUE(guard_xml("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe8</a>"));
  EXPECT_TRUE(guard_xml("<?xml version=\"1.0\"?><a/>"));
}

TEST(xml_guard, soap_12_is_recognised) {
  EXPECT_EQ(guard_xml("<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\"/>").what,
            verdict::soap12);
  EXPECT_EQ(guard_xml("<a/>", "application/soap+xml; charset=utf-8").what, verdict::soap12);
  EXPECT_EQ(guard_xml("<?xml version='1.0'?><!-- a comment --><Envelope\n"
                      "  xmlns:x='urn:x' xmlns = 'http://www.w3.org/2003/05/soap-envelope'>"
                      "<Body/></Envelope>")
                .what,
            verdict::soap12);
}

// Only the envelope's own namespace decides: the URI in a receipt's text is text.
TEST(xml_guard, the_soap_12_uri_in_text_is_not_an_envelope) {
  const std::string v11 =
      "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
      "<description>see http://www.w3.org/2003/05/soap-envelope</description>"
      "<x:a xmlns:x=\"http://www.w3.org/2003/05/soap-envelope\"/></s:Body></s:Envelope>";
  EXPECT_TRUE(guard_xml(v11)) << guard_xml(v11).reason;
  EXPECT_TRUE(
      guard_xml("<e:Envelope xmlns:f=\"http://www.w3.org/2003/05/soap-envelope\" "
                "xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"/>"));
}

TEST(xml_guard, soap_action_values) {
  EXPECT_EQ(soap_action_operation("\"paVerifyPaymentNotice\""), "paVerifyPaymentNotice");
  EXPECT_EQ(soap_action_operation(" paSendRT "), "paSendRT");
  EXPECT_EQ(soap_action_operation("\"http://ws.pagamenti.telematici.gov/PPT/paaInviaRT\""),
            "paaInviaRT");
  EXPECT_EQ(soap_action_operation(""), "");
}

TEST(xml_guard, soap_faults_escape_their_text) {
  const auto f = soap11_fault("Client", "a < b & c");
  EXPECT_NE(f.find("<faultcode>SOAP-ENV:Client</faultcode>"), std::string::npos);
  EXPECT_NE(f.find("a &lt; b &amp; c"), std::string::npos);
}

TEST(base64, round_trip_and_strictness) {
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(base64_decode("aGVs\nbG8=").value(), "hello");
  EXPECT_FALSE(base64_decode("aGVsbG8"));
  EXPECT_FALSE(base64_decode("aGV$bG8="));
  EXPECT_FALSE(base64_decode("aG=sbG8="));
}

}  // namespace
}  // namespace pagohub::nodo
