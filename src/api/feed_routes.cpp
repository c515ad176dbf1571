// The receipts pull feed over REST. Scope (feed_scope): the caller's entity from the URL once
// the access guard has admitted it, the application and its services from the credentials.
#include "feed_routes.hpp"

#include <pagohub/imports/csv_reader.hpp>

#include <pqxx/pqxx>

#include <optional>

#include "list_params.hpp"
#include "receipt_feed.hpp"
#include "strict_json.hpp"

namespace pagohub::api {

namespace {

using boost::asio::awaitable;
using http::status;

constexpr int default_feed_limit = 100;

feed_scope scope_of(const caller& c) {
  return {c.entity->fiscal_code.str(), c.app->id, c.app->services};
}

// GET /receipts?after=&limit=
awaitable<http::response> read_feed_route(route_context& rc, http::request_context& ctx,
                                          const caller& c) {
  std::vector<http::field_error> errors;
  feed_cursor after;
  int limit = default_feed_limit;
  check_query(ctx.query, {"after", "limit"}, "this feed", errors,
              [&](const std::string& name, std::string& value) {
                if (name == "limit") {
                  take_page_limit(value, limit, errors);
                } else if (auto parsed = parse_feed_cursor(value)) {
                  after = *parsed;
                } else {
                  errors.push_back({"/query/after", "invalid",
                                    "is not a cursor of this feed (use nextCursor of a previous "
                                    "page, or leave it out to start from the beginning)"});
                }
              });
  if (!errors.empty()) {
    co_return field_problem(ctx, status::bad_request, "the query parameters are not valid",
                            std::move(errors));
  }
  const feed_scope scope = scope_of(c);
  auto page = co_await transact(
      rc, ctx,
      [&](pqxx::work& w) -> std::optional<feed_page> {
        if (!feed_cursor_known(w, scope, after)) return std::nullopt;
        return read_feed(w, scope, after, limit);
      },
      db::access::read_only);
  if (!page) co_return std::move(page).error();
  if (!*page) {
    co_return field_problem(
        ctx, status::bad_request, "the query parameters are not valid",
        {{"/query/after", "unknown",
          "names no place of this feed handed out for this entity and application (a cursor "
          "of another entity or application, or of a database restored to an earlier point): "
          "start again without it, and skip the receipts already processed by receiptId"}});
  }
  auto res = json_response(ctx, status::ok, to_json(**page));
  res.set(boost::beast::http::field::cache_control, "no-store");
  co_return res;
}

// GET /receipts/{receiptId}
awaitable<http::response> get_receipt_route(route_context& rc, http::request_context& ctx,
                                            const caller& c) {
  const std::string receipt_id(ctx.params.get("receiptId"));
  // receipts.receipt_id is 1..64 characters (sql/0010_receipts.sql). The percent-decoded id
  // must also be text PostgreSQL accepts: a byte that is not UTF-8, or a NUL, would fail the
  // query instead of finding nothing.
  if (receipt_id.empty() || receipt_id.size() > 64 || !imports::is_valid_utf8(receipt_id) ||
      receipt_id.find('\0') != std::string::npos) {
    co_return field_problem(
        ctx, status::bad_request, "the receipt id is not valid",
        {{"/path/receiptId", "invalid", "must be 1 to 64 characters of UTF-8 text without NUL"}});
  }
  const feed_scope scope = scope_of(c);
  auto found = co_await transact(
      rc, ctx, [&](pqxx::work& w) { return find_scoped_receipt(w, scope, receipt_id); },
      db::access::read_only);
  if (!found) co_return std::move(found).error();
  // Another application's receipt is "not found" too: its existence is not the caller's to know.
  if (!*found) {
    co_return http::make_problem(ctx, status::not_found, "no receipt " + receipt_id + " here");
  }
  co_return json_response(ctx, status::ok, pap::to_json(**found));
}

}  // namespace

void add_receipt_feed_routes(http::router& r, const std::shared_ptr<route_context>& rc) {
  const std::string base(entity_base);
  const auto opts = backoffice_route_options();
  const auto bind = [&](route_fn fn) { return guarded(rc, fn); };
  r.add(http::verb::get, base + "/receipts", bind(&read_feed_route), opts);
  r.add(http::verb::get, base + "/receipts/{receiptId}", bind(&get_receipt_route), opts);
}

}  // namespace pagohub::api
