// The REST body codec: strict JSON, exact paths for every refusal, and a faithful round trip.
#include <pagohub/api/imports.hpp>

#include <gtest/gtest.h>

#include <algorithm>

#include "position_json.hpp"
#include "strict_json.hpp"

namespace pagohub::api {
namespace {

using json = nlohmann::json;

json valid_body() {
  return json::parse(R"({
    "externalId": "tari-1",
    "debtor": {"type": "G", "fiscalCode": "01234567897", "fullName": "Esempio S.r.l.",
               "streetName": "Via Roma", "civicNumber": "1", "postalCode": "00100", "city": "Roma",
               "stateProvinceRegion": "RM", "country": "IT", "email": "a@b.it", "phone": "06 1234"},
    "description": "TARI 2025",
    "serviceCode": "TARI",
    "referenceYear": 2025,
    "validityDate": "2026-01-31T09:30:00.25Z",
    "metadata": [{"key": "k", "value": "v"}],
    "paymentOptions": [
      {"kind": "SINGLE", "amount": 12000, "dueDate": "2026-12-31", "description": "unica",
       "transfers": [{"index": 1, "amount": 12000, "remittanceInformation": "r",
                      "iban": "IT97U0503411701000000001234", "taxonomy": "9/0101002IM/",
                      "accounting": [{"chapter": "1", "year": 2026, "amount": 12000,
                                      "article": "2", "assessment": "A1"}]}]},
      {"kind": "INSTALMENT", "instalment": 1, "noticeNumber": "301000000000000144",
       "amount": 12000, "dueDate": "2026-06-30", "description": "rata",
       "transfers": [{"index": 1, "amount": 12000, "remittanceInformation": "r",
                      "beneficiaryFiscalCode": "80012000826", "postalIban": "IT22L0760101600000012345678",
                      "stamp": null}]},
      {"kind": "INSTALMENT", "instalment": 2, "amount": 1, "dueDate": "2026-07-31",
       "description": "bollo",
       "transfers": [{"index": 1, "amount": 1, "remittanceInformation": "r",
                      "stamp": {"documentHash": "h", "stampType": "01", "province": "RM"}}]}
    ]
  })");
}

// The (path, code) pairs of a refusal.
std::vector<std::pair<std::string, std::string>> refusal(const json& body) {
  auto r = decode_position(body.dump());
  EXPECT_FALSE(r.has_value());
  std::vector<std::pair<std::string, std::string>> out;
  if (!r) {
    EXPECT_FALSE(r.error().syntax);
    for (const auto& e : r.error().errors) out.emplace_back(e.path, e.code);
  }
  return out;
}

using pairs = std::vector<std::pair<std::string, std::string>>;

TEST(position_json, decodes_every_member) {
  auto r = decode_position(valid_body().dump());
  ASSERT_TRUE(r.has_value()) << (r ? "" : r.error().errors.front().path);
  const auto& p = *r;
  EXPECT_EQ(p.external_id, "tari-1");
  EXPECT_EQ(p.payer.type, positions::debtor_type::legal);
  EXPECT_EQ(p.payer.fiscal_code, "01234567897");
  EXPECT_EQ(p.payer.street_name, "Via Roma");
  EXPECT_EQ(p.payer.phone, "06 1234");
  EXPECT_EQ(p.description, "TARI 2025");
  EXPECT_EQ(p.service_code, "TARI");
  EXPECT_EQ(p.reference_year, 2025);
  ASSERT_TRUE(p.validity_date.has_value());
  EXPECT_EQ(format_timestamp(*p.validity_date), "2026-01-31T09:30:00.250000Z");
  ASSERT_EQ(p.metadata.size(), 1u);
  EXPECT_EQ(p.metadata[0], std::make_pair(std::string("k"), std::string("v")));
  ASSERT_EQ(p.options.size(), 3u);
  const auto& single = p.options[0];
  EXPECT_EQ(single.kind, positions::option_kind::single);
  EXPECT_EQ(single.amount, 12000);
  EXPECT_EQ(positions::format_date(single.due_date), "2026-12-31");
  ASSERT_EQ(single.transfers.size(), 1u);
  EXPECT_EQ(single.transfers[0].iban, "IT97U0503411701000000001234");
  EXPECT_EQ(single.transfers[0].taxonomy, "9/0101002IM/");
  ASSERT_EQ(single.transfers[0].accounting.size(), 1u);
  EXPECT_EQ(single.transfers[0].accounting[0].article, "2");
  EXPECT_EQ(single.transfers[0].accounting[0].assessment, "A1");
  const auto& i1 = p.options[1];
  EXPECT_EQ(i1.kind, positions::option_kind::instalment);
  EXPECT_EQ(i1.instalment, 1);
  EXPECT_EQ(i1.notice_number, "301000000000000144");
  EXPECT_EQ(i1.transfers[0].beneficiary_fiscal_code, "80012000826");
  EXPECT_EQ(i1.transfers[0].postal_iban, "IT22L0760101600000012345678");
  EXPECT_FALSE(i1.transfers[0].stamp.has_value());  // null reads as absent
  ASSERT_TRUE(p.options[2].transfers[0].stamp.has_value());
  EXPECT_EQ(p.options[2].transfers[0].stamp->province, "RM");
}

TEST(position_json, encodes_what_it_decodes) {
  auto p = decode_position(valid_body().dump());
  ASSERT_TRUE(p.has_value());
  p->entity_fiscal_code = "01234567897";
  p->status = positions::position_status::valid;
  p->version = 3;
  const auto j = encode_position(*p);
  EXPECT_EQ(j["status"], "VALID");
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["debtor"]["type"], "G");
  EXPECT_EQ(j["paymentOptions"][0]["kind"], "SINGLE");
  EXPECT_TRUE(j["paymentOptions"][0]["instalment"].is_null());
  EXPECT_EQ(j["paymentOptions"][1]["instalment"], 1);
  EXPECT_EQ(j["paymentOptions"][0]["status"], "UNPAID");
  EXPECT_TRUE(j["paymentOptions"][0]["paidAt"].is_null());
  EXPECT_EQ(j["paymentOptions"][2]["transfers"][0]["stamp"]["stampType"], "01");
  EXPECT_EQ(j["validityDate"], "2026-01-31T09:30:00.250000Z");
  // The input members come back with the values sent.
  const auto in = valid_body();
  for (const char* k : {"externalId", "description", "serviceCode", "referenceYear", "metadata"})
    EXPECT_EQ(json::parse(j[k].dump()), in[k]) << k;
  EXPECT_EQ(json::parse(j["paymentOptions"][0]["transfers"][0]["accounting"].dump()),
            in["paymentOptions"][0]["transfers"][0]["accounting"]);
  const auto notice = encode_notice(*p, 1);
  EXPECT_EQ(notice["noticeNumber"], "301000000000000144");
  EXPECT_EQ(notice["paymentOption"]["instalment"], 1);
  EXPECT_EQ(notice["position"]["externalId"], "tari-1");
}

