// Bulk imports (docs/api/backoffice.yaml "Imports", docs/api/bulk-csv.md):
//   POST .../imports            upload a CSV or NDJSON file -> 202 with the import
//   GET  .../imports/{importId} its state, rows, progress and timings
//   GET  .../imports/{importId}/report   the per-row outcome CSV, streamed
// The upload is spooled to disk by the HTTP session (route_options::spool_body) and stored in
// the database before the 202 answer (ARCHITECTURE §5: nothing acknowledged is lost); the
// import processor (imports::service) does the rest in the background.
#include "imports_routes.hpp"

#include <pagohub/db/errors.hpp>
#include <pagohub/imports/csv_format.hpp>
#include <pagohub/imports/csv_reader.hpp>
#include <pagohub/imports/store.hpp>

#include <boost/beast/http/field.hpp>

#include <charconv>
#include <fstream>
#include <memory>
#include <variant>

#include "list_params.hpp"
#include "position_json.hpp"

namespace pagohub::api {
namespace {

namespace imp = imports;
using boost::asio::awaitable;
using http::status;

std::string import_location(std::string_view fc, std::int64_t id) {
  return "/api/v1/entities/" + std::string(fc) + "/imports/" + std::to_string(id);
}

nlohmann::ordered_json encode_import(const imp::import_record& r) {
  using ojson = nlohmann::ordered_json;
  const auto ts = [](const std::optional<positions::timestamp>& t) -> ojson {
    return t ? ojson(format_timestamp(*t)) : ojson(nullptr);
  };
  const auto ms = [](const std::optional<positions::timestamp>& from,
                     const std::optional<positions::timestamp>& to) -> ojson {
    if (!from || !to) return nullptr;
    return std::chrono::duration_cast<std::chrono::milliseconds>(*to - *from).count();
  };
  const std::string self = import_location(r.entity_fiscal_code, r.id);
  ojson j;
  j["id"] = r.id;
  j["state"] = std::string(imp::to_string(r.state));
  j["format"] = std::string(imp::to_string(r.format));
  j["mode"] = std::string(imp::to_string(r.mode));
  j["progress"] = r.progress;
  j["fileBytes"] = r.file_bytes;
  j["bytesRead"] = r.bytes_read;
  j["rows"] = {{"read", r.rows_read}, {"valid", r.rows_valid}, {"invalid", r.rows_invalid}};
  j["positions"] = {{"created", r.positions_created},
                    {"updated", r.positions_updated},
                    {"cancelled", r.positions_cancelled},
                    {"unchanged", r.positions_unchanged}};
  j["error"] = r.error ? ojson(*r.error) : ojson(nullptr);
  j["attempts"] = r.attempts;
  j["createdAt"] = format_timestamp(r.created_at);
  j["startedAt"] = ts(r.started_at);
  j["validatedAt"] = ts(r.validated_at);
  j["finishedAt"] = ts(r.finished_at);
  const std::optional<positions::timestamp> created = r.created_at;
  j["timings"] = {{"queuedMs", ms(created, r.started_at)},
                  {"validatingMs", ms(r.started_at, r.validated_at)},
                  {"loadingMs", ms(r.validated_at, r.finished_at)},
                  {"totalMs", ms(created, r.finished_at)}};
  j["links"] = {{"self", self}, {"report", self + "/report"}};
  return j;
}

// text/csv, application/x-ndjson (or application/ndjson); parameters other than a UTF-8
// charset are refused: the file must be UTF-8 (docs/api/bulk-csv.md).
std::optional<imp::file_format> format_of(std::string_view content_type, std::string& why) {
  std::string ct(content_type);
  for (char& c : ct)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  std::string_view media = ct;
  std::string_view params;
  if (const auto semi = media.find(';'); semi != std::string_view::npos) {
    params = media.substr(semi + 1);
    media = media.substr(0, semi);
  }
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (params.find("charset") != std::string_view::npos &&
      params.find("utf-8") == std::string_view::npos) {
    why = "the file must be UTF-8 (charset=utf-8)";
    return std::nullopt;
  }
  if (media == "text/csv") return imp::file_format::csv;
  if (media == "application/x-ndjson" || media == "application/ndjson") {
    return imp::file_format::ndjson;
  }
  why = "send text/csv or application/x-ndjson";
  return std::nullopt;
}

// The header of a CSV upload, judged before anything is stored: a file whose columns are wrong
// (missing, unknown, another delimiter) is refused at once with every problem.
std::vector<http::field_error> csv_header_problems(const std::filesystem::path& file) {
  auto in = std::make_shared<std::ifstream>(file, std::ios::binary);
  if (!*in) throw std::runtime_error("cannot open the spooled upload");
  imp::csv_reader reader([in](char* buffer, std::size_t capacity) -> std::size_t {
    in->read(buffer, static_cast<std::streamsize>(capacity));
    return static_cast<std::size_t>(in->gcount());
  });
  const auto header = reader.read_header();
  if (!header) return {{"", "required", "the file is empty"}};
  if (!header->error.empty()) return {{"/header", "invalid", header->error}};
  auto layout = imp::csv_layout::from_header(header->fields);
  if (layout) return {};
  std::vector<http::field_error> out;
  for (auto& e : layout.error()) out.push_back({e.path, e.code, e.message});
  return out;
}

awaitable<http::response> post_import(route_context& rc, const import_route_deps& deps,
                                      http::request_context& ctx, const caller& c) {
  std::string why;
  const auto ct = ctx.req[boost::beast::http::field::content_type];
  const auto format = format_of(std::string_view(ct.data(), ct.size()), why);
  if (!format) {
    co_return field_problem(ctx, status::unsupported_media_type,
                            "the upload must be a CSV or an NDJSON file",
                            {{"/header/Content-Type", "unsupported", why}});
  }
  // Refused like the lists' queries: a misspelt `mdoe=valid-rows` silently run as
  // all-or-nothing, or two modes of which one silently wins, would surprise the uploader.
  imp::load_mode mode = imp::load_mode::all_or_nothing;
  std::vector<http::field_error> query_errors;
  check_query(ctx.query, {"mode"}, "this upload", query_errors,
              [&](const std::string&, std::string& value) {
                if (auto parsed = imp::parse_load_mode(value)) {
                  mode = *parsed;
                } else {
                  query_errors.push_back({"/query/mode", "invalid",
                                          "must be all-or-nothing (the default) or valid-rows"});
                }
              });
  if (!query_errors.empty()) {
    co_return field_problem(ctx, status::bad_request, "the query parameters are not valid",
                            std::move(query_errors));
  }
  if (ctx.body_file.empty()) {
    throw std::logic_error("the imports route must spool its body");
  }
  if (ctx.body_file_bytes == 0) {
    co_return field_problem(ctx, status::unprocessable_entity, "the file is empty",
                            {{"", "required", "the file is empty; nothing was stored"}});
  }
  imp::new_import n{c.entity->fiscal_code.str(), c.app->id, *format, mode, c.actor(ctx),
                    rc.deps.clock.now()};
  const std::filesystem::path file = ctx.body_file;
  // Thrown to roll back a stored upload that found the queue full.
  struct queue_full : db::rollback {
    explicit queue_full(std::int64_t n) : unfinished(n) {}
    std::int64_t unfinished;
  };
  using outcome = std::variant<imp::import_record, std::vector<http::field_error>, queue_full>;
  // On a DB worker: reading the spooled file (its header, then all of it) is blocking I/O.
  std::optional<std::expected<outcome, http::response>> stored;
  try {
    stored = co_await transact_on(deps.upload_db, ctx, [&](pqxx::work& w) -> outcome {
      if (n.format == imp::file_format::csv) {
        if (auto problems = csv_header_problems(file); !problems.empty()) return problems;
      }
      // Each unfinished import holds its whole file in the database: one application's backlog
      // must not grow without bound, nor delay every other application's imports for hours. A
      // first count without the lock refuses at once when the queue is already full; the count
      // that decides is taken after the file is stored, under the lock that serialises the
      // application's uploads, so that the lock is held from that count to the commit and not
      // while a large file is written (another upload of the application would wait for it).
      if (const auto n_unfinished = imp::unfinished_imports(w, n.application_id, false);
          n_unfinished >= deps.max_queued) {
        return queue_full(n_unfinished);
      }
      auto rec = imp::create_import(w, n, file);
      // This one included: it is this transaction's own.
      if (const auto n_unfinished = imp::unfinished_imports(w, n.application_id, true);
          n_unfinished > deps.max_queued) {
        throw queue_full(n_unfinished - 1);
      }
      return rec;
    });
  } catch (const queue_full& full) {
    stored.emplace(outcome{full});
  }
  if (!*stored) co_return std::move(*stored).error();
  if (const auto* full = std::get_if<queue_full>(&**stored)) {
    auto res = http::make_problem(
        ctx, status::too_many_requests,
        "this application has " + std::to_string(full->unfinished) +
            " imports queued or being processed, the most it may have: upload again when one "
            "has ended; nothing was stored");
    res.set(boost::beast::http::field::retry_after, "60");
    co_return res;
  }
  if (auto* problems = std::get_if<std::vector<http::field_error>>(&**stored)) {
    co_return field_problem(ctx, status::unprocessable_entity,
                            "the CSV header is not valid; nothing was stored",
                            std::move(*problems));
  }
  const auto& rec = std::get<imp::import_record>(**stored);
  deps.service.notify();
  spdlog::info("rid={} application {} queued import {} of {} ({}, {}, {} bytes)", ctx.request_id,
               c.app->id, rec.id, rec.entity_fiscal_code, imp::to_string(rec.format),
               imp::to_string(rec.mode), rec.file_bytes);
  auto res = json_response(ctx, status::accepted, encode_import(rec));
  res.set(boost::beast::http::field::location, import_location(rec.entity_fiscal_code, rec.id));
  co_return res;
}

std::optional<std::int64_t> import_id(const http::request_context& ctx) {
  const std::string_view text = ctx.params.get("importId");
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || p != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

http::response no_such_import(const http::request_context& ctx) {
  return http::make_problem(ctx, status::not_found, "no such import");
}

awaitable<http::response> get_import(route_context& rc, http::request_context& ctx,
                                     const caller& c) {
  const auto id = import_id(ctx);
  if (!id) co_return no_such_import(ctx);
  const std::string fc = c.entity->fiscal_code.str();
  auto found = co_await transact(
      rc, ctx, [&](pqxx::work& w) { return imp::find_import(w, fc, c.app->id, *id); },
      db::access::read_only);
  if (!found) co_return std::move(found).error();
  if (!*found) co_return no_such_import(ctx);
  auto res = json_response(ctx, status::ok, encode_import(**found));
  if ((*found)->state != imp::import_state::done && (*found)->state != imp::import_state::failed) {
    res.set(boost::beast::http::field::retry_after, "2");
  }
  co_return res;
}

awaitable<http::response> get_report(std::shared_ptr<route_context> rc, http::request_context& ctx,
                                     const caller& c) {
  const auto id = import_id(ctx);
  if (!id) co_return no_such_import(ctx);
  const std::string fc = c.entity->fiscal_code.str();
  auto found = co_await transact(
      *rc, ctx, [&](pqxx::work& w) { return imp::find_import(w, fc, c.app->id, *id); },
      db::access::read_only);
  if (!found) co_return std::move(found).error();
  if (!*found) co_return no_such_import(ctx);
  if ((*found)->state != imp::import_state::done && (*found)->state != imp::import_state::failed) {
    auto res = http::make_problem(ctx, status::conflict,
                                  "the import is " + std::string(imp::to_string((*found)->state)) +
                                      "; its report is ready once it is done or failed");
    res.set(boost::beast::http::field::retry_after, "2");
    co_return res;
  }
  // Streamed piece by piece (a million-row report is tens of megabytes): each piece is one
  // short read-only transaction, so the answer never sits in memory whole.
  struct cursor {
    int next = -1;  // -1: the header line
    bool done = false;
  };
  auto state = std::make_shared<cursor>();
  const std::int64_t import = *id;
  ctx.stream_body = [rc, state, fc, import]() -> awaitable<std::optional<std::string>> {
    if (state->done) co_return std::nullopt;
    if (state->next < 0) {
      state->next = 0;
      co_return std::string(imp::report_header());
    }
    const int from = state->next;
    auto piece = co_await rc->deps.db.transact(
        [&](pqxx::work& w) { return imp::report_piece_from(w, fc, import, from); },
        db::isolation::read_committed, db::access::read_only);
    if (!piece) {
      state->done = true;
      co_return std::nullopt;
    }
    state->next = piece->seq + 1;
    co_return std::move(piece->data);
  };
  auto res = http::make_response(ctx.req, status::ok, {}, "text/csv; charset=utf-8");
  res.set(boost::beast::http::field::cache_control, "no-store");
  res.set(boost::beast::http::field::content_disposition,
          "attachment; filename=\"import-" + std::to_string(import) + "-report.csv\"");
  co_return res;
}

}  // namespace

void add_import_routes(http::router& r, const std::shared_ptr<route_context>& rc,
                       const import_route_deps& deps) {
  const std::string base = std::string(entity_base) + "/imports";
  http::route_options upload;
  upload.max_body_bytes = deps.max_upload_bytes;
  upload.spool_body = true;
  // The key, its rate limit and the entity are checked on the request's head: a caller without
  // a valid key must not get the daemon to spool up to max_upload_bytes to disk before its 401.
  upload.before_body = [rc](const http::request_context& ctx) -> std::optional<http::response> {
    auto admitted = rc->guard.admit(ctx, ctx.params.get("entityFiscalCode"));
    if (!admitted) return std::move(admitted).error();
    return std::nullopt;
  };
  r.add(
      http::verb::post, base,
      [rc, deps](http::request_context& ctx) -> awaitable<http::response> {
        // Admitted and charged on its head; checked again, as the configuration may have been
        // reloaded during a long upload.
        auto admitted = rc->guard.admit(ctx, ctx.params.get("entityFiscalCode"), false);
        if (!admitted) co_return std::move(admitted).error();
        co_return co_await post_import(*rc, deps, ctx, *admitted);
      },
      upload);
  r.add(http::verb::get, base + "/{importId}",
        guarded(rc,
                [rc](http::request_context& ctx, const caller& c) -> awaitable<http::response> {
                  co_return co_await get_import(*rc, ctx, c);
                }),
        backoffice_route_options());
  r.add(http::verb::get, base + "/{importId}/report",
        guarded(rc,
                [rc](http::request_context& ctx, const caller& c) -> awaitable<http::response> {
                  co_return co_await get_report(rc, ctx, c);
                }),
        backoffice_route_options());
}

}  // namespace pagohub::api
