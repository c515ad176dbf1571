// Bad input through the real daemon: every case is refused with the offending field's path
// and stores nothing.
#include <functional>

#include "api_fixture.hpp"

namespace pagohub::test {
namespace {

using beast_http::verb;
using json = nlohmann::json;

struct bad_case {
  std::string name;
  std::function<void(json&)> spoil;
  std::string path;  ///< a path expected among errors[]
  std::string code;  ///< its code
};

std::vector<bad_case> cases() {
  const auto transfer = [](int index, long long amount) {
    return json{{"index", index}, {"amount", amount}, {"remittanceInformation", "r"}};
  };
  return {
      {"debtor fiscal code check character",
       [](json& p) { p["debtor"]["fiscalCode"] = "RSSMRA80A01H501X"; }, "/debtor/fiscalCode",
       "invalid"},
      {"beneficiary fiscal code check digit",
       [](json& p) {
         p["paymentOptions"][0]["transfers"][0]["beneficiaryFiscalCode"] = "01234567890";
       },
       "/paymentOptions/0/transfers/0/beneficiaryFiscalCode", "invalid"},
      {"IBAN check digits",
       [](json& p) {
         p["paymentOptions"][0]["transfers"][0]["iban"] = "IT97U0503411701000000001235";
       },
       "/paymentOptions/0/transfers/0/iban", "invalid"},
      {"IBAN not registered for the entity",
       [](json& p) { p["paymentOptions"][0]["transfers"][0]["iban"] = iban_b; },
       "/paymentOptions/0/transfers/0/iban", "not_registered"},
      {"transfers not adding up",
       [](json& p) { p["paymentOptions"][0]["transfers"][0]["amount"] = 11000; },
       "/paymentOptions/0/transfers", "sum_mismatch"},
      {"six transfers",
       [&](json& p) {
         auto& t = p["paymentOptions"][0]["transfers"];
         t = json::array();
         for (int i = 1; i <= 6; ++i) t.push_back(transfer(i, 2000));
       },
       "/paymentOptions/0/transfers", "count"},
      {"amount zero",
       [](json& p) {
         p["paymentOptions"][0]["amount"] = 0;
         p["paymentOptions"][0]["transfers"][0]["amount"] = 0;
       },
       "/paymentOptions/0/amount", "out_of_range"},
      {"amount negative",
       [](json& p) {
         p["paymentOptions"][0]["amount"] = -100;
         p["paymentOptions"][0]["transfers"][0]["amount"] = -100;
       },
       "/paymentOptions/0/amount", "out_of_range"},
      {"amount with three decimals", [](json& p) { p["paymentOptions"][0]["amount"] = 120.005; },
       "/paymentOptions/0/amount", "type"},
      {"amount in euro with two decimals",
       [](json& p) { p["paymentOptions"][0]["transfers"][0]["amount"] = 120.5; },
       "/paymentOptions/0/transfers/0/amount", "type"},
      {"amount as a string", [](json& p) { p["paymentOptions"][0]["amount"] = "12000"; },
       "/paymentOptions/0/amount", "type"},
      {"unknown service", [](json& p) { p["serviceCode"] = "NOPE"; }, "/serviceCode",
       "unknown_service"},
      {"due date in the past", [](json& p) { p["paymentOptions"][0]["dueDate"] = "2020-01-31"; },
       "/paymentOptions/0/dueDate", "in_past"},
      {"due date not a date", [](json& p) { p["paymentOptions"][0]["dueDate"] = "31/12/2030"; },
       "/paymentOptions/0/dueDate", "format"},
      {"due date not a calendar day",
       [](json& p) { p["paymentOptions"][0]["dueDate"] = "2030-02-30"; },
       "/paymentOptions/0/dueDate", "format"},
      {"reference year as a string", [](json& p) { p["referenceYear"] = "2025"; }, "/referenceYear",
       "type"},
      {"debtor as a string", [](json& p) { p["debtor"] = "Mario Rossi"; }, "/debtor", "type"},
      {"options as an object",
       [](json& p) {
         p["paymentOptions"] = json{{"kind", "SINGLE"}};
       },
       "/paymentOptions", "type"},
      {"transfer index as a string",
       [](json& p) { p["paymentOptions"][0]["transfers"][0]["index"] = "1"; },
       "/paymentOptions/0/transfers/0/index", "type"},
      {"debtor type", [](json& p) { p["debtor"]["type"] = "X"; }, "/debtor/type", "enum"},
      {"unknown member", [](json& p) { p["paymentOptions"][0]["transfers"][0]["colour"] = 1; },
       "/paymentOptions/0/transfers/0/colour", "unknown_member"},
      {"read-only member", [](json& p) { p["status"] = "PAID"; }, "/status", "read_only"},
      {"missing description", [](json& p) { p.erase("description"); }, "/description", "required"},
      {"validity date with an offset",
       [](json& p) { p["validityDate"] = "2030-01-01T10:00:00+01:00"; }, "/validityDate", "format"},
      {"metadata entry without value",
       [](json& p) {
         p["metadata"] = json::array({json{{"key", "k"}}});
       },
       "/metadata/0/value", "required"},
  };
}

TEST_F(api_e2e, bad_positions_are_refused_with_paths_and_store_nothing) {
  int n = 0;
  for (const auto& c : cases()) {
    json body = single_position();
    c.spoil(body);
    const std::string id = "v-" + std::to_string(n++);
    const auto r = put("tributi", entity_a, id, body);
    EXPECT_EQ(r.status, 422u) << c.name << ": " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << c.name;
    EXPECT_EQ(error_code_at(r, c.path), c.code) << c.name << ": " << r.body;
    // POST judges the same way.
    const auto p = call(verb::post, api_path(entity_a, "/positions"), key("tributi"), body.dump());
    EXPECT_EQ(p.status, 422u) << c.name << ": " << p.body;
  }
  EXPECT_TRUE(listed("tributi", entity_a).empty());
}

TEST_F(api_e2e, bodies_that_are_not_json_objects_are_refused) {
  const auto send = [&](const std::string& body) {
    return call(verb::put, api_path(entity_a, "/positions/j-1"), key("tributi"), body);
  };
  for (const std::string& body :
       {std::string(""), std::string("{"), std::string("nul"), std::string("{\"a\":1}x"),
        std::string("{\"description\":\"\xff\"}")}) {
    const auto r = send(body);
    EXPECT_EQ(r.status, 400u) << body << " " << r.body;
    EXPECT_EQ(error_code_at(r, ""), "syntax") << r.body;
  }
  const auto array = send("[]");
  EXPECT_EQ(array.status, 422u);
  EXPECT_EQ(error_code_at(array, ""), "type");
  const auto dup = send(R"({"description":"a","description":"b"})");
  EXPECT_EQ(dup.status, 422u);
  EXPECT_EQ(error_code_at(dup, "/description"), "duplicate_member") << dup.body;
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "[";
  EXPECT_EQ(send(deep).status, 400u);
  EXPECT_TRUE(listed("tributi", entity_a).empty());
}

TEST_F(api_e2e, input_that_would_reach_postgresql_broken_is_refused_not_a_500) {
  // A NUL in any string: PostgreSQL cannot store it, so it is refused with its path.
  for (const std::string where : {"/serviceCode", "/description", "/debtor/fullName"}) {
    json body = single_position();
    body[json::json_pointer(where)] = std::string("TARI\0x", 6);
    const auto r = put("tributi", entity_a, "nul-1", body);
    EXPECT_EQ(r.status, 400u) << where << " " << r.body;
    EXPECT_EQ(error_code_at(r, where), "invalid") << r.body;
  }
  // A validity date past 2262 would wrap to 1816 and make the position payable at once.
  json far = single_position();
  far["validityDate"] = "9999-12-31T00:00:00Z";
  const auto wrapped = put("tributi", entity_a, "far-1", far);
  EXPECT_EQ(wrapped.status, 422u) << wrapped.body;
  EXPECT_EQ(error_code_at(wrapped, "/validityDate"), "out_of_range") << wrapped.body;
  // Query and path parameters that are not UTF-8.
  for (const std::string q : {"debtor=%FF", "service=%FF", "debtor=A%00", "dueFrom=0000-01-01",
                              "updatedSince=9999-12-31T00:00:00Z"}) {
    const auto r = get("tributi", api_path(entity_a, "/positions?" + q));
    EXPECT_EQ(r.status, 400u) << q << " " << r.body;
    const std::string name = q.substr(0, q.find('='));
    EXPECT_EQ(error_paths(r), std::vector<std::string>{"/query/" + name}) << r.body;
  }
  for (const std::string id : {"%FF", "a%00b", "%C3%28"}) {
    const auto r = get("tributi", api_path(entity_a, "/receipts/" + id));
    EXPECT_EQ(r.status, 400u) << id << " " << r.body;
    EXPECT_EQ(error_paths(r), std::vector<std::string>{"/path/receiptId"}) << r.body;
  }
  EXPECT_EQ(get("tributi", api_path(entity_a, "/receipts/r-unknown")).status, 404u);
  EXPECT_TRUE(listed("tributi", entity_a).empty());
}

TEST_F(api_e2e, a_megabyte_of_broken_options_gets_a_short_answer) {
  // ~330,000 empty options: refused on the array's count, not with five errors each.
  std::string body = R"({"paymentOptions":[{})";
  while (body.size() < 1000 * 1000 - 8) body += ",{}";
  body += "]}";
  const auto r = call(verb::put, api_path(entity_a, "/positions/big-1"), key("tributi"), body);
  EXPECT_EQ(r.status, 422u);
  EXPECT_LT(r.body.size(), 4096u);
  EXPECT_EQ(error_code_at(r, "/paymentOptions"), "count") << r.body.substr(0, 500);
  // Broken elements within the limits: the list stops at 100, the rest counted.
  json many = single_position();
  for (int i = 0; i < 300; ++i) many["x" + std::to_string(i)] = i;
  const auto m = put("tributi", entity_a, "many-1", many);
  EXPECT_EQ(m.status, 422u);
  const auto errors = json_of(m)["errors"];
  ASSERT_EQ(errors.size(), 101u) << m.body.substr(0, 500);
  EXPECT_EQ(errors.back()["code"], "too_many_errors");
  EXPECT_TRUE(listed("tributi", entity_a).empty());
}

}  // namespace
}  // namespace pagohub::test