TEST(position_json, unknown_and_read_only_members_are_refused_with_their_paths) {
  auto b = valid_body();
  b["colour"] = "red";
  b["debtor"]["nickname"] = "x";
  b["paymentOptions"][0]["transfers"][0]["accounting"][0]["note"] = 1;
  b["status"] = "PAID";
  b["paymentOptions"][1]["iuv"] = "x";
  b["paymentOptions"][2]["transfers"][0]["stamp"]["extra"] = true;
  b["metadata"][0]["type"] = "t";
  EXPECT_EQ(refusal(b),
            (pairs{{"/colour", "unknown_member"},
                   {"/status", "read_only"},
                   {"/debtor/nickname", "unknown_member"},
                   {"/metadata/0/type", "unknown_member"},
                   {"/paymentOptions/0/transfers/0/accounting/0/note", "unknown_member"},
                   {"/paymentOptions/1/iuv", "read_only"},
                   {"/paymentOptions/2/transfers/0/stamp/extra", "unknown_member"}}));
}

TEST(position_json, wrong_types_are_refused_with_their_paths) {
  auto b = valid_body();
  b["debtor"]["fiscalCode"] = 1234;
  b["description"] = json::array();
  b["referenceYear"] = "2025";
  b["metadata"] = json::object();
  b["paymentOptions"][0]["kind"] = true;
  b["paymentOptions"][0]["transfers"][0]["index"] = "1";
  b["paymentOptions"][1]["transfers"] = "none";
  b["paymentOptions"][2] = 5;
  EXPECT_EQ(refusal(b), (pairs{{"/debtor/fiscalCode", "type"},
                               {"/description", "type"},
                               {"/referenceYear", "type"},
                               {"/metadata", "type"},
                               {"/paymentOptions/0/kind", "type"},
                               {"/paymentOptions/0/transfers/0/index", "type"},
                               {"/paymentOptions/1/transfers", "type"},
                               {"/paymentOptions/2", "type"}}));
  EXPECT_EQ(refusal(json::array()), (pairs{{"", "type"}}));
  EXPECT_EQ(refusal(json("text")), (pairs{{"", "type"}}));
}

