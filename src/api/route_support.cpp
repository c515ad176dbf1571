#include "route_support.hpp"

#include <boost/beast/http/field.hpp>

#include "strict_json.hpp"

namespace pagohub::api {

http::handler guarded(std::shared_ptr<route_context> rc, guarded_handler h) {
  return [rc = std::move(rc),
          h = std::move(h)](http::request_context& ctx) -> boost::asio::awaitable<http::response> {
    auto admitted = rc->guard.admit(ctx, ctx.params.get("entityFiscalCode"));
    if (!admitted) co_return std::move(admitted).error();
    // The snapshot inside `admitted` keeps the application and entity alive for the handler.
    co_return co_await h(ctx, *admitted);
  };
}

http::handler guarded(const std::shared_ptr<route_context>& rc, route_fn fn) {
  return guarded(rc, [raw = rc.get(), fn](http::request_context& ctx, const caller& c) {
    return fn(*raw, ctx, c);
  });
}

http::route_options backoffice_route_options() {
  http::route_options o;
  o.max_body_bytes = backoffice_max_body_bytes;
  return o;
}

http::response json_response(const http::request_context& ctx, http::status st,
                             const nlohmann::ordered_json& body) {
  // Text from storage is valid UTF-8 (the codec checked it on the way in); replace anyway
  // rather than let an answer throw.
  return json_response(ctx, st,
                       body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

http::response json_response(const http::request_context& ctx, http::status st, std::string body) {
  auto res = http::make_response(ctx.req, st, std::move(body), "application/json");
  // Positions carry personal data (debtor names, fiscal codes): no shared caches.
  res.set(boost::beast::http::field::cache_control, "no-store");
  return res;
}

http::response field_problem(const http::request_context& ctx, http::status st, std::string detail,
                             std::vector<http::field_error> errors) {
  http::problem p;
  p.http_status = st;
  p.detail = std::move(detail);
  p.instance = std::string(ctx.path);
  p.request_id = ctx.request_id;
  // A position breaking thousands of rules (a 1 MB body of broken accounting lines) would
  // otherwise answer with many megabytes of errors.
  cap_errors(errors);
  p.errors = std::move(errors);
  return http::make_problem(ctx.req, p);
}

http::response error_problem(const http::request_context& ctx, const core::error& e) {
  return http::make_problem(ctx, e);
}

std::vector<http::field_error> to_http(const std::vector<positions::field_error>& errors) {
  std::vector<http::field_error> out;
  out.reserve(errors.size());
  for (const auto& e : errors) out.push_back({e.path, e.code, e.message});
  return out;
}

std::string etag_of(std::int64_t version) {
  return "\"" + std::to_string(version) + "\"";
}

namespace {
// True when the comma-separated entity-tag list `list` holds "*" or `etag`; a weak tag (W/"3")
// counts only when `weak` (RFC 9110 §8.8.3.2: If-None-Match compares weakly, If-Match strongly).
bool etag_list_has(std::string_view list, std::string_view etag, bool weak) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*") return true;
    if (item.starts_with("W/")) {
      if (!weak) continue;
      item.remove_prefix(2);
    }
    if (item == etag) return true;
  }
  return false;
}

std::string_view header_value(const http::request& req, boost::beast::http::field f) {
  const auto v = req[f];
  return {v.data(), v.size()};
}
}  // namespace

bool if_none_match(const http::request& req, std::string_view etag) {
  return etag_list_has(header_value(req, boost::beast::http::field::if_none_match), etag, true);
}

std::optional<preconditions> read_preconditions(const http::request& req) {
  preconditions out;
  if (req.find(boost::beast::http::field::if_match) != req.end())
    out.if_match = std::string(header_value(req, boost::beast::http::field::if_match));
  if (req.find(boost::beast::http::field::if_none_match) != req.end())
    out.if_none_match = std::string(header_value(req, boost::beast::http::field::if_none_match));
  if (!out.if_match && !out.if_none_match) return std::nullopt;
  return out;
}

std::optional<std::string_view> preconditions::failing(
    std::optional<std::int64_t> current_version) const {
  // RFC 9110 §13.2.2: If-Match first (step 1), then If-None-Match (step 3); for a PUT a
  // condition that is false ends in 412. "*" matches any stored version and none when absent.
  if (if_match && (!current_version || !etag_list_has(*if_match, etag_of(*current_version), false)))
    return "If-Match";
  if (if_none_match && current_version &&
      etag_list_has(*if_none_match, etag_of(*current_version), true))
    return "If-None-Match";
  return std::nullopt;
}

bool valid_external_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 35) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace pagohub::api

namespace pagohub::api {

std::string position_location(std::string_view entity_fc, std::string_view external_id) {
  return "/api/v1/entities/" + std::string(entity_fc) + "/positions/" + std::string(external_id);
}

std::optional<http::response> check_external_id(const http::request_context& ctx) {
  if (valid_external_id(ctx.params.get("externalId"))) return std::nullopt;
  return field_problem(ctx, http::status::bad_request, "the external id in the URL is not valid",
                       {{"/path/externalId", "invalid",
                         "must be 1..35 characters from letters, digits, '.', '_' and '-'"}});
}

}  // namespace pagohub::api
