// Operators' statements on the outbox and integration_states
// (include/pagohub/integration/outbox_admin.hpp).
#include <pagohub/core/text.hpp>
#include <pagohub/db/sql_time.hpp>
#include <pagohub/integration/outbox_admin.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace pagohub::integration {

using db::from_micros;
using db::micros_or_null;
using db::to_micros;
using db::ts_param;

namespace {

// The filter travels as one jsonb parameter ($1), so one statement text serves every
// combination; each condition is "absent or equal".
std::string filter_json(const delivery_filter& f) {
  nlohmann::json j = {{"all", f.all_entities}, {"scope", f.scope}};
  if (f.entity) j["entity"] = *f.entity;
  if (f.state) j["state"] = *f.state;
  if (f.integration) j["integration"] = *f.integration;
  if (f.kind) j["kind"] = *f.kind;
  if (f.from) j["from"] = to_micros(*f.from);
  if (f.to) j["to"] = to_micros(*f.to);
  return j.dump();
}

constexpr const char* where_filter =
    "(($1::jsonb->>'all')::boolean "
    "   OR o.entity_fiscal_code = ANY (ARRAY(SELECT "
    "jsonb_array_elements_text($1::jsonb->'scope')))) "
    "AND ($1::jsonb->>'entity' IS NULL OR o.entity_fiscal_code = $1::jsonb->>'entity') "
    "AND ($1::jsonb->>'state' IS NULL OR o.state = $1::jsonb->>'state') "
    "AND ($1::jsonb->>'integration' IS NULL OR o.integration_id = $1::jsonb->>'integration') "
    "AND ($1::jsonb->>'kind' IS NULL OR o.kind = $1::jsonb->>'kind') "
    "AND ($1::jsonb->>'from' IS NULL OR o.created_at >= 'epoch'::timestamptz + "
    "     ($1::jsonb->>'from')::bigint * interval '1 microsecond') "
    "AND ($1::jsonb->>'to' IS NULL OR o.created_at < 'epoch'::timestamptz + "
    "     ($1::jsonb->>'to')::bigint * interval '1 microsecond') ";

const std::string summary_columns =
    "o.id, o.entity_fiscal_code, o.kind, o.key, o.state, o.integration_id, o.application_id, "
    "o.delivered_via, o.last_error, o.position_id, o.attempts, o.last_status, " +
    micros_or_null("o.created_at") + ", " + micros_or_null("o.next_attempt_at") + ", " +
    micros_or_null("o.last_attempt_at") + ", " + micros_or_null("o.delivered_at") + ", " +
    micros_or_null("o.dead_at");

std::optional<std::chrono::system_clock::time_point> opt_time(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return from_micros(f.as<std::int64_t>());
}

template <class T>
std::optional<T> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

delivery_summary read_summary(const pqxx::row& row) {
  delivery_summary s;
  s.id = row[0].as<std::int64_t>();
  s.entity_fc = row[1].c_str();
  s.kind = row[2].c_str();
  s.key = row[3].c_str();
  s.state = row[4].c_str();
  s.integration_id = opt<std::string>(row[5]);
  s.application_id = opt<std::string>(row[6]);
  s.delivered_via = opt<std::string>(row[7]);
  s.last_error = opt<std::string>(row[8]);
  s.position_id = opt<std::int64_t>(row[9]);
  s.attempts = row[10].as<int>();
  s.last_status = opt<int>(row[11]);
  s.created_at = from_micros(row[12].is_null() ? 0 : row[12].as<std::int64_t>());
  s.next_attempt_at = opt_time(row[13]);
  s.last_attempt_at = opt_time(row[14]);
  s.delivered_at = opt_time(row[15]);
  s.dead_at = opt_time(row[16]);
  return s;
}

journal::event resend_event(const std::string& entity_fc, const std::string& kind,
                            const std::string& key, const std::string& from_state,
                            const journal::actor& by, const std::string& reason,
                            std::chrono::system_clock::time_point now) {
  journal::event e;
  e.time = now;
  e.cat = journal::category::interno;
  e.interface = journal::interface_kind::internal;
  e.component = "integration";
  e.entity_fc = entity_fc;
  e.type = "deliveryResent";
  e.subtype = kind;
  e.outcome = "OK";
  e.caller_id = by.id;
  e.provider_id = "pagohubd";
  e.by = by;
  if (kind == "receipt") e.ccp = key;
  e.interface_params =
      core::utf8_cut("key=" + key + " from=" + from_state + " reason=" + reason, 512);
  return e;
}

// The UPDATE both resend forms share: back to PENDING, due now, counters reset, route cleared.
// retry_since (parameter `now_param`, the resend's time) restarts the max_age clock as
// attempts restarts the count: a message requeued after max_age would otherwise go DEAD again
// at its first transient failure.
std::string resend_set(int now_param) {
  return "SET state = 'PENDING', attempts = 0, next_attempt_at = '-infinity', "
         "  integration_id = NULL, claimed_by = NULL, claimed_until = NULL, delivered_at = NULL, "
         "  delivered_via = NULL, dead_at = NULL, last_error = NULL, last_status = NULL, "
         "  retry_since = " +
         ts_param(now_param) + " ";
}

}  // namespace

