#include <pagohub/http/router.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

namespace pagohub::http {
namespace {

handler noop() {
  return [](request_context& ctx) -> boost::asio::awaitable<response> {
    co_return make_response(ctx.req, status::ok, "", "text/plain");
  };
}

TEST(router, matches_literals_and_parameters) {
  router r;
  r.add(verb::get, "/healthz", noop());
  r.add(verb::get, "/api/v1/entities/{fc}/positions/{id}", noop());
  auto m = r.match(verb::get, "/api/v1/entities/01234567890/positions/ABC-1");
  ASSERT_NE(m.found, nullptr);
  EXPECT_EQ(m.found->pattern, "/api/v1/entities/{fc}/positions/{id}");
  EXPECT_EQ(m.params.get("fc"), "01234567890");
  EXPECT_EQ(m.params.get("id"), "ABC-1");
  EXPECT_EQ(m.params.get("missing"), "");
}

TEST(router, literal_beats_parameter) {
  router r;
  r.add(verb::get, "/positions/{id}", noop());
  r.add(verb::get, "/positions/search", noop());
  auto m = r.match(verb::get, "/positions/search");
  ASSERT_NE(m.found, nullptr);
  EXPECT_EQ(m.found->pattern, "/positions/search");
  m = r.match(verb::get, "/positions/other");
  ASSERT_NE(m.found, nullptr);
  EXPECT_EQ(m.found->pattern, "/positions/{id}");
}

TEST(router, percent_decodes_parameters) {
  router r;
  r.add(verb::get, "/p/{id}", noop());
  auto m = r.match(verb::get, "/p/a%20b%2Fc");
  ASSERT_NE(m.found, nullptr);
  EXPECT_EQ(m.params.get("id"), "a b/c");
  EXPECT_EQ(r.match(verb::get, "/p/bad%zz").found, nullptr);
  EXPECT_EQ(r.match(verb::get, "/p/trunc%2").found, nullptr);
}

TEST(router, reports_path_known_for_405) {
  router r;
  r.add(verb::get, "/x/{id}", noop());
  r.add(verb::put, "/x/{id}", noop());
  auto m = r.match(verb::delete_, "/x/1");
  EXPECT_EQ(m.found, nullptr);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allowed.size(), 2u);
  auto miss = r.match(verb::get, "/y");
  EXPECT_FALSE(miss.path_known);
}

TEST(router, segment_count_must_match) {
  router r;
  r.add(verb::get, "/a/{b}", noop());
  EXPECT_EQ(r.match(verb::get, "/a").found, nullptr);
  EXPECT_EQ(r.match(verb::get, "/a/1/2").found, nullptr);
  EXPECT_EQ(r.match(verb::get, "/a/").found, nullptr);  // empty parameter
  EXPECT_EQ(r.match(verb::get, "a/1").found, nullptr);
}

TEST(router, rest_parameter_captures_remainder) {
  router r;
  r.add(verb::get, "/static/{file...}", noop());
  auto m = r.match(verb::get, "/static/css/app.css");
  ASSERT_NE(m.found, nullptr);
  EXPECT_EQ(m.params.get("file"), "css/app.css");
}

TEST(router, rejects_bad_patterns_and_duplicates) {
  router r;
  EXPECT_THROW(r.add(verb::get, "nolead", noop()), std::invalid_argument);
  EXPECT_THROW(r.add(verb::get, "/a/{}", noop()), std::invalid_argument);
  EXPECT_THROW(r.add(verb::get, "/a/{x...}/b", noop()), std::invalid_argument);
  EXPECT_THROW(r.add(verb::get, "/a/b{c}", noop()), std::invalid_argument);
  r.add(verb::get, "/a", noop());
  EXPECT_THROW(r.add(verb::get, "/a", noop()), std::invalid_argument);
  EXPECT_NO_THROW(r.add(verb::post, "/a", noop()));
}

TEST(query, parameters_are_decoded) {
  EXPECT_EQ(query_param("a=1&b=x%20y+z", "b"), "x y z");
  EXPECT_EQ(query_param("a=1&flag", "flag"), "");
  EXPECT_FALSE(query_param("a=1", "b").has_value());
  EXPECT_FALSE(query_param("", "a").has_value());
}

}  // namespace
}  // namespace pagohub::http
