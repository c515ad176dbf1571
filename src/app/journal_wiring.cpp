#include "journal_wiring.hpp"

#include <pagohub/api/api_key.hpp>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>

namespace pagohub::app {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 6750 §2.1 bearer token, else X-API-Key: the same two ways the back-office API accepts.
std::string_view presented_key(const http::request& req) {
  const auto auth = req[boost::beast::http::field::authorization];
  if (!auth.empty()) {
    const std::string_view value(auth.data(), auth.size());
    if (value.size() > 7 && boost::beast::iequals(value.substr(0, 7), "Bearer "))
      return trim(value.substr(7));
    return {};
  }
  const auto header = req["X-API-Key"];
  return trim(std::string_view(header.data(), header.size()));
}

}  // namespace

journal::caller_resolver application_callers(config::application_holder& applications) {
  return [&applications](const http::request_context& ctx)
             -> boost::asio::awaitable<std::optional<journal::caller>> {
    const auto key = presented_key(ctx.req);
    if (key.empty() || !api::looks_like_api_key(key)) co_return std::nullopt;
    const auto snapshot = applications.get();
    const auto* app = snapshot->find_by_key_digest(api::api_key_digest(key));
    if (app == nullptr) co_return std::nullopt;
    co_return journal::caller{"application", app->id, app->entities,
                              app->role == config::application_role::admin};
  };
}

journal::event daemon_event(std::string type, std::string subtype, std::string outcome,
                            std::string params, const std::string& station_id) {
  journal::event e;
  e.cat = journal::category::interno;
  e.interface = journal::interface_kind::internal;
  e.component = "pagohubd";
  e.type = std::move(type);
  e.subtype = std::move(subtype);
  e.outcome = std::move(outcome);
  e.interface_params = std::move(params);
  e.caller_id = "pagohubd";
  e.provider_id = "pagohubd";
  e.station_id = station_id;
  e.by = {"system", "pagohubd"};
  return e;
}

}  // namespace pagohub::app
