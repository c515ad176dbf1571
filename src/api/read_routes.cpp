// Reads: GET /positions/{externalId} (with ETag), GET /positions (filters, cursor pages),
// GET /notices/{noticeNumber}, GET /positions/{externalId}/receipts. Every query is scoped to
// the caller's entity, and positions by external id to the caller's application.
#include <pagohub/core/notice_number.hpp>
#include <pagohub/pap/receipts.hpp>
#include <pagohub/positions/store.hpp>

#include <charconv>

#include "list_params.hpp"
#include "position_json.hpp"
#include "route_support.hpp"

namespace pagohub::api {
namespace {

namespace pos = positions;
using boost::asio::awaitable;
using http::status;

http::response not_modified(const http::request_context& ctx, const std::string& etag) {
  auto res = http::make_response(ctx.req, status::not_modified, {}, "application/json");
  res.erase(boost::beast::http::field::content_type);
  res.set(boost::beast::http::field::etag, etag);
  res.set(boost::beast::http::field::cache_control, "no-store");
  return res;
}

http::response service_forbidden(const http::request_context& ctx, const std::string& code) {
  return http::make_problem(ctx, status::forbidden, "this API key is not granted service " + code);
}

// The position of the URL, owned by the caller's application; the problem answer otherwise.
awaitable<std::expected<pos::position, http::response>> load_position(
    route_context& rc, const http::request_context& ctx, const caller& c) {
  if (auto bad = check_external_id(ctx)) co_return std::unexpected(std::move(*bad));
  const std::string external_id(ctx.params.get("externalId"));
  auto found = co_await transact(
      rc, ctx,
      [&](pqxx::work& w) {
        return pos::find_by_external_id(w, c.entity->fiscal_code.str(), c.app->id, external_id);
      },
      db::access::read_only);
  if (!found) co_return std::unexpected(std::move(found).error());
  if (!*found) {
    co_return std::unexpected(http::make_problem(
        ctx, status::not_found, "no position with external id " + external_id + " here"));
  }
  if (!c.app->grants_service((*found)->service_code)) {
    co_return std::unexpected(service_forbidden(ctx, (*found)->service_code));
  }
  co_return std::move(**found);
}

// GET /positions/{externalId}
awaitable<http::response> get_position(route_context& rc, http::request_context& ctx,
                                       const caller& c) {
  auto p = co_await load_position(rc, ctx, c);
  if (!p) co_return std::move(p).error();
  const std::string etag = etag_of(p->version);
  if (if_none_match(ctx.req, etag)) co_return not_modified(ctx, etag);
  auto res = json_response(ctx, status::ok, encode_position(*p));
  res.set(boost::beast::http::field::etag, etag);
  co_return res;
}

// GET /positions
awaitable<http::response> list_positions(route_context& rc, http::request_context& ctx,
                                         const caller& c) {
  auto q = parse_list_params(ctx.query);
  if (!q) {
    co_return field_problem(ctx, status::bad_request, "the query parameters are not valid",
                            std::move(q).error());
  }
  if (q->service && !c.app->grants_service(*q->service)) {
    co_return field_problem(ctx, status::forbidden,
                            "this API key is not granted service " + *q->service,
                            {{"/query/service", "forbidden", "service not granted"}});
  }
  // The scope comes from the credentials, never from the query (ARCHITECTURE §5).
  q->entities = {c.entity->fiscal_code.str()};
  q->application_id = c.app->id;
  auto page = co_await transact(
      rc, ctx, [&](pqxx::work& w) { return pos::list(w, *q); }, db::access::read_only);
  if (!page) co_return std::move(page).error();
  if (!*page) {
    // The store judges the cursor and the limit: a query error like the others above.
    const auto& e = page->error();
    if (e.code == core::errc::invalid_input) {
      co_return field_problem(ctx, status::bad_request, e.message,
                              {{e.path.empty() ? "/query" : e.path, "invalid", e.message}});
    }
    co_return error_problem(ctx, e);
  }
  nlohmann::ordered_json body;
  auto& items = body["items"] = nlohmann::ordered_json::array();
  for (const auto& p : (*page)->items) {
    // An application limited to some services sees only their positions (its own, normally,
    // unless its grant narrowed since it created them).
    if (c.app->grants_service(p.service_code)) items.push_back(encode_position(p));
  }
  body["nextCursor"] = (*page)->next_cursor ? nlohmann::ordered_json(*(*page)->next_cursor)
                                            : nlohmann::ordered_json(nullptr);
  co_return json_response(ctx, status::ok, body);
}

// GET /notices/{noticeNumber}
awaitable<http::response> get_notice(route_context& rc, http::request_context& ctx,
                                     const caller& c) {
  const std::string text(ctx.params.get("noticeNumber"));
  const auto n = core::notice_number::parse(text);
  if (!n) {
    co_return field_problem(ctx, status::bad_request, "the notice number is not valid",
                            {{"/path/noticeNumber", "invalid", n.error().message}});
  }
  auto found = co_await transact(
      rc, ctx,
      [&](pqxx::work& w) { return pos::find_by_notice(w, c.entity->fiscal_code.str(), n->str()); },
      db::access::read_only);
  if (!found) co_return std::move(found).error();
  if (!*found) {
    co_return http::make_problem(
        ctx, status::not_found,
        "entity " + c.entity->fiscal_code.str() + " has no notice " + n->str());
  }
  const pos::position& p = **found;
  if (!c.app->grants_service(p.service_code)) co_return service_forbidden(ctx, p.service_code);
  std::size_t index = 0;
  while (index < p.options.size() && p.options[index].notice_number != n->str()) ++index;
  if (index == p.options.size()) {
    throw std::logic_error("find_by_notice returned a position without the notice");
  }
  const std::string etag = etag_of(p.version);
  if (if_none_match(ctx.req, etag)) co_return not_modified(ctx, etag);
  auto res = json_response(ctx, status::ok, encode_notice(p, index));
  res.set(boost::beast::http::field::etag, etag);
  co_return res;
}

// GET /positions/{externalId}/receipts: the receipts of one position, paged.
awaitable<http::response> list_receipts(route_context& rc, http::request_context& ctx,
                                        const caller& c) {
  std::vector<http::field_error> errors;
  std::optional<std::string> cursor;
  int limit = default_page_size;
  check_query(ctx.query, {"cursor", "limit"}, "this list", errors,
              [&](const std::string& name, std::string& value) {
                if (name == "limit") {
                  take_page_limit(value, limit, errors);
                  return;
                }
                // Checked here, where it is a 400 with the parameter's path as listPositions
                // gives, not by the store (pap::list_receipts: "r" and the last id seen, which
                // must fit its 64 bits).
                std::int64_t last_id = 0;
                const bool ok =
                    value.size() > 1 && value[0] == 'r' &&
                    value.find_first_not_of("0123456789", 1) == std::string::npos &&
                    std::from_chars(value.data() + 1, value.data() + value.size(), last_id).ec ==
                        std::errc();
                if (!ok)
                  errors.push_back({"/query/cursor", "invalid", "is not a cursor of this list"});
                cursor = value;
              });
  if (!errors.empty()) {
    co_return field_problem(ctx, status::bad_request, "the query parameters are not valid",
                            std::move(errors));
  }
  auto p = co_await load_position(rc, ctx, c);
  if (!p) co_return std::move(p).error();
  // The receipts store (pap/receipts.hpp) keeps what the Nodo delivered for this position.
  auto page = co_await transact(
      rc, ctx,
      [&](pqxx::work& w) {
        return pap::list_receipts(w, c.entity->fiscal_code.str(), p->id, cursor, limit);
      },
      db::access::read_only);
  if (!page) co_return std::move(page).error();
  if (!*page) co_return http::make_problem(ctx, page->error());
  co_return json_response(ctx, status::ok, pap::to_json(**page));
}

}  // namespace

void add_position_read_routes(http::router& r, const std::shared_ptr<route_context>& rc) {
  const std::string base(entity_base);
  const auto opts = backoffice_route_options();
  const auto bind = [&](route_fn fn) { return guarded(rc, fn); };
  r.add(http::verb::get, base + "/positions", bind(&list_positions), opts);
  r.add(http::verb::get, base + "/positions/{externalId}", bind(&get_position), opts);
  r.add(http::verb::get, base + "/positions/{externalId}/receipts", bind(&list_receipts), opts);
  r.add(http::verb::get, base + "/notices/{noticeNumber}", bind(&get_notice), opts);
}

}  // namespace pagohub::api
