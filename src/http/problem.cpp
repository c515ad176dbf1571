#include <pagohub/http/problem.hpp>

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

namespace pagohub::http {

std::string render_problem_json(const problem& p) {
  nlohmann::json j;
  j["type"] = p.type;
  j["title"] = p.title.empty() ? std::string(beast_http::obsolete_reason(p.http_status)) : p.title;
  j["status"] = static_cast<unsigned>(p.http_status);
  if (!p.detail.empty()) j["detail"] = p.detail;
  if (!p.instance.empty()) j["instance"] = p.instance;
  if (!p.request_id.empty()) j["requestId"] = p.request_id;
  if (!p.errors.empty()) {
    auto& arr = j["errors"] = nlohmann::json::array();
    for (const auto& e : p.errors)
      arr.push_back({{"path", e.path}, {"code", e.code}, {"message", e.message}});
  }
  // Invalid UTF-8 echoed from input must not turn an error answer into an exception.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

response make_problem(const request& req, const problem& p) {
  auto res = make_response(req, p.http_status, render_problem_json(p), "application/problem+json");
  if (!p.request_id.empty()) res.set("X-Request-Id", p.request_id);
  return res;
}

response make_problem(const request_context& ctx, status st, std::string detail) {
  problem p;
  p.http_status = st;
  p.detail = std::move(detail);
  p.instance = std::string(ctx.path);
  p.request_id = ctx.request_id;
  return make_problem(ctx.req, p);
}

status status_for(core::errc code) noexcept {
  switch (code) {
    case core::errc::invalid_input:
      return status::unprocessable_entity;
    case core::errc::not_found:
      return status::not_found;
    case core::errc::conflict:
      return status::conflict;
    case core::errc::unauthorized:
      return status::unauthorized;
    case core::errc::forbidden:
      return status::forbidden;
    case core::errc::too_large:
      return status::payload_too_large;
    case core::errc::rate_limited:
      return status::too_many_requests;
    case core::errc::unavailable:
      return status::service_unavailable;
    case core::errc::timeout:
      return status::gateway_timeout;
    case core::errc::internal:
      return status::internal_server_error;
  }
  return status::internal_server_error;
}

namespace {
std::string_view code_word(core::errc code) noexcept {
  switch (code) {
    case core::errc::invalid_input:
      return "invalid";
    case core::errc::not_found:
      return "not_found";
    case core::errc::conflict:
      return "conflict";
    case core::errc::unauthorized:
      return "unauthorized";
    case core::errc::forbidden:
      return "forbidden";
    case core::errc::too_large:
      return "too_large";
    case core::errc::rate_limited:
      return "rate_limited";
    case core::errc::unavailable:
      return "unavailable";
    case core::errc::timeout:
      return "timeout";
    case core::errc::internal:
      return "internal";
  }
  return "internal";
}
}  // namespace

response make_unavailable(const request_context& ctx, std::string detail) {
  auto res = make_problem(ctx, status::service_unavailable, std::move(detail));
  res.set(boost::beast::http::field::retry_after, "5");
  return res;
}

response make_problem(const request_context& ctx, const core::error& e) {
  problem p;
  p.http_status = status_for(e.code);
  p.detail = e.message;
  p.instance = std::string(ctx.path);
  p.request_id = ctx.request_id;
  if (!e.path.empty())
    p.errors.push_back(field_error{e.path, std::string(code_word(e.code)), e.message});
  return make_problem(ctx.req, p);
}

}  // namespace pagohub::http