delivery_page list_deliveries(pqxx::transaction_base& w, const delivery_filter& f,
                              std::optional<std::int64_t> before, int limit) {
  limit = std::clamp(limit, 1, 500);
  const pqxx::result res =
      w.exec_params("SELECT " + summary_columns + " FROM outbox o WHERE " + where_filter +
                        "AND ($2::bigint IS NULL OR o.id < $2::bigint) ORDER BY o.id DESC LIMIT $3",
                    filter_json(f), before, limit + 1);
  delivery_page page;
  for (const auto& row : res) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_cursor = page.items.back().id;
      break;
    }
    page.items.push_back(read_summary(row));
  }
  return page;
}

std::optional<delivery_detail> get_delivery(pqxx::transaction_base& w, const delivery_filter& scope,
                                            std::int64_t id) {
  const pqxx::result res =
      w.exec_params("SELECT " + summary_columns + ", o.payload::text FROM outbox o WHERE " +
                        where_filter + "AND o.id = $2",
                    filter_json(scope), id);
  if (res.empty()) return std::nullopt;
  delivery_detail d;
  d.summary = read_summary(res[0]);
  d.payload = res[0][17].c_str();
  const pqxx::result attempts = w.exec_params(
      "SELECT attempt, " + micros_or_null("started_at") +
          ", duration_ms, http_status, response_body, error, outcome, instance_id "
          "FROM (SELECT * FROM outbox_attempts WHERE outbox_id = $1 ORDER BY id DESC LIMIT 100) a "
          "ORDER BY id",
      id);
  for (const auto& row : attempts) {
    delivery_attempt a;
    a.attempt = row[0].as<int>();
    a.started_at = from_micros(row[1].as<std::int64_t>());
    a.duration_ms = row[2].as<int>();
    a.http_status = opt<int>(row[3]);
    a.response_body = opt<std::string>(row[4]);
    a.error = opt<std::string>(row[5]);
    a.outcome = row[6].c_str();
    a.instance_id = opt<std::string>(row[7]);
    d.attempts.push_back(std::move(a));
  }
  return d;
}

core::result<delivery_summary> resend_one(pqxx::transaction_base& w, const delivery_filter& scope,
                                          std::int64_t id, const journal::actor& by,
                                          const std::string& reason,
                                          std::chrono::system_clock::time_point now) {
  // Locked first: the state read and the change must not straddle a delivery finishing.
  const pqxx::result cur =
      w.exec_params("SELECT o.state, o.entity_fiscal_code, o.kind, o.key FROM outbox o WHERE " +
                        std::string(where_filter) + "AND o.id = $2 FOR UPDATE",
                    filter_json(scope), id);
  if (cur.empty()) return core::fail(core::errc::not_found, "no delivery " + std::to_string(id));
  const std::string from = cur[0][0].c_str();
  if (from == "DELIVERING") {
    return core::fail(core::errc::conflict,
                      "delivery " + std::to_string(id) +
                          " is being sent right now; wait for its outcome and resend then");
  }
  const pqxx::result res = w.exec_params(
      "UPDATE outbox o " + resend_set(2) + "WHERE o.id = $1 RETURNING " + summary_columns, id,
      to_micros(now));
  journal::record_internal(w, resend_event(cur[0][1].c_str(), cur[0][2].c_str(), cur[0][3].c_str(),
                                           from, by, reason, now));
  return read_summary(res[0]);
}

