// What a back-office receives for a receipt: the REST receipt with the routing facts appended to
// its text (message_body.cpp). No database needed.
#include <pagohub/pap/receipts.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "file_drop.hpp"
#include "message_body.hpp"

namespace {

using namespace pagohub;
using nlohmann::json;

const char* const facts[] = {
    "entityFiscalCode", "positionExternalId", "applicationId", "serviceCode", "applied", "anomaly"};

pap::stored_receipt full_receipt() {
  pap::stored_receipt r;
  r.id = 7;
  r.entity_fc = "01234567897";
  r.receipt_id = "R-1";
  r.notice_number = "301000000000000017";
  r.iuv = "01000000000000017";
  r.outcome = "OK";
  r.amount = 12'345;
  r.fee = 100;
  r.psp_id = "PSP1";
  r.psp_name = "A PSP";
  r.channel_id = "PSP1_01";
  r.payment_method = "CP";
  r.details_json = R"({"transfers":[{"idTransfer":1,"fiscalCodePA":"01234567897","amount":12345,)"
                   R"("iban":"IT60X0542811101000000123456","remittanceInformation":"TARI",)"
                   R"("transferCategory":"9/0101108TS/"}],"payer":{"fullName":"Rossi Mario"}})";
  r.accounting_json = R"({"1":[{"chapter":"1","amount":12345}]})";
  return r;
}

TEST(message_body, a_receipt_is_the_rest_receipt_with_the_routing_facts) {
  const std::string receipt = pap::to_json(full_receipt());
  // The facts are appended as members, so a receipt must not have them already.
  const json rest = json::parse(receipt);
  for (const char* name : facts) EXPECT_FALSE(rest.contains(name)) << name;

  integration::claimed_message m;
  m.entity_fc = "01234567897";
  m.kind = "receipt";
  m.key = "R-1";
  m.payload = R"({"receiptId":"R-1","applied":true,"anomaly":null})";
  m.position_external_id = "TARI-2026-1";
  m.application_id = "tributi";
  const json body = json::parse(integration::detail::body_of(m, receipt));
  for (auto it = rest.begin(); it != rest.end(); ++it) EXPECT_EQ(body.at(it.key()), it.value());
  EXPECT_EQ(body.at("entityFiscalCode"), "01234567897");
  EXPECT_EQ(body.at("positionExternalId"), "TARI-2026-1");
  EXPECT_EQ(body.at("applicationId"), "tributi");
  EXPECT_TRUE(body.at("serviceCode").is_null());
  EXPECT_EQ(body.at("applied"), true);
  EXPECT_TRUE(body.at("anomaly").is_null());
  EXPECT_EQ(body.size(), rest.size() + 6);

  // An empty object takes the facts without a stray comma.
  EXPECT_EQ(json::parse(integration::detail::body_of(m, std::string("{}"))).size(), 6U);
  // Without the receipts row, the payload carries the essentials.
  const json fallback = json::parse(integration::detail::body_of(m, std::nullopt));
  EXPECT_EQ(fallback.at("receiptId"), "R-1");
  EXPECT_EQ(fallback.at("positionExternalId"), "TARI-2026-1");
}

// A 2018-model key holds the PSP's CCP, any text: it must not add headers of its own.
TEST(message_body, the_idempotency_key_header_never_carries_a_line_break) {
  using integration::detail::header_key;
  EXPECT_EQ(header_key("R-1"), "R-1");
  EXPECT_EQ(header_key("sha256:0123abcd"), "sha256:0123abcd");
  EXPECT_EQ(header_key("01000000000000017-x\r\nX-Evil: 1"), "01000000000000017-x%0D%0AX-Evil:%201");
  EXPECT_EQ(header_key("a%b"), "a%25b");
  EXPECT_EQ(header_key("caff\xc3\xa8"), "caff%C3%A8");
}

TEST(message_body, file_names_of_distinct_keys_differ) {
  using integration::detail::file_name_for;
  EXPECT_EQ(file_name_for("receipt", "R-1"), "receipt_R-1.json");
  EXPECT_EQ(file_name_for("position.cancelled", "position-7-cancelled"),
            "position.cancelled_position-7-cancelled.json");
  const auto slash = file_name_for("receipt", "IUV-a/b");
  const auto underscore = file_name_for("receipt", "IUV-a_b");
  EXPECT_EQ(underscore, "receipt_IUV-a_b.json");
  EXPECT_NE(slash, underscore);
  EXPECT_TRUE(slash.starts_with("receipt_IUV-a_b~")) << slash;
  EXPECT_NE(file_name_for("receipt", "IUV-\xc3\xa8"), file_name_for("receipt", "IUV-\xc3\xa9"));
}

}  // namespace
