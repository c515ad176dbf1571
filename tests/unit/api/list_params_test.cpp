// Query parameters of the list, the Idempotency-Key header, ETags and external ids.
#include <gtest/gtest.h>

#include <pagohub/positions/dates.hpp>

#include "idempotency.hpp"
#include "list_params.hpp"
#include "route_support.hpp"

namespace pagohub::api {
namespace {

std::vector<std::string> paths(std::string_view query) {
  auto r = parse_list_params(query);
  std::vector<std::string> out;
  if (!r)
    for (const auto& e : r.error()) out.push_back(e.path);
  return out;
}

TEST(list_params, every_filter_reaches_the_query) {
  auto q = parse_list_params(
      "status=PARTIALLY_PAID&service=TARI&debtor=rssmra80a01h501u&dueFrom=2026-01-01&"
      "dueTo=2026-12-31&updatedSince=2026-01-01T00%3A00%3A00Z&cursor=abc_-&limit=500");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->status, positions::position_status::partially_paid);
  EXPECT_EQ(q->service, "TARI");
  EXPECT_EQ(q->debtor, "RSSMRA80A01H501U");
  EXPECT_EQ(positions::format_date(*q->due_from), "2026-01-01");
  EXPECT_EQ(positions::format_date(*q->due_to), "2026-12-31");
  ASSERT_TRUE(q->updated_since.has_value());
  EXPECT_EQ(q->cursor, "abc_-");
  EXPECT_EQ(q->limit, 500);
  EXPECT_TRUE(q->entities.empty());  // the caller's to fill, from the credentials
  EXPECT_FALSE(q->application_id.has_value());
  auto d = parse_list_params("");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->limit, 50);
  EXPECT_FALSE(d->status.has_value());
}

TEST(list_params, bad_parameters_are_named) {
  EXPECT_EQ(paths("status=NOPE"), std::vector<std::string>{"/query/status"});
  EXPECT_EQ(paths("limit=0"), std::vector<std::string>{"/query/limit"});
  EXPECT_EQ(paths("limit=501"), std::vector<std::string>{"/query/limit"});
  EXPECT_EQ(paths("limit=5x"), std::vector<std::string>{"/query/limit"});
  EXPECT_EQ(paths("limit=-1"), std::vector<std::string>{"/query/limit"});
  EXPECT_EQ(paths("dueFrom=2026-02-30"), std::vector<std::string>{"/query/dueFrom"});
  EXPECT_EQ(paths("dueFrom=2026-02-02&dueTo=2026-02-01"), std::vector<std::string>{"/query/dueTo"});
  EXPECT_EQ(paths("updatedSince=2026-01-01"), std::vector<std::string>{"/query/updatedSince"});
  EXPECT_EQ(paths("service="), std::vector<std::string>{"/query/service"});
  EXPECT_EQ(paths("service=" + std::string(36, 'S')), std::vector<std::string>{"/query/service"});
  EXPECT_EQ(paths("a%2Fb=1"), std::vector<std::string>{"/query/a~1b"});
  EXPECT_EQ(paths("limit=1&limit=2"), std::vector<std::string>{"/query/limit"});
  EXPECT_EQ(paths("status=%ZZ"), std::vector<std::string>{"/query"});
  EXPECT_EQ(paths("status=NOPE&limit=0&x=1"),
            (std::vector<std::string>{"/query/status", "/query/limit", "/query/x"}));
}

TEST(list_params, text_that_cannot_reach_sql_is_refused_with_its_parameter) {
  // Bytes that are not UTF-8 (or a NUL) would fail the query, not match nothing.
  EXPECT_EQ(paths("debtor=%FF"), std::vector<std::string>{"/query/debtor"});
  EXPECT_EQ(paths("service=%FF"), std::vector<std::string>{"/query/service"});
  EXPECT_EQ(paths("debtor=RSS%00"), std::vector<std::string>{"/query/debtor"});
  EXPECT_EQ(paths("service=TA%00RI"), std::vector<std::string>{"/query/service"});
  EXPECT_EQ(paths("service=caff%C3%A8"), std::vector<std::string>{"/query/service"});
  EXPECT_EQ(paths("debtor=RSS+MRA"), std::vector<std::string>{"/query/debtor"});
  EXPECT_TRUE(parse_list_params("service=TARI_2025.a-b&debtor=ANONIMO").has_value());
  // Dates PostgreSQL has no year for, and instants the clock cannot hold.
  EXPECT_EQ(paths("dueFrom=0000-01-01"), std::vector<std::string>{"/query/dueFrom"});
  EXPECT_EQ(paths("dueTo=9999-12-31"), std::vector<std::string>{"/query/dueTo"});
  EXPECT_EQ(paths("updatedSince=9999-12-31T00%3A00%3A00Z"),
            std::vector<std::string>{"/query/updatedSince"});
  EXPECT_EQ(paths("updatedSince=0001-01-01T00%3A00%3A00Z"),
            std::vector<std::string>{"/query/updatedSince"});
  EXPECT_TRUE(parse_list_params("dueFrom=1970-01-01&dueTo=2200-12-31&updatedSince=1970-01-01T00%"
                                "3A00%3A00Z")
                  .has_value());
}

TEST(idempotency_key, bare_or_quoted_printable_ascii) {
  EXPECT_EQ(parse_idempotency_key("abc-123"), "abc-123");
  EXPECT_EQ(parse_idempotency_key("\"8e03978e-40d5-43e8-bc93-6894a57f9324\""),
            "8e03978e-40d5-43e8-bc93-6894a57f9324");
  EXPECT_EQ(parse_idempotency_key(std::string(255, 'k')), std::string(255, 'k'));
  EXPECT_FALSE(parse_idempotency_key(""));
  EXPECT_FALSE(parse_idempotency_key("\"\""));
  EXPECT_FALSE(parse_idempotency_key(std::string(256, 'k')));
  EXPECT_FALSE(parse_idempotency_key("a\tb"));
  EXPECT_FALSE(parse_idempotency_key("caf\xc3\xa9"));
  EXPECT_EQ(request_digest("abc"),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST(route_support, etags_and_external_ids) {
  http::request req{http::verb::get, "/", 11};
  EXPECT_EQ(etag_of(3), "\"3\"");
  EXPECT_FALSE(if_none_match(req, "\"3\""));
  req.set(boost::beast::http::field::if_none_match, "\"1\", W/\"3\"");
  EXPECT_TRUE(if_none_match(req, "\"3\""));
  EXPECT_FALSE(if_none_match(req, "\"2\""));
  req.set(boost::beast::http::field::if_none_match, "*");
  EXPECT_TRUE(if_none_match(req, "\"9\""));
  EXPECT_TRUE(valid_external_id("tari-2025_01.a"));
  EXPECT_TRUE(valid_external_id(std::string(35, 'x')));
  EXPECT_FALSE(valid_external_id(std::string(36, 'x')));
  EXPECT_FALSE(valid_external_id(""));
  EXPECT_FALSE(valid_external_id("a b"));
  EXPECT_FALSE(valid_external_id("a/b"));
}

}  // namespace
}  // namespace pagohub::api