TEST(position_json, amounts_must_be_integer_cents) {
  for (const char* amount :
       {"12.345", "120.0", "1.2e4", "\"12000\"", "true", "1e300", "18446744073709551615"}) {
    auto text = valid_body().dump();
    auto b = json::parse(text);
    b["paymentOptions"][0]["amount"] = 0;  // placeholder replaced below as raw text
    std::string raw = b.dump();
    const std::string needle = "\"amount\":0";
    raw.replace(raw.find(needle), needle.size(), std::string("\"amount\":") + amount);
    auto r = decode_position(raw);
    ASSERT_FALSE(r.has_value()) << amount;
    ASSERT_EQ(r.error().errors.size(), 1u) << amount;
    EXPECT_EQ(r.error().errors[0].path, "/paymentOptions/0/amount") << amount;
    const std::string& code = r.error().errors[0].code;
    EXPECT_TRUE(code == "type" || code == "range") << amount << " " << code;
  }
  // Zero and negative amounts are integers: the positions rules judge them, not the codec.
  auto b = valid_body();
  b["paymentOptions"][0]["amount"] = -5;
  EXPECT_TRUE(decode_position(b.dump()).has_value());
  // The message says cents.
  b["paymentOptions"][0]["amount"] = 120.5;
  auto r = decode_position(b.dump());
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().errors[0].message.find("cents"), std::string::npos);
}

TEST(position_json, dates_and_timestamps_are_exact) {
  for (const char* bad : {"2026-2-01", "2026-02-30", "31/12/2026", "2026-12-31T00:00:00Z", "",
                          "2026-13-01", " 2026-12-31"}) {
    auto b = valid_body();
    b["paymentOptions"][0]["dueDate"] = bad;
    EXPECT_EQ(refusal(b), (pairs{{"/paymentOptions/0/dueDate", "format"}})) << bad;
  }
  for (const char* bad : {"2026-01-31", "2026-01-31T09:30:00", "2026-01-31T09:30:00+01:00",
                          "2026-01-31 09:30:00Z", "2026-01-31T24:00:00Z", "2026-01-31T09:30:60Z",
                          "2026-01-31T09:30:00.Z", "2026-01-31T09:30:00.1234567891Z"}) {
    auto b = valid_body();
    b["validityDate"] = bad;
    EXPECT_EQ(refusal(b), (pairs{{"/validityDate", "format"}})) << bad;
  }
  ASSERT_TRUE(parse_timestamp("2026-01-31T09:30:00+00:00"));
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-01-31t09:30:00.000001z")),
            "2026-01-31T09:30:00.000001Z");
  EXPECT_EQ(format_timestamp(*parse_timestamp("2024-02-29T23:59:59Z")),
            "2024-02-29T23:59:59.000000Z");
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00Z")->time_since_epoch().count(), 0);
}

TEST(position_json, required_members_are_named) {
  EXPECT_EQ(refusal(json::object()), (pairs{{"/debtor", "required"},
                                            {"/description", "required"},
                                            {"/serviceCode", "required"},
                                            {"/referenceYear", "required"},
                                            {"/paymentOptions", "required"}}));
  auto b = valid_body();
  b["paymentOptions"][0].erase("transfers");
  b["paymentOptions"][0]["transfers"] = nullptr;  // null is absent
  b["debtor"].erase("type");
  EXPECT_EQ(refusal(b),
            (pairs{{"/debtor/type", "required"}, {"/paymentOptions/0/transfers", "required"}}));
}

TEST(position_json, enums_are_exact) {
  auto b = valid_body();
  b["debtor"]["type"] = "f";
  b["paymentOptions"][0]["kind"] = "single";
  EXPECT_EQ(refusal(b), (pairs{{"/debtor/type", "enum"}, {"/paymentOptions/0/kind", "enum"}}));
}

TEST(position_json, arrays_longer_than_their_limit_get_one_error_and_no_element_is_read) {
  // Each element is broken too: none of it is reported, only the count.
  auto b = valid_body();
  b["metadata"] = json::array();
  for (int i = 0; i < 11; ++i) b["metadata"].push_back({{"colour", i}});
  auto& transfers = b["paymentOptions"][1]["transfers"];
  for (int i = 0; i < 5; ++i) transfers.push_back(json::object());
  auto& accounting = b["paymentOptions"][0]["transfers"][0]["accounting"];
  for (int i = 0; i < 50; ++i) accounting.push_back(json::object());
  EXPECT_EQ(refusal(b), (pairs{{"/metadata", "count"},
                               {"/paymentOptions/0/transfers/0/accounting", "count"},
                               {"/paymentOptions/1/transfers", "count"}}));
  auto options = valid_body();
  while (options["paymentOptions"].size() <= positions::max_payment_options)
    options["paymentOptions"].push_back(json::object());
  EXPECT_EQ(refusal(options), (pairs{{"/paymentOptions", "count"}}));
  // At the limit, the elements are read (and here judged broken).
  auto at_limit = valid_body();
  at_limit["metadata"] = json::array();
  for (int i = 0; i < 10; ++i) at_limit["metadata"].push_back({{"key", "k"}, {"value", i}});
  EXPECT_EQ(refusal(at_limit).size(), 10u);
}

