#include <pagohub/journal/routes.hpp>

#include <pagohub/core/fiscal_code.hpp>
#include <pagohub/core/notice_number.hpp>
#include <pagohub/db/errors.hpp>
#include <pagohub/http/problem.hpp>
#include <pagohub/journal/query.hpp>

#include <boost/beast/http/field.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <expected>
#include <memory>

#include "render.hpp"

namespace pagohub::journal {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

namespace {

using http::field_error;

constexpr int default_limit = 100;
constexpr int max_limit = 1000;
constexpr int timeline_limit = 5000;

http::response problem_response(const http::request_context& ctx, http::status st,
                                std::string detail, std::vector<field_error> errors = {}) {
  http::problem p;
  p.http_status = st;
  p.title = std::string(beast_http::obsolete_reason(st));
  p.detail = std::move(detail);
  p.request_id = ctx.request_id;
  p.instance = std::string(ctx.path);
  p.errors = std::move(errors);
  return http::make_problem(ctx.req, p);
}

http::response json_response(const http::request_context& ctx, const nlohmann::ordered_json& j) {
  auto res = http::make_response(ctx.req, http::status::ok, j.dump(), "application/json");
  res.set(beast_http::field::cache_control, "no-store");
  return res;
}

bool wants_csv(const http::request_context& ctx) {
  const auto accept = ctx.req[beast_http::field::accept];
  return std::string_view(accept.data(), accept.size()).find("text/csv") != std::string_view::npos;
}

// RFC 3339 date-time ("2024-05-01T10:00:00Z", fractions and offsets allowed) or a date
// ("2024-05-01", midnight UTC), as microseconds since the epoch.
std::optional<std::int64_t> parse_time(std::string_view s) {
  const auto digits = [&s](std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!digits(0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(5, 2, mo) || s[7] != '-' ||
      !digits(8, 2, d))
    return std::nullopt;
  using namespace std::chrono;
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)),
                           day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  std::int64_t us = duration_cast<microseconds>(sys_days(ymd).time_since_epoch()).count();
  if (s.size() == 10) return us;
  if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(11, 2, h) || s.size() < 19 ||
      s[13] != ':' || !digits(14, 2, mi) || s[16] != ':' || !digits(17, 2, se) || h > 23 ||
      mi > 59 || se > 60)
    return std::nullopt;
  us += (static_cast<std::int64_t>(h) * 3600 + mi * 60 + se) * 1'000'000;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    std::int64_t frac = 0;
    int n = 0;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++n)
      if (n < 6) frac = frac * 10 + (s[i] - '0');
    if (n == 0) return std::nullopt;
    for (int k = std::min(n, 6); k < 6; ++k) frac *= 10;
    us += frac;
  }
  if (i == s.size()) return std::nullopt;  // RFC 3339 wants the offset
  if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size() ? std::optional(us) : std::nullopt;
  int oh = 0, om = 0;
  if ((s[i] != '+' && s[i] != '-') || i + 6 != s.size() || !digits(i + 1, 2, oh) ||
      s[i + 3] != ':' || !digits(i + 4, 2, om))
    return std::nullopt;
  const std::int64_t offset = (static_cast<std::int64_t>(oh) * 3600 + om * 60) * 1'000'000;
  return s[i] == '+' ? us - offset : us + offset;
}

bool plain_token(std::string_view s, std::size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

bool printable(std::string_view s, std::size_t max) {
  return !s.empty() && s.size() <= max &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= 0x20 && c != 0x7F; });
}

// The query parameters of the list, each checked; unknown or repeated ones are errors too, so
// that a misspelt filter never silently widens the answer.
struct list_params {
  page_request request;
  std::vector<field_error> errors;
};

