#include <pagohub/http/metrics.hpp>
#include <pagohub/http/problem.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pagohub::http {
namespace {

TEST(problem, renders_rfc9457_members_and_field_errors) {
  problem p;
  p.http_status = status::unprocessable_entity;
  p.detail = "2 fields are invalid";
  p.instance = "/api/v1/x";
  p.request_id = "abc";
  p.errors.push_back({"/paymentOptions/0/amount", "invalid", "must be at least 1 cent"});
  auto j = nlohmann::json::parse(render_problem_json(p));
  EXPECT_EQ(j["type"], "about:blank");
  EXPECT_EQ(j["title"], "Unprocessable Entity");
  EXPECT_EQ(j["status"], 422);
  EXPECT_EQ(j["detail"], "2 fields are invalid");
  EXPECT_EQ(j["instance"], "/api/v1/x");
  EXPECT_EQ(j["requestId"], "abc");
  ASSERT_EQ(j["errors"].size(), 1u);
  EXPECT_EQ(j["errors"][0]["path"], "/paymentOptions/0/amount");
}

TEST(problem, response_has_problem_content_type) {
  request req{verb::get, "/", 11};
  problem p;
  p.http_status = status::not_found;
  auto res = make_problem(req, p);
  EXPECT_EQ(res.result(), status::not_found);
  EXPECT_EQ(res[boost::beast::http::field::content_type], "application/problem+json");
  auto j = nlohmann::json::parse(res.body());
  EXPECT_FALSE(j.contains("errors"));
}

TEST(problem, invalid_utf8_does_not_throw) {
  problem p;
  p.detail = std::string("bad \xff byte");
  EXPECT_NO_THROW(render_problem_json(p));
}

TEST(problem, domain_errors_map_to_statuses) {
  EXPECT_EQ(status_for(core::errc::invalid_input), status::unprocessable_entity);
  EXPECT_EQ(status_for(core::errc::not_found), status::not_found);
  EXPECT_EQ(status_for(core::errc::conflict), status::conflict);
  EXPECT_EQ(status_for(core::errc::unauthorized), status::unauthorized);
  EXPECT_EQ(status_for(core::errc::forbidden), status::forbidden);
  EXPECT_EQ(status_for(core::errc::rate_limited), status::too_many_requests);
  EXPECT_EQ(status_for(core::errc::unavailable), status::service_unavailable);
}

TEST(problem, domain_error_with_path_becomes_field_error) {
  request req{verb::put, "/p", 11};
  request_context ctx{req, {}, "rid", "127.0.0.1", "", "/p", "/p", "", {}};
  auto res = make_problem(ctx, core::error::invalid("/debtor/fiscalCode", "check digit wrong"));
  auto j = nlohmann::json::parse(res.body());
  EXPECT_EQ(j["status"], 422);
  EXPECT_EQ(j["errors"][0]["path"], "/debtor/fiscalCode");
  EXPECT_EQ(j["errors"][0]["code"], "invalid");
  EXPECT_EQ(res["X-Request-Id"], "rid");
}

TEST(metrics, exposition_is_cumulative_and_escaped) {
  metrics_registry m;
  m.observe_request("/a", "GET", 200, 0.002);
  m.observe_request("/a", "GET", 200, 0.2);
  m.add_collector([](std::string& out) { out += "extra_metric 1\n"; });
  auto text = m.render();
  EXPECT_NE(text.find("pagohub_http_requests_total{route=\"/a\",method=\"GET\",status=\"200\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("le=\"0.0025\"} 1"), std::string::npos);
  EXPECT_NE(text.find("le=\"0.25\"} 2"), std::string::npos);
  EXPECT_NE(text.find("le=\"+Inf\"} 2"), std::string::npos);
  EXPECT_NE(text.find("extra_metric 1"), std::string::npos);
  EXPECT_EQ(metrics_registry::escape_label("a\"b\\c\n"), "a\\\"b\\\\c\\n");
}

}  // namespace
}  // namespace pagohub::http