TEST(position_json, a_megabyte_of_empty_options_is_one_error) {
  std::string body = R"({"paymentOptions":[{})";
  body.reserve(1 << 20);
  while (body.size() < (1 << 20) - 8) body += ",{}";
  body += "]}";
  auto r = decode_position(body);
  ASSERT_FALSE(r.has_value());
  std::size_t on_options = 0;
  for (const auto& e : r.error().errors) {
    if (e.path.starts_with("/paymentOptions")) ++on_options;
  }
  EXPECT_EQ(on_options, 1u);
  EXPECT_LE(r.error().errors.size(), 10u);
  EXPECT_NE(r.error().errors.back().message.find("options, at most 100"), std::string::npos)
      << r.error().errors.back().message;
}

TEST(position_json, errors_are_listed_up_to_a_limit_and_the_rest_counted) {
  auto b = valid_body();
  for (int i = 0; i < 500; ++i) b["x" + std::to_string(i)] = i;
  auto r = decode_position(b.dump());
  ASSERT_FALSE(r.has_value());
  const auto& errors = r.error().errors;
  ASSERT_EQ(errors.size(), max_listed_errors + 1);
  EXPECT_EQ(errors.back().code, too_many_errors_code);
  EXPECT_EQ(errors.back().path, "");
  EXPECT_NE(errors.back().message.find("400 more errors"), std::string::npos)
      << errors.back().message;
  // Duplicate members, found while parsing, are cut the same way.
  std::string dups = R"({"a":0)";
  for (int i = 0; i < 300; ++i) dups += R"(,"a":0)";
  dups += "}";
  auto d = parse_strict_json(dups);
  ASSERT_FALSE(d.has_value());
  ASSERT_EQ(d.error().errors.size(), max_listed_errors + 1);
  EXPECT_EQ(d.error().errors.back().code, too_many_errors_code);
  // cap_errors cuts a plain list once, and leaves a cut one alone.
  std::vector<http::field_error> many(250, http::field_error{"/a", "invalid", "x"});
  cap_errors(many);
  ASSERT_EQ(many.size(), max_listed_errors + 1);
  EXPECT_NE(many.back().message.find("150 more"), std::string::npos);
  cap_errors(many);
  EXPECT_EQ(many.size(), max_listed_errors + 1);
  EXPECT_NE(many.back().message.find("150 more"), std::string::npos);
  std::vector<http::field_error> few(3, http::field_error{"/a", "invalid", "x"});
  cap_errors(few);
  EXPECT_EQ(few.size(), 3u);
}

