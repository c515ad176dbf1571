// Writes: PUT /positions/{externalId} (create or replace), POST /positions (server-made id,
// Idempotency-Key), POST .../publish, POST .../cancel. docs/api/backoffice.yaml describes each
// answer; every write records the application and the request id as its actor.
#include <pagohub/core/ids.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/notice_numbers.hpp>
#include <pagohub/positions/store.hpp>
#include <pagohub/positions/validation.hpp>

#include <algorithm>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>

#include "idempotency.hpp"
#include "position_json.hpp"
#include "route_support.hpp"

namespace pagohub::api {
namespace {

namespace pos = positions;
using boost::asio::awaitable;
using http::status;

http::response body_problem(const http::request_context& ctx, json_problem p) {
  if (p.syntax) {
    const bool not_json = !p.errors.empty() && p.errors.front().code == "syntax";
    return field_problem(ctx, status::bad_request,
                         not_json ? "the body is not valid JSON"
                                  : "the body holds the NUL character (\\u0000), which no text "
                                    "field may contain",
                         std::move(p.errors));
  }
  return field_problem(ctx, status::unprocessable_entity,
                       "the body does not have the shape of a debt position", std::move(p.errors));
}

http::response validation_problem(const http::request_context& ctx,
                                  std::vector<http::field_error> errors) {
  std::string detail = "the debt position breaks " + std::to_string(errors.size()) +
                       (errors.size() == 1 ? " rule" : " rules") + "; nothing was stored";
  return field_problem(ctx, status::unprocessable_entity, std::move(detail), std::move(errors));
}

http::response service_forbidden(const http::request_context& ctx, const std::string& code) {
  return field_problem(ctx, status::forbidden, "this API key is not granted service " + code,
                       {{"/serviceCode", "forbidden", "service not granted to this API key"}});
}

// The answer to a successful write: the position, its ETag, and for a create its Location.
http::response position_answer(const http::request_context& ctx, status st,
                               const pos::position& p) {
  auto res = json_response(ctx, st, encode_position(p));
  res.set(boost::beast::http::field::etag, etag_of(p.version));
  if (st == status::created) {
    res.set(boost::beast::http::field::location,
            position_location(p.entity_fiscal_code, p.external_id));
  }
  return res;
}

// 412 for a conditional PUT whose condition does not hold, naming the header that failed; the
// current ETag, when there is a position, tells the client what to read again.
http::response precondition_failed(const http::request_context& ctx, std::string_view header,
                                   std::optional<std::int64_t> version) {
  const bool by_match = header == "If-Match";
  std::string why;
  if (by_match)
    why = version ? "does not name the current version, " + etag_of(*version)
                  : "names a version, but there is no such position";
  else
    why = "the position exists already, at version " + etag_of(*version);
  auto res =
      field_problem(ctx, status::precondition_failed, "the request's condition does not hold",
                    {{"/header/" + std::string(header), "precondition_failed", std::move(why)}});
  if (version) res.set(boost::beast::http::field::etag, etag_of(*version));
  return res;
}

// Every rule the position breaks (the store stops at the first one). A create may not have due
// dates in the past, a replacement may keep them; and a notice number outside the entity's
// notice space is refused unless the application issued it before the space changed. Where the
// only way to know is to look, look (only on these error paths, so valid requests pay nothing
// for it).
awaitable<std::expected<std::vector<http::field_error>, http::response>> judge(
    route_context& rc, const http::request_context& ctx, const caller& c, pos::position& p,
    pos::timestamp now, bool may_exist) {
  pos::normalize(p, *c.entity);
  pos::validation_context vc{*c.entity, c.snapshot->entities(), pos::rome_date(now), true};
  auto errors = pos::validate(p, vc);
  const auto has = [&errors](std::string_view code) {
    return std::any_of(errors.begin(), errors.end(),
                       [code](const pos::field_error& e) { return e.code == code; });
  };
  const bool past = may_exist && has(pos::error_codes::in_past);
  const bool foreign = has(pos::error_codes::not_owned);
  if (past || foreign) {
    struct stored {
      bool exists = false;
      std::set<std::string> owned;
    };
    auto look = co_await transact(
        rc, ctx,
        [&](pqxx::work& w) {
          stored s;
          if (past)
            s.exists =
                pos::find_by_external_id(w, c.entity->fiscal_code.str(), c.app->id, p.external_id)
                    .has_value();
          if (foreign) s.owned = pos::owned_notices(w, *c.entity, c.app->id, p);
          return s;
        },
        db::access::read_only);
    if (!look) co_return std::unexpected(std::move(look).error());
    vc.is_new = !look->exists;
    if (!look->owned.empty())
      vc.owns_notice = [&owned = look->owned](const std::string& n) { return owned.contains(n); };
    errors = pos::validate(p, vc);
  }
  co_return to_http(errors);
}

// A create through the batches (create_batcher.hpp). Without `created` the caller writes the
// position in a transaction of its own, as it would without batches. Positions with
// entity-supplied notice numbers go alone: their check against other positions is per position.
awaitable<create_batcher::answer> create_in_batch(route_context& rc, const caller& c,
                                                  const pos::position& p, const pos::actor& by,
                                                  pos::timestamp now) {
  if (!rc.creates->enabled()) co_return create_batcher::answer{};
  auto ready = pos::prepare_create(*c.entity, c.app->id, p, by, now);
  // The transaction of its own gives the error, or replaces a position it may keep.
  if (!ready) co_return create_batcher::answer{};
  for (const pos::payment_option& o : ready->p.options) {
    if (!o.notice_number.empty()) co_return create_batcher::answer{};
  }
  co_return co_await rc.creates->create(std::move(*ready));
}

// What the write transaction of PUT /positions/{externalId} yields: the write, or why not.
struct put_result {
  std::optional<pos::upsert_outcome> done;
  std::optional<std::string_view> precondition_failed;  ///< the header whose condition failed
  std::optional<std::int64_t> version_seen;             ///< the stored version, when there is one
  std::optional<std::string> forbidden_service;         ///< the stored position's, not granted
};

// PUT /positions/{externalId}
awaitable<http::response> put_position(route_context& rc, http::request_context& ctx,
                                       const caller& c) {
  if (auto bad = check_external_id(ctx)) co_return std::move(*bad);
  const std::string external_id(ctx.params.get("externalId"));
  auto decoded = decode_position(ctx.req.body());
  if (!decoded) co_return body_problem(ctx, std::move(decoded).error());
  pos::position p = std::move(*decoded);
  if (!p.external_id.empty() && p.external_id != external_id) {
    co_return field_problem(
        ctx, status::unprocessable_entity, "the body names another position than the URL",
        {{"/externalId", "mismatch", "must equal the external id in the URL, or be left out"}});
  }
  p.external_id = external_id;
  p.application_id = c.app->id;
  if (!c.app->grants_service(p.service_code)) co_return service_forbidden(ctx, p.service_code);
  const auto now = rc.deps.clock.now();
  auto errors = co_await judge(rc, ctx, c, p, now, true);
  if (!errors) co_return std::move(errors).error();
  if (!errors->empty()) co_return validation_problem(ctx, std::move(*errors));

  const auto by = c.actor(ctx);
  const auto conditions = read_preconditions(ctx.req);
  const bool restricted = !c.app->services.empty();
  bool stored = false;  // the batch found the position: replace it, without a second insert
  if (!conditions && !restricted) {
    auto batched = co_await create_in_batch(rc, c, p, by, now);
    if (batched.created) {
      spdlog::debug("rid={} application {} created position {} of {}", ctx.request_id, c.app->id,
                    external_id, c.entity->fiscal_code.str());
      co_return position_answer(ctx, status::created, batched.created->stored);
    }
    stored = batched.exists;
  }
  // A conditional PUT (If-Match: "<version>" to replace only what the client last read,
  // If-None-Match: * to create only), and any PUT of an application limited to some services,
  // first reads the stored position under the row lock the replace takes anyway, so nobody can
  // slip a change in between the check and the write. When there is none, the position is
  // only created: should another request create it meanwhile, the insert does nothing and the
  // checks run again on what that request stored, instead of it being replaced unseen.
  auto outcome = co_await transact(rc, ctx, [&](pqxx::work& w) -> put_result {
    if (!conditions && !restricted) {
      put_result out;
      out.done =
          value_or_rollback(stored ? pos::upsert_existing(w, *c.entity, c.app->id, p, by, now)
                                   : pos::upsert(w, *c.entity, c.app->id, p, by, now));
      return out;
    }
    for (int attempt = 0; attempt < 2; ++attempt) {
      put_result out;
      const auto r = w.exec_params(
          "SELECT version, service_code FROM positions WHERE entity_fiscal_code = $1 "
          "AND application_id = $2 AND external_id = $3 FOR UPDATE",
          c.entity->fiscal_code.str(), c.app->id, external_id);
      if (!r.empty()) out.version_seen = r[0][0].as<std::int64_t>();
      if (conditions) {
        if (const auto header = conditions->failing(out.version_seen)) {
          out.precondition_failed = *header;
          return out;
        }
      }
      if (!r.empty()) {
        // The stored position's service counts, not only the body's: replacing it would
        // otherwise let a limited application take over another service's position.
        const std::string stored_service = r[0][1].as<std::string>();
        if (!c.app->grants_service(stored_service)) {
          out.forbidden_service = stored_service;
          return out;
        }
        out.done = value_or_rollback(pos::upsert(w, *c.entity, c.app->id, p, by, now));
        return out;
      }
      if (auto created = value_or_rollback(pos::create_only(w, *c.entity, c.app->id, p, by, now))) {
        out.done = std::move(*created);
        return out;
      }
    }
    // Positions are never deleted: the second look finds what the first create met.
    throw std::logic_error("a position that blocked a create is not there");
  });
  if (!outcome) co_return std::move(outcome).error();
  if (outcome->precondition_failed) {
    co_return precondition_failed(ctx, *outcome->precondition_failed, outcome->version_seen);
  }
  if (outcome->forbidden_service) {
    co_return http::make_problem(ctx, status::forbidden,
                                 "this API key is not granted service " +
                                     *outcome->forbidden_service +
                                     ", the service of the stored position");
  }
  auto& done = *outcome->done;
  spdlog::debug("rid={} application {} {} position {} of {}", ctx.request_id, c.app->id,
                done.created ? "created" : "replaced", external_id, c.entity->fiscal_code.str());
  co_return position_answer(ctx, done.created ? status::created : status::ok, done.stored);
}

// What the create transaction of POST /positions yields.
struct post_result {
  idempotency_claim::outcome claim = idempotency_claim::outcome::claimed;
  unsigned status = 0;
  std::string body;
  std::string external_id;
  std::int64_t version = 0;
};

http::response replay_answer(const http::request_context& ctx, const post_result& r,
                             std::string_view entity_fc) {
  auto res = json_response(ctx, static_cast<status>(r.status), r.body);
  // The first answer, as it was; its Location and ETag come back with it.
  const auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (doc.is_object() && doc.contains("externalId") && doc["externalId"].is_string()) {
    res.set(boost::beast::http::field::location,
            position_location(entity_fc, doc["externalId"].get<std::string>()));
  }
  if (doc.is_object() && doc.contains("version") && doc["version"].is_number_integer()) {
    res.set(boost::beast::http::field::etag, etag_of(doc["version"].get<std::int64_t>()));
  }
  res.set("Idempotent-Replayed", "true");
  return res;
}

http::response key_mismatch(const http::request_context& ctx) {
  // draft-ietf-httpapi-idempotency-key-header §2.7: a key reused for another payload is 422.
  return field_problem(
      ctx, status::unprocessable_entity,
      "this Idempotency-Key was used for a different request body in the last "
      "24 hours; use a new key for a new position",
      {{"/header/Idempotency-Key", "reused", "already used with a different body"}});
}

http::response key_in_progress(const http::request_context& ctx) {
  // draft-ietf-httpapi-idempotency-key-header §2.7: a retry while the first request is still
  // being processed is 409. Answered at once rather than after waiting for the first.
  auto res = field_problem(
      ctx, status::conflict,
      "a request with this Idempotency-Key is still being processed; retry in a moment to get "
      "its answer",
      {{"/header/Idempotency-Key", "in_progress", "a request with this key is being processed"}});
  res.set(boost::beast::http::field::retry_after, "1");
  return res;
}

// POST /positions
awaitable<http::response> post_position(route_context& rc, http::request_context& ctx,
                                        const caller& c) {
  std::optional<std::string> key;
  // A header that is there counts, even empty: the client asked for a create at most once, and
  // a create without the key would not be one. Two of them join into a list ("a, b"), which is
  // not one key (draft-ietf-httpapi-idempotency-key-header §2.1: an sf-string Item).
  if (const auto [first, last] = ctx.req.equal_range("Idempotency-Key"); first != last) {
    if (std::next(first) == last) {
      const auto h = first->value();
      key = parse_idempotency_key(std::string_view(h.data(), h.size()));
    }
    if (!key) {
      co_return field_problem(
          ctx, status::bad_request, "the Idempotency-Key header is malformed",
          {{"/header/Idempotency-Key", "invalid",
            "must be sent once, as 1..255 printable ASCII characters, optionally in double "
            "quotes"}});
    }
  }
  const std::string& body = ctx.req.body();
  auto decoded = decode_position(body);
  if (!decoded) co_return body_problem(ctx, std::move(decoded).error());
  pos::position p = std::move(*decoded);
  if (!p.external_id.empty()) {
    co_return field_problem(
        ctx, status::unprocessable_entity, "POST makes the external id itself",
        {{"/externalId", "read_only",
          "is chosen by pagohub on POST; to choose it, use PUT /positions/{externalId}"}});
  }
  // 128 random bits in hex: unguessable, and within the 35 characters an external id may have.
  p.external_id = core::random_hex(16);
  p.application_id = c.app->id;
  if (!c.app->grants_service(p.service_code)) co_return service_forbidden(ctx, p.service_code);
  const auto now = rc.deps.clock.now();
  const std::string& fc = c.entity->fiscal_code.str();
  const std::string digest = key ? request_digest(body) : std::string();

  auto errors = co_await judge(rc, ctx, c, p, now, false);
  if (!errors) co_return std::move(errors).error();
  if (!errors->empty()) {
    // A retry of a create that succeeded may be judged differently now (a due date that has
    // passed since): the stored answer wins while the key lives.
    if (key) {
      auto earlier = co_await transact(
          rc, ctx,
          [&](pqxx::work& w) -> std::optional<post_result> {
            const auto r = w.exec_params(
                "SELECT request_digest, response_status, response_body "
                "FROM api_idempotency_keys WHERE entity_fiscal_code = $1 AND application_id = $2 "
                "AND idempotency_key = $3 AND created_at > $4::timestamptz - interval '24 hours'",
                fc, c.app->id, *key, format_timestamp(now));
            if (r.empty() || r[0][0].as<std::string>() != digest) return std::nullopt;
            post_result out;
            out.claim = idempotency_claim::outcome::replay;
            out.status = r[0][1].as<unsigned>();
            out.body = r[0][2].as<std::string>();
            return out;
          },
          db::access::read_only);
      if (earlier && *earlier) co_return replay_answer(ctx, **earlier, fc);
    }
    co_return validation_problem(ctx, std::move(*errors));
  }

  const auto by = c.actor(ctx);
  if (!key) {
    // The external id is new and random: the batch creates it, or its transaction failed.
    auto batched = co_await create_in_batch(rc, c, p, by, now);
    if (batched.created) {
      spdlog::debug("rid={} application {} created position {} of {}", ctx.request_id, c.app->id,
                    batched.created->stored.external_id, fc);
      co_return position_answer(ctx, status::created, batched.created->stored);
    }
  }
  auto result = co_await transact(rc, ctx, [&](pqxx::work& w) {
    post_result out;
    if (key) {
      auto claim = claim_idempotency_key(w, fc, c.app->id, *key, digest, now);
      if (claim.result != idempotency_claim::outcome::claimed) {
        out.claim = claim.result;
        out.status = claim.status;
        out.body = std::move(claim.body);
        return out;
      }
    }
    auto outcome = value_or_rollback(pos::upsert(w, *c.entity, c.app->id, p, by, now));
    out.status = static_cast<unsigned>(status::created);
    out.body = encode_position(outcome.stored)
                   .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    out.external_id = outcome.stored.external_id;
    out.version = outcome.stored.version;
    if (key)
      record_idempotent_response(w, fc, c.app->id, *key, out.status, out.body, out.external_id);
    return out;
  });
  if (!result) co_return std::move(result).error();
  switch (result->claim) {
    case idempotency_claim::outcome::replay:
      co_return replay_answer(ctx, *result, fc);
    case idempotency_claim::outcome::mismatch:
      co_return key_mismatch(ctx);
    case idempotency_claim::outcome::in_progress:
      co_return key_in_progress(ctx);
    case idempotency_claim::outcome::claimed:
      break;
  }
  spdlog::debug("rid={} application {} created position {} of {}", ctx.request_id, c.app->id,
                result->external_id, fc);
  auto res = json_response(ctx, status::created, std::move(result->body));
  res.set(boost::beast::http::field::location, position_location(fc, result->external_id));
  res.set(boost::beast::http::field::etag, etag_of(result->version));
  co_return res;
}

// POST /positions/{externalId}/publish and /cancel: same shape, different transition.
using transition_fn = core::result<pos::position> (*)(pqxx::dbtransaction&, std::string_view,
                                                      std::string_view, std::string_view,
                                                      const pos::actor&, pos::timestamp);

awaitable<http::response> transition(route_context& rc, http::request_context& ctx, const caller& c,
                                     transition_fn fn) {
  if (auto bad = check_external_id(ctx)) co_return std::move(*bad);
  const std::string external_id(ctx.params.get("externalId"));
  const std::string& fc = c.entity->fiscal_code.str();
  const auto now = rc.deps.clock.now();
  const auto by = c.actor(ctx);
  bool service_refused = false;
  std::string service;
  auto result = co_await transact(rc, ctx, [&](pqxx::work& w) -> std::optional<pos::position> {
    service_refused = false;
    // An application limited to some services acts only on positions of those services.
    if (!c.app->services.empty()) {
      const auto current = pos::find_service_code(w, fc, c.app->id, external_id);
      if (current && !c.app->grants_service(*current)) {
        service_refused = true;
        service = *current;
        return std::nullopt;
      }
    }
    return value_or_rollback(fn(w, fc, c.app->id, external_id, by, now));
  });
  if (!result) co_return std::move(result).error();
  if (service_refused) {
    co_return http::make_problem(ctx, status::forbidden,
                                 "this API key is not granted service " + service);
  }
  co_return position_answer(ctx, status::ok, **result);
}

}  // namespace

void add_position_write_routes(http::router& r, const std::shared_ptr<route_context>& rc) {
  const std::string base(entity_base);
  const auto opts = backoffice_route_options();
  const auto bind = [&](route_fn fn) { return guarded(rc, fn); };
  r.add(http::verb::put, base + "/positions/{externalId}", bind(&put_position), opts);
  r.add(http::verb::post, base + "/positions", bind(&post_position), opts);
  r.add(http::verb::post, base + "/positions/{externalId}/publish",
        guarded(rc,
                [raw = rc.get()](http::request_context& ctx, const caller& c) {
                  return transition(*raw, ctx, c, &pos::publish);
                }),
        opts);
  r.add(http::verb::post, base + "/positions/{externalId}/cancel",
        guarded(rc,
                [raw = rc.get()](http::request_context& ctx, const caller& c) {
                  return transition(*raw, ctx, c, &pos::cancel);
                }),
        opts);
}

}  // namespace pagohub::api
