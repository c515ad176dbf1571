#pragma once
// What the back-office route families share: the route context (dependencies and the access
// guard), admission, JSON and problem answers, ETags, and running a transaction with the
// API's error mapping. Positions routes use it, and so can later families (imports): register
// them from add_backoffice_routes with the same route_context.
#include <pagohub/api/backoffice.hpp>
#include <pagohub/db/errors.hpp>
#include <pagohub/http/problem.hpp>
#include <pagohub/positions/validation.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/except>

#include <exception>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "access.hpp"
#include "create_batcher.hpp"

namespace pagohub::api {

/// The prefix of every entity-scoped route.
inline constexpr std::string_view entity_base = "/api/v1/entities/{entityFiscalCode}";

struct route_context {
  route_context(const backoffice_deps& d)
      : deps(d),
        guard(d.applications, d.clock, d.limiter),
        creates(std::make_shared<create_batcher>(
            d.db, create_batcher::settings{d.create_batch_size, d.create_batches_in_flight})) {}
  backoffice_deps deps;
  access_guard guard;
  std::shared_ptr<create_batcher> creates;  ///< PUT and POST /positions (write_routes.cpp)
};

/// A handler that runs only for admitted callers.
using guarded_handler =
    std::function<boost::asio::awaitable<http::response>(http::request_context&, const caller&)>;

/// Wraps `h` with access_guard::admit on the route's {entityFiscalCode}.
http::handler guarded(std::shared_ptr<route_context> rc, guarded_handler h);

/// A route function of this module: the shared context, the request, the admitted caller.
using route_fn = boost::asio::awaitable<http::response> (*)(route_context&, http::request_context&,
                                                            const caller&);

/// guarded() for a route function, which gets the route context (kept alive by the handler).
http::handler guarded(const std::shared_ptr<route_context>& rc, route_fn fn);

/// route_options for these routes: the 1 MB body limit.
http::route_options backoffice_route_options();

/// A JSON answer.
http::response json_response(const http::request_context& ctx, http::status st,
                             const nlohmann::ordered_json& body);
http::response json_response(const http::request_context& ctx, http::status st, std::string body);

/// A problem with field errors (errors[]), at most max_listed_errors of them listed.
http::response field_problem(const http::request_context& ctx, http::status st, std::string detail,
                             std::vector<http::field_error> errors);

/// A domain error as a problem: invalid_input -> 422 with the path, not_found 404, conflict
/// 409 (http::status_for).
http::response error_problem(const http::request_context& ctx, const core::error& e);

/// The positions module's field errors in the problem's shape.
std::vector<http::field_error> to_http(const std::vector<positions::field_error>& errors);

/// The strong ETag of a stored position: its version, quoted.
std::string etag_of(std::int64_t version);

/// True when If-None-Match lists `etag` (weak comparison, RFC 9110 §13.1.2) or is "*".
bool if_none_match(const http::request& req, std::string_view etag);

/// The conditional headers of a write (RFC 9110 §13.1.1-§13.1.2), as sent.
struct preconditions {
  std::optional<std::string> if_match;       ///< If-Match: "*" or strong ETags
  std::optional<std::string> if_none_match;  ///< If-None-Match: "*" (create only) or ETags
  /// The header whose condition fails given the stored version (nullopt: no such position),
  /// "If-Match" or "If-None-Match"; nullopt when the write may go ahead. Both are evaluated, in
  /// the order of RFC 9110 §13.2.2.
  std::optional<std::string_view> failing(std::optional<std::int64_t> current_version) const;
};

/// The request's If-Match / If-None-Match, or nullopt when it has neither (unconditional).
std::optional<preconditions> read_preconditions(const http::request& req);

/// "[A-Za-z0-9._-]{1,35}": what an external id may be (as GPD's iupd, and it travels in URLs).
bool valid_external_id(std::string_view id) noexcept;

/// Thrown inside a transaction body to roll it back with an expected error (a store refusal
/// after earlier writes in the same transaction): transact() turns it into the problem answer.
struct rollback_error : db::rollback {
  explicit rollback_error(core::error e) : err(std::move(e)) {}
  const char* what() const noexcept override { return "rolled back"; }
  core::error err;
};

/// The value, or a rollback_error with the error.
template <class T>
T value_or_rollback(core::result<T> r) {
  if (!r) throw rollback_error(std::move(r).error());
  return *std::move(r);
}

/// Runs `fn` through the DB executor and maps the failures a caller can act on: rollback_error
/// to its problem, a database that cannot be reached or cannot take the transaction now
/// (db::unavailable_reason) to 503 with Retry-After, a commit whose outcome is unknown to 503
/// saying so. A unique
/// violation (two requests creating the same key at once) runs `fn` again, which then sees the
/// other's committed row. Anything else propagates to the server's handler boundary (500 with the
/// request id).
///
/// A read-only transaction runs in REPEATABLE READ: a position is read in several statements
/// (its row, then its options, transfers and accounting lines), and in READ COMMITTED a
/// replacement committing between two of them would pair the row of one version with the
/// options of the next, or leave transfers whose option the reader never saw. One snapshot
/// reads one version. A read-only transaction never meets a serialization failure there.
template <class F>
auto transact_on(db::executor& db, const http::request_context& ctx, F fn,
                 db::access mode = db::access::read_write)
    -> boost::asio::awaitable<std::expected<db::transact_result_t<F>, http::response>> {
  for (int attempt = 0;; ++attempt) {
    try {
      co_return co_await db.transact(fn,
                                     mode == db::access::read_only ? db::isolation::repeatable_read
                                                                   : db::isolation::read_committed,
                                     mode);
    } catch (const rollback_error& e) {
      co_return std::unexpected(error_problem(ctx, e.err));
    } catch (const pqxx::unique_violation& e) {
      if (attempt >= 2) throw;
      spdlog::debug("rid={} unique violation, running the transaction again: {}", ctx.request_id,
                    e.what());
    } catch (const db::commit_unknown_error&) {
      co_return std::unexpected(http::make_problem(
          ctx, http::status::service_unavailable,
          "the database connection was lost while committing: the change may or may not have "
          "been stored; read it back, or repeat the request (PUT, and POST with an "
          "Idempotency-Key, are safe to repeat)"));
    } catch (const pqxx::failure& e) {
      // A database that cannot be reached, or that cannot take the transaction now (the
      // statement timeout ran out on a row another writer holds, a failover, a full disk;
      // db::unavailable_reason): rolled back, not a defect to report as 500, and the client
      // may try again.
      const auto why = db::unavailable_reason(e);
      if (!why) throw;
      if (dynamic_cast<const pqxx::sql_error*>(&e) != nullptr)
        spdlog::warn("rid={} transaction rolled back, {}: {}", ctx.request_id, *why, e.what());
      co_return std::unexpected(
          http::make_unavailable(ctx, std::string(*why) + "; nothing was changed"));
    }
  }
}

/// transact_on the routes' shared pool.
template <class F>
auto transact(route_context& rc, const http::request_context& ctx, F fn,
              db::access mode = db::access::read_write)
    -> boost::asio::awaitable<std::expected<db::transact_result_t<F>, http::response>> {
  return transact_on(rc.deps.db, ctx, std::move(fn), mode);
}

}  // namespace pagohub::api

namespace pagohub::api {

/// PUT and POST /positions, publish, cancel (write_routes.cpp).
void add_position_write_routes(http::router& r, const std::shared_ptr<route_context>& rc);
/// GET /positions, /positions/{externalId}, /positions/{externalId}/receipts,
/// /notices/{noticeNumber} (read_routes.cpp).
void add_position_read_routes(http::router& r, const std::shared_ptr<route_context>& rc);

/// The position URL of `external_id` under the request's entity, for Location headers.
std::string position_location(std::string_view entity_fc, std::string_view external_id);

/// 400 for a malformed {externalId}, with path "/path/externalId"; nullopt when it is fine.
std::optional<http::response> check_external_id(const http::request_context& ctx);

}  // namespace pagohub::api