list_params read_list_params(std::string_view query, bool timeline) {
  list_params out;
  auto& f = out.request.where;
  out.request.limit = timeline ? timeline_limit : default_limit;
  static constexpr std::string_view known[] = {"entity",     "iuv",   "noticeNumber", "requestId",
                                               "tipoEvento", "esito", "from",         "to",
                                               "cursor",     "limit"};
  static constexpr std::string_view timeline_known[] = {"cursor", "limit"};
  std::vector<std::string> seen;
  std::size_t pos = 0;
  while (pos <= query.size() && !query.empty()) {
    auto amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const auto item = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const auto name = http::percent_decode(item.substr(0, eq), true).value_or(std::string(item));
    const auto path = "/query/" + name;
    const bool is_known =
        timeline ? std::find(std::begin(timeline_known), std::end(timeline_known), name) !=
                       std::end(timeline_known)
                 : std::find(std::begin(known), std::end(known), name) != std::end(known);
    if (!is_known) {
      out.errors.push_back({path, "unknown_parameter", "unknown query parameter"});
      continue;
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      out.errors.push_back({path, "repeated_parameter", "given more than once"});
      continue;
    }
    seen.push_back(name);
    const auto value = eq == std::string_view::npos
                           ? std::optional<std::string>("")
                           : http::percent_decode(item.substr(eq + 1), true);
    if (!value) {
      out.errors.push_back({path, "malformed", "malformed percent-encoding"});
      continue;
    }
    const std::string& v = *value;
    const auto bad = [&](std::string message) {
      out.errors.push_back({path, "invalid", std::move(message)});
    };
    if (name == "entity") {
      if (core::entity_fiscal_code::parse(v)) {
        f.entity = v;
      } else {
        bad("must be an entity fiscal code: 11 digits with a valid check digit");
      }
    } else if (name == "iuv") {
      if (core::is_valid_iuv(v)) {
        f.iuv = v;
      } else {
        bad("must be an IUV: 1..35 letters and digits");
      }
    } else if (name == "noticeNumber") {
      if (core::notice_number::parse(v)) {
        f.notice_number = v;
      } else {
        bad("must be a notice number: 18 digits with valid check digits");
      }
    } else if (name == "requestId") {
      if (plain_token(v, 64)) {
        f.request_id = v;
      } else {
        bad("must be 1..64 letters, digits, '-', '_' or '.'");
      }
    } else if (name == "tipoEvento" || name == "esito") {
      if (!printable(v, 35)) {
        bad("must be 1..35 printable characters");
      } else {
        (name == "esito" ? f.outcome : f.event_type) = v;
      }
    } else if (name == "from" || name == "to") {
      if (auto t = parse_time(v)) {
        (name == "from" ? f.from_us : f.to_us) = *t;
      } else {
        bad("must be an RFC 3339 date-time (2024-05-01T10:00:00Z) or a date (2024-05-01)");
      }
    } else if (name == "cursor") {
      if (auto c = decode_cursor(v)) {
        out.request.after = *c;
      } else {
        bad("is not a cursor this API returned");
      }
    } else if (name == "limit") {
      int n = 0;
      const int top = timeline ? timeline_limit : max_limit;
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size() || n < 1 || n > top) {
        bad("must be an integer from 1 to " + std::to_string(top));
      } else {
        out.request.limit = n;
      }
    }
  }
  if (f.from_us && f.to_us && *f.to_us <= *f.from_us)
    out.errors.push_back({"/query/to", "invalid", "must be after from"});
  return out;
}

http::response unauthorized(const http::request_context& ctx) {
  auto res = problem_response(ctx, http::status::unauthorized,
                              "credentials are required: send Authorization: Bearer <API key>");
  res.set(beast_http::field::www_authenticate, "Bearer realm=\"pagohub\"");
  return res;
}

// The caller, admitted; or the answer to send instead: 401, or the throttle's (429).
asio::awaitable<std::expected<caller, http::response>> who(const route_deps& d,
                                                           const http::request_context& ctx) {
  std::optional<caller> c;
  if (d.resolve) c = co_await d.resolve(ctx);
  if (!c) co_return std::unexpected(unauthorized(ctx));
  if (d.throttle)
    if (auto refused = d.throttle(ctx, *c)) co_return std::unexpected(*std::move(refused));
  co_return *std::move(c);
}

struct export_state {
  db::executor* db;
  scope who;
  page_request request;
  std::optional<std::string> pending;  // the first chunk, read before answering
  bool done = false;
};