core::result<std::int64_t> resend_matching(pqxx::transaction_base& w, const delivery_filter& f,
                                           const journal::actor& by, const std::string& reason,
                                           std::chrono::system_clock::time_point now,
                                           std::int64_t max_messages) {
  if (!f.state || (*f.state != "DEAD" && *f.state != "DELIVERED" && *f.state != "PENDING")) {
    return core::fail(core::errc::invalid_input, "state must be DEAD, DELIVERED or PENDING",
                      "/state");
  }
  // SKIP LOCKED: a message some daemon is recording right now is left alone rather than
  // waited for; it is not in the states asked for anyway once that finishes.
  const pqxx::result res =
      w.exec_params("WITH m AS (SELECT o.id, o.state AS from_state FROM outbox o WHERE " +
                        std::string(where_filter) +
                        "ORDER BY o.id LIMIT $2 FOR UPDATE SKIP LOCKED) "
                        "UPDATE outbox o " +
                        resend_set(3) +
                        "FROM m WHERE o.id = m.id "
                        "RETURNING o.entity_fiscal_code, o.kind, o.key, m.from_state",
                    filter_json(f), max_messages, to_micros(now));
  std::vector<journal::event> events;
  events.reserve(res.size());
  for (const auto& row : res) {
    events.push_back(resend_event(row[0].c_str(), row[1].c_str(), row[2].c_str(), row[3].c_str(),
                                  by, reason, now));
  }
  if (!events.empty()) journal::record_internal_many(w, events);
  return static_cast<std::int64_t>(res.size());
}

std::vector<integration_runtime> integration_runtimes(pqxx::transaction_base& w) {
  const pqxx::result res =
      w.exec("SELECT integration_id, state = 'SUSPENDED', " + micros_or_null("changed_at") +
             ", changed_by_kind || ':' || changed_by_id, coalesce(reason, '') "
             "FROM integration_states ORDER BY integration_id");
  std::vector<integration_runtime> out;
  for (const auto& row : res) {
    out.push_back(
        {row[0].c_str(), row[1].as<bool>(), opt_time(row[2]), row[3].c_str(), row[4].c_str()});
  }
  return out;
}

integration_runtime set_integration_state(pqxx::transaction_base& w,
                                          const std::string& integration_id, bool suspended,
                                          const journal::actor& by, const std::string& reason,
                                          std::chrono::system_clock::time_point now) {
  w.exec_params(
      "INSERT INTO integration_states (integration_id, state, changed_at, changed_by_kind, "
      "  changed_by_id, reason) VALUES ($1, $2, " +
          ts_param(3) +
          ", $4, $5, NULLIF($6, '')) "
          "ON CONFLICT (integration_id) DO UPDATE SET state = EXCLUDED.state, "
          "  changed_at = EXCLUDED.changed_at, changed_by_kind = EXCLUDED.changed_by_kind, "
          "  changed_by_id = EXCLUDED.changed_by_id, reason = EXCLUDED.reason",
      integration_id, suspended ? "SUSPENDED" : "ACTIVE", to_micros(now), by.kind, by.id,
      core::utf8_cut(reason, 500));
  journal::event e;
  e.time = now;
  e.cat = journal::category::interno;
  e.interface = journal::interface_kind::internal;
  e.component = "integration";
  e.type = suspended ? "integrationSuspended" : "integrationResumed";
  e.outcome = "OK";
  e.caller_id = by.id;
  e.provider_id = integration_id;
  e.by = by;
  e.interface_params = core::utf8_cut("integration=" + integration_id + " reason=" + reason, 512);
  journal::record_internal(w, e);
  return {integration_id, suspended, now, by.kind + ":" + by.id, core::utf8_cut(reason, 500)};
}

}  // namespace pagohub::integration
