// What never reaches a stored payload: secrets always, personal data as configured.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pagohub/journal/redaction.hpp"

namespace {

using pagohub::journal::redactor;

const redactor r({"fullName", "fiscal_code", "e-mail", "entityUniqueIdentifierValue"});

TEST(journal_redaction, headers_lose_credentials) {
  const auto text = r.redact_headers({{"Authorization", "Bearer phk_secret"},
                                      {"X-API-Key", "phk_other"},
                                      {"Cookie", "session=1"},
                                      {"Content-Type", "application/json"},
                                      {"X-Evil", "a\r\nInjected: yes"}});
  EXPECT_EQ(text.find("phk_"), std::string::npos) << text;
  EXPECT_EQ(text.find("session=1"), std::string::npos) << text;
  EXPECT_NE(text.find("Authorization: ***\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Content-Type: application/json\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("\nInjected"), std::string::npos) << "a header value spans one line";
}

TEST(journal_redaction, json_masks_secret_and_personal_members_at_any_depth) {
  const std::string body =
      R"({"externalId":"A-1","password":"hunter2","debtor":{"fullName":"Mario Rossi","fiscalCode":"RSSMRA80A01H501U","email":"m@example.it"},"paymentOptions":[{"amount":1000,"apiKey":{"x":1}}],"ok":true})";
  const auto out = r.redact_body("application/json; charset=utf-8", body);
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["externalId"], "A-1");
  EXPECT_EQ(j["password"], "***");
  EXPECT_EQ(j["debtor"]["fullName"], "***");
  EXPECT_EQ(j["debtor"]["fiscalCode"], "***") << "fiscal_code matches fiscalCode";
  EXPECT_EQ(j["debtor"]["email"], "***") << "e-mail matches email";
  EXPECT_EQ(j["paymentOptions"][0]["amount"], 1000);
  EXPECT_EQ(j["paymentOptions"][0]["apiKey"], "***") << "objects are masked whole";
  EXPECT_EQ(out.find("Rossi"), std::string::npos);
  // Member order is kept.
  EXPECT_LT(out.find("externalId"), out.find("password"));
}

TEST(journal_redaction, json_without_anything_to_mask_is_kept_byte_for_byte) {
  const std::string body = "{ \"amount\": 1.50,  \"a\": [1, 2] }";
  EXPECT_EQ(r.redact_body("application/json", body), body);
}

TEST(journal_redaction, xml_masks_element_content_whatever_the_prefix) {
  const std::string body =
      "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
      "xmlns:pafn=\"http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd\"><soapenv:Body>"
      "<pafn:paSendRTReq><idPA>01234567897</idPA><receipt><debtor>"
      "<entityUniqueIdentifierValue>RSSMRA80A01H501U</entityUniqueIdentifierValue>"
      "<fullName attr=\"a>b\">Mario <b>Rossi</b></fullName><fullName/>"
      "<ns:e-mail>m@example.it</ns:e-mail></debtor><password>secret1</password>"
      "<!-- <fullName>not masked in a comment</fullName> -->"
      "<description><![CDATA[<fullName>x</fullName>]]></description>"
      "</receipt></pafn:paSendRTReq></soapenv:Body></soapenv:Envelope>";
  const auto out = r.redact_body("text/xml; charset=utf-8", body);
  EXPECT_EQ(out.find("RSSMRA"), std::string::npos) << out;
  EXPECT_EQ(out.find("Rossi"), std::string::npos) << out;
  EXPECT_EQ(out.find("m@example.it"), std::string::npos) << out;
  EXPECT_EQ(out.find("secret1"), std::string::npos) << out;
  EXPECT_NE(out.find("<idPA>01234567897</idPA>"), std::string::npos) << out;
  EXPECT_NE(out.find("<fullName attr=\"a>b\">***</fullName><fullName/>"), std::string::npos) << out;
  EXPECT_NE(out.find("<ns:e-mail>***</ns:e-mail>"), std::string::npos) << out;
  EXPECT_NE(out.find("</soapenv:Envelope>"), std::string::npos) << out;
}

TEST(journal_redaction, nested_elements_of_the_masked_name_are_masked_whole) {
  const redactor nested({"soggettoPagatore"});
  const auto out =
      nested.redact_body("application/xml",
                         "<a><soggettoPagatore><x><soggettoPagatore>i</soggettoPagatore></x>tail"
                         "</soggettoPagatore><b>kept</b></a>");
  EXPECT_EQ(out, "<a><soggettoPagatore>***</soggettoPagatore><b>kept</b></a>");
}

TEST(journal_redaction, forms_and_unknown_or_broken_bodies) {
  EXPECT_EQ(r.redact_body("application/x-www-form-urlencoded", "user=a&password=b&fullName=c"),
            "user=a&password=***&fullName=***");
  const auto text = r.redact_body("text/plain", "Mario Rossi owes 10 EUR");
  EXPECT_EQ(text.find("Rossi"), std::string::npos);
  EXPECT_NE(text.find("23 bytes not stored"), std::string::npos) << text;
  const auto broken = r.redact_body("application/json", "{\"fullName\": \"Mario");
  EXPECT_EQ(broken.find("Mario"), std::string::npos) << broken;
  const auto bad_xml = r.redact_body("text/xml", "<a><fullName>Mario");
  EXPECT_EQ(bad_xml.find("Mario"), std::string::npos) << bad_xml;
  EXPECT_EQ(r.redact_body("application/octet-stream", ""), "");
}

TEST(journal_redaction, a_body_under_the_wrong_label_is_never_kept_unmasked) {
  // curl -d sends JSON labelled as a form: redacted as the JSON it is.
  const auto json_as_form = r.redact_body("application/x-www-form-urlencoded",
                                          R"({"password":"p1","fullName":"Mario Rossi"})");
  EXPECT_EQ(json_as_form.find("p1"), std::string::npos) << json_as_form;
  EXPECT_EQ(json_as_form.find("Rossi"), std::string::npos) << json_as_form;
  EXPECT_NE(json_as_form.find("fullName"), std::string::npos) << json_as_form;
  // Text that is no form, under a form's label: not stored.
  const auto text_as_form =
      r.redact_body("application/x-www-form-urlencoded", "fullName: Mario Rossi");
  EXPECT_EQ(text_as_form.find("Rossi"), std::string::npos) << text_as_form;
  // What is not XML under an XML label: not stored, whatever it holds.
  for (const char* body : {"password=s3cret", R"({"fullName":"Mario Rossi"})", "Mario Rossi"}) {
    const auto out = r.redact_body("text/xml", body);
    EXPECT_EQ(out.find("s3cret"), std::string::npos) << out;
    EXPECT_EQ(out.find("Rossi"), std::string::npos) << out;
  }
  // Unlabelled JSON too.
  const auto plain = r.redact_body("text/plain", R"([{"password":"p2"}])");
  EXPECT_EQ(plain.find("p2"), std::string::npos) << plain;
}

TEST(journal_redaction, secrets_are_masked_even_without_personal_fields) {
  const redactor bare({});
  EXPECT_TRUE(bare.masked("Authorization"));
  EXPECT_TRUE(bare.masked("client_secret"));
  EXPECT_TRUE(bare.masked("ACCESS-TOKEN"));
  EXPECT_FALSE(bare.masked("fullName"));
  EXPECT_EQ(bare.redact_body("application/json", R"({"token":"t","fullName":"F"})"),
            R"({"token":"***","fullName":"F"})");
}

TEST(journal_redaction, secret_like_names_are_masked_whatever_surrounds_them) {
  const redactor bare({});
  for (const char* name : {"X-Auth-Token", "sessionToken", "apiSecret", "bearerToken",
                           "db_password", "PASSWD", "x-api-key", "api_key", "Proxy-Authorization",
                           "clientSecret", "Set-Cookie", "privateKeyPem"}) {
    EXPECT_TRUE(bare.masked(name)) << name;
  }
  for (const char* name : {"fullName", "noticeNumber", "creditorReferenceId", "idempotencyKey",
                           "receiptId", "Content-Type", "X-Request-Id", "keyword"}) {
    EXPECT_FALSE(bare.masked(name)) << name;
  }
  const auto text = bare.redact_headers(
      {{"X-Auth-Token", "t0k"}, {"X-Session-Secret", "s3c"}, {"Accept", "*/*"}});
  EXPECT_EQ(text, "X-Auth-Token: ***\nX-Session-Secret: ***\nAccept: */*\n");
  EXPECT_EQ(bare.redact_body("application/json",
                             R"({"auth":{"sessionToken":"a","apiSecret":"b","bearerToken":"c"}})"),
            R"({"auth":{"sessionToken":"***","apiSecret":"***","bearerToken":"***"}})");
}

TEST(journal_redaction, pagopa_business_identifiers_stay_readable) {
  // The payment token is the new model's codiceContestoPagamento: the key the journal is kept
  // for (cross-checks with the Nodo), not a credential.
  const redactor bare({});
  EXPECT_FALSE(bare.masked("paymentToken"));
  EXPECT_FALSE(bare.masked("paymentTokens"));
  EXPECT_FALSE(bare.masked("authorizationCode"));
  const std::string body =
      "<nfp:sendPaymentOutcomeReq><paymentTokens><paymentToken>a3f9e1</paymentToken>"
      "</paymentTokens><password>pw</password><idempotencyKey>k-1</idempotencyKey>"
      "</nfp:sendPaymentOutcomeReq>";
  EXPECT_EQ(bare.redact_body("text/xml", body),
            "<nfp:sendPaymentOutcomeReq><paymentTokens><paymentToken>a3f9e1</paymentToken>"
            "</paymentTokens><password>***</password><idempotencyKey>k-1</idempotencyKey>"
            "</nfp:sendPaymentOutcomeReq>");
  EXPECT_EQ(bare.redact_body("application/json", R"({"paymentToken":"a3f9e1","token":"t"})"),
            R"({"paymentToken":"a3f9e1","token":"***"})");
  // Listed as personal data, a business name is masked like any other.
  const redactor strict({"paymentToken"});
  EXPECT_TRUE(strict.masked("payment_token"));
}

TEST(journal_redaction, xml_attributes_are_masked_like_elements) {
  const redactor pd({"codiceFiscale"});
  const std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
      "<a xmlns:ns=\"urn:x\"><debtor codiceFiscale=\"RSSMRA80A01H501U\" kind='F'>x</debtor>"
      "<ns:login ns:password = 'pw1' user=\"u\"/><b accessToken=\"t>k\"></b></a>";
  EXPECT_EQ(pd.redact_body("application/xml", body),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            "<a xmlns:ns=\"urn:x\"><debtor codiceFiscale=\"***\" kind='F'>x</debtor>"
            "<ns:login ns:password = '***' user=\"u\"/><b accessToken=\"***\"></b></a>");
  // A masked element's attributes are masked too, and its content whole.
  EXPECT_EQ(pd.redact_body("text/xml", "<codiceFiscale password=\"p\">X</codiceFiscale>"),
            "<codiceFiscale password=\"***\">***</codiceFiscale>");
  // An unquoted value has no certain end: the body is not stored rather than half masked.
  const auto bad = pd.redact_body("text/xml", "<d codiceFiscale=RSSMRA80A01H501U>x</d>");
  EXPECT_EQ(bad.find("RSSMRA"), std::string::npos) << bad;
  EXPECT_NE(bad.find("not stored"), std::string::npos) << bad;
}

TEST(journal_redaction, form_field_names_are_matched_percent_decoded) {
  const redactor bare({});
  EXPECT_EQ(bare.redact_body("application/x-www-form-urlencoded",
                             "grant_type=client_credentials&client%5Fsecret=s1&client%5fid=app"
                             "&api%2Dkey=k2&session+token=t3&a%=1&b%2=2&access%5Ftoken"),
            "grant_type=client_credentials&client%5Fsecret=***&client%5fid=app"
            "&api%2Dkey=***&session+token=***&a%=1&b%2=2&access%5Ftoken");
}

}  // namespace