asio::awaitable<std::optional<std::string>> next_chunk(std::shared_ptr<export_state> st) {
  if (st->pending) {
    auto first = std::move(st->pending);
    st->pending.reset();
    co_return first;
  }
  if (st->done) co_return std::nullopt;
  // The body captures a plain pointer, not `st`: GCC 12 destroys a closure built as a temporary
  // inside a co_await expression twice, which is harmless only when the closure owns nothing.
  // `st`, this coroutine's parameter, keeps the state alive until the transaction is done.
  export_state* state = st.get();
  const auto pg = co_await st->db->transact(
      [state](pqxx::work& w) { return find_events(w, state->who, state->request); },
      db::isolation::read_committed, db::access::read_only);
  std::string out;
  out.reserve(pg.items.size() * 256);
  for (const auto& e : pg.items) detail::append_csv(out, e);
  if (!pg.items.empty())
    st->request.after = position_key{pg.items.back().time_us, pg.items.back().id};
  st->done = !pg.more;
  co_return out;
}

// CSV: streamed in chunks of export_chunk_rows, each its own short read transaction (keyset
// pagination on (event time, id)) rather than one cursor held open, so a slow client never
// holds a database connection. The upper time bound is fixed when the export starts, so the
// file is the journal as of that moment even while events keep arriving.
// Arguments are references: GCC 12 destroys a by-value argument built as a temporary inside a
// co_await expression twice, so callers pass named objects.
asio::awaitable<http::response> export_csv(const route_deps& d, http::request_context& ctx,
                                           const caller& c, const page_request& request,
                                           const std::string& filename) {
  auto st = std::make_shared<export_state>();
  st->db = &d.db;
  st->who = c.reads;
  st->request = request;
  st->request.limit = d.export_chunk_rows;
  if (!st->request.where.to_us)
    st->request.where.to_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count() +
                              1;
  // The first chunk is read now, so a database failure is still a proper 503, not a cut file.
  auto first = co_await next_chunk(st);
  st->pending = detail::csv_header() + first.value_or("");
  auto res = http::make_response(ctx.req, http::status::ok, "", "text/csv; charset=utf-8");
  res.set(beast_http::field::content_disposition, "attachment; filename=\"" + filename + "\"");
  res.set(beast_http::field::cache_control, "no-store");
  ctx.stream_body = [st]() { return next_chunk(st); };
  co_return res;
}

asio::awaitable<http::response> list(route_deps d, http::request_context& ctx) {
  const auto c = co_await who(d, ctx);
  if (!c) co_return c.error();
  auto params = read_list_params(ctx.query, false);
  if (!params.errors.empty())
    co_return problem_response(ctx, http::status::bad_request, "invalid query parameters",
                               std::move(params.errors));
  if (params.request.where.entity && !c->reads.grants(*params.request.where.entity))
    co_return problem_response(
        ctx, http::status::forbidden,
        "entity " + *params.request.where.entity + " is not one of the caller's");
  if (wants_csv(ctx)) {
    const std::string filename = "journal.csv";
    co_return co_await export_csv(d, ctx, *c, params.request, filename);
  }
  const auto& s = c->reads;
  const auto request = params.request;
  const auto pg =
      co_await d.db.transact([&s, &request](pqxx::work& w) { return find_events(w, s, request); },
                             db::isolation::read_committed, db::access::read_only);
  nlohmann::ordered_json body;
  body["items"] = nlohmann::ordered_json::array();
  for (const auto& e : pg.items) body["items"].push_back(detail::to_json(e));
  if (pg.more) body["nextCursor"] = encode_cursor({pg.items.back().time_us, pg.items.back().id});
  co_return json_response(ctx, body);
}

asio::awaitable<http::response> get_one(route_deps d, http::request_context& ctx) {
  const auto c = co_await who(d, ctx);
  if (!c) co_return c.error();
  const auto text = ctx.params.get("id");
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 1)
    co_return problem_response(ctx, http::status::bad_request, "invalid event id",
                               {{"/path/id", "invalid", "must be a positive integer"}});
  const auto& s = c->reads;
  const auto found = co_await d.db.transact([&s, id](pqxx::work& w) { return get_event(w, s, id); },
                                            db::isolation::read_committed, db::access::read_only);
  if (!found) co_return problem_response(ctx, http::status::not_found, "no such event");
  auto body = detail::to_json(found->event);
  switch (found->state) {
    case payload_state::none:
      body["payload"] = nullptr;
      body["payloadStatus"] = "none";
      break;
    case payload_state::expired:
      body["payload"] = nullptr;
      body["payloadStatus"] = "expired";
      break;
    case payload_state::stored: {
      const auto& p = *found->payload;
      nlohmann::ordered_json pj;
      pj["contentType"] = p.content_type;
      pj["headers"] = p.headers;
      pj["originalBytes"] = p.original_bytes;
      // Bodies are text (JSON, XML, forms; anything else was stored as a note); invalid
      // UTF-8 is replaced when the answer is serialised.
      pj["body"] = found->body ? nlohmann::ordered_json(*found->body) : nullptr;
      pj["sha256"] = to_hex(payload_digest(p));
      body["payload"] = std::move(pj);
      body["payloadStatus"] = found->body ? "stored" : "corrupt";
      break;
    }
  }
  co_return http::make_response(
      ctx.req, http::status::ok,
      body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace),
      "application/json");
}