TEST(position_json, validity_dates_beyond_the_due_date_years_are_refused_not_wrapped) {
  for (const char* bad : {"9999-12-31T00:00:00Z", "2263-01-01T00:00:00Z", "2101-01-01T00:00:00Z",
                          "1999-12-31T23:59:59Z", "0000-01-01T00:00:00Z"}) {
    auto b = valid_body();
    b["validityDate"] = bad;
    EXPECT_EQ(refusal(b), (pairs{{"/validityDate", "out_of_range"}})) << bad;
  }
  auto b = valid_body();
  b["validityDate"] = "2100-12-31T23:59:59Z";
  EXPECT_TRUE(decode_position(b.dump()).has_value());
  // parse_timestamp itself refuses what the clock cannot hold, rather than wrap it.
  EXPECT_FALSE(parse_timestamp("9999-12-31T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2201-01-01T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp("1969-12-31T23:59:59Z"));
  ASSERT_TRUE(parse_timestamp("2200-12-31T23:59:59Z"));
  EXPECT_EQ(format_timestamp(*parse_timestamp("2200-12-31T23:59:59Z")),
            "2200-12-31T23:59:59.000000Z");
}

TEST(strict_json, nul_in_a_string_or_member_name_is_refused_with_its_path) {
  auto s = parse_strict_json(R"({"a":{"b":["ok","x\u0000y"]},"c":"\u0000"})");
  ASSERT_FALSE(s.has_value());
  EXPECT_TRUE(s.error().syntax);  // like text that is not UTF-8: HTTP 400
  ASSERT_EQ(s.error().errors.size(), 2u);
  EXPECT_EQ(s.error().errors[0].path, "/a/b/1");
  EXPECT_EQ(s.error().errors[0].code, "invalid");
  EXPECT_EQ(s.error().errors[1].path, "/c");
  auto k = parse_strict_json(R"({"x":{"a\u0000":1}})");
  ASSERT_FALSE(k.has_value());
  EXPECT_TRUE(k.error().syntax);
  ASSERT_EQ(k.error().errors.size(), 1u);
  EXPECT_EQ(k.error().errors[0].path, std::string("/x/a\0", 5));
  // Other control characters are the positions rules' to judge (422), not the parser's.
  EXPECT_TRUE(parse_strict_json(R"({"a":"x\u0001"})").has_value());
  auto b = valid_body();
  b["serviceCode"] = std::string("TARI\0", 5);
  auto r = decode_position(b.dump());
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().syntax);
  ASSERT_EQ(r.error().errors.size(), 1u);
  EXPECT_EQ(r.error().errors[0].path, "/serviceCode");
}

TEST(import_line, nul_anywhere_is_a_row_error_not_a_failed_import) {
  for (const char* line : {R"({"externalId":"A\u0000","operation":"CANCEL"})", R"({"\u0000":1})",
                           R"({"externalId":"A","serviceCode":"X\u0000","debtor":{}})",
                           R"({"externalId":"A","operation":"CANCEL\u0000"})"}) {
    const auto d = decode_import_line(line);
    ASSERT_FALSE(d.errors.empty()) << line;
    EXPECT_EQ(d.errors[0].code, "invalid") << line;
    EXPECT_EQ(d.pos.external_id.find('\0'), std::string::npos) << line;
  }
  const auto d = decode_import_line(R"({"externalId":"A\u0000","operation":"CANCEL"})");
  EXPECT_EQ(d.errors[0].path, "/externalId");
}

TEST(import_line, errors_of_one_line_are_capped_too) {
  std::string cancel = R"({"operation":"CANCEL","externalId":"A")";
  for (int i = 0; i < 300; ++i) cancel += ",\"m" + std::to_string(i) + "\":1";
  cancel += "}";
  const auto c = decode_import_line(cancel);
  ASSERT_EQ(c.errors.size(), max_listed_errors + 1);
  EXPECT_EQ(c.errors.back().code, too_many_errors_code);
  EXPECT_EQ(c.pos.external_id, "A");
  std::string options = R"({"externalId":"B","paymentOptions":[{})";
  for (int i = 0; i < 5000; ++i) options += ",{}";
  options += "]}";
  const auto o = decode_import_line(options);
  ASSERT_FALSE(o.errors.empty());
  EXPECT_LE(o.errors.size(), 10u);
  EXPECT_EQ(o.pos.external_id, "B");
}

TEST(strict_json, syntax_duplicates_depth_and_encoding) {
  const auto syntax = [](std::string_view text) {
    auto r = parse_strict_json(text);
    return !r && r.error().syntax;
  };
  EXPECT_TRUE(syntax(""));
  EXPECT_TRUE(syntax("{"));
  EXPECT_TRUE(syntax("{} {}"));
  EXPECT_TRUE(syntax("{\"a\":\"\xc3\x28\"}"));  // invalid UTF-8
  EXPECT_TRUE(syntax(std::string(33, '[') + std::string(33, ']')));
  EXPECT_FALSE(syntax(std::string(32, '[') + std::string(32, ']')));
  auto dup = parse_strict_json(R"({"a":{"b":1,"c":[{"x":1,"x":2}],"b":2}})");
  ASSERT_FALSE(dup.has_value());
  EXPECT_FALSE(dup.error().syntax);
  ASSERT_EQ(dup.error().errors.size(), 2u);
  EXPECT_EQ(dup.error().errors[0].path, "/a/c/0/x");
  EXPECT_EQ(dup.error().errors[1].path, "/a/b");
  EXPECT_EQ(dup.error().errors[1].code, "duplicate_member");
  auto ok = parse_strict_json(R"({"a/b":[1,2.5,"x",null,true,{"~":{}}]})");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ((*ok)["a/b"][1].get<double>(), 2.5);
  EXPECT_TRUE((*ok)["a/b"][0].is_number_integer());
  EXPECT_EQ(json_pointer_token("a/b~c"), "a~1b~0c");
  auto tricky = parse_strict_json(R"({"a/b":1,"a/b":2})");
  ASSERT_FALSE(tricky.has_value());
  EXPECT_EQ(tricky.error().errors[0].path, "/a~1b");
}

}  // namespace
}  // namespace pagohub::api