asio::awaitable<http::response> timeline(route_deps d, http::request_context& ctx) {
  const auto c = co_await who(d, ctx);
  if (!c) co_return c.error();
  const std::string entity(ctx.params.get("entityFiscalCode"));
  const std::string notice(ctx.params.get("noticeNumber"));
  std::vector<field_error> errors;
  if (!core::entity_fiscal_code::parse(entity))
    errors.push_back({"/path/entityFiscalCode", "invalid",
                      "must be an entity fiscal code: 11 digits with a valid check digit"});
  if (!core::notice_number::parse(notice))
    errors.push_back({"/path/noticeNumber", "invalid",
                      "must be a notice number: 18 digits with valid check digits"});
  auto params = read_list_params(ctx.query, true);
  errors.insert(errors.end(), params.errors.begin(), params.errors.end());
  if (!errors.empty())
    co_return problem_response(ctx, http::status::bad_request, "invalid request",
                               std::move(errors));
  if (!c->reads.grants(entity))
    co_return problem_response(ctx, http::status::forbidden,
                               "entity " + entity + " is not one of the caller's");
  params.request.where.entity = entity;
  params.request.where.notice_number = notice;
  if (wants_csv(ctx)) {
    const std::string filename = "timeline-" + notice + ".csv";
    co_return co_await export_csv(d, ctx, *c, params.request, filename);
  }
  const auto& s = c->reads;
  const auto request = params.request;
  const auto pg =
      co_await d.db.transact([&s, &request](pqxx::work& w) { return find_events(w, s, request); },
                             db::isolation::read_committed, db::access::read_only);
  nlohmann::ordered_json body;
  body["entityFiscalCode"] = entity;
  body["noticeNumber"] = notice;
  body["events"] = nlohmann::ordered_json::array();
  for (const auto& e : pg.items) body["events"].push_back(detail::to_json(e));
  if (pg.more) body["nextCursor"] = encode_cursor({pg.items.back().time_us, pg.items.back().id});
  co_return json_response(ctx, body);
}

// A query that cannot reach the database, or that the database cannot take now (the statement
// timeout cancelled a search over a large journal; db::unavailable_reason), is 503 with
// Retry-After, not 500: nothing is wrong with the daemon, and the caller may try again (a
// narrower search, or later). A CSV export that fails after its first chunk has already
// answered 200: it ends without its final chunk instead.
http::handler unavailable_as_503(http::handler h) {
  return [h = std::move(h)](http::request_context& ctx) -> asio::awaitable<http::response> {
    try {
      co_return co_await h(ctx);
    } catch (const pqxx::failure& e) {
      const auto why = db::unavailable_reason(e);
      if (!why) throw;
      co_return http::make_unavailable(ctx, std::string(*why));
    }
  };
}

}  // namespace

void add_routes(http::router& r, route_deps deps) {
  r.add(http::verb::get, "/api/v1/journal",
        unavailable_as_503([deps](http::request_context& ctx) { return list(deps, ctx); }));
  r.add(http::verb::get, "/api/v1/journal/{id}",
        unavailable_as_503([deps](http::request_context& ctx) { return get_one(deps, ctx); }));
  r.add(http::verb::get, "/api/v1/entities/{entityFiscalCode}/notices/{noticeNumber}/timeline",
        unavailable_as_503([deps](http::request_context& ctx) { return timeline(deps, ctx); }));
}

}  // namespace pagohub::journal
