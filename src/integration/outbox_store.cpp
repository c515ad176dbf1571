// Delivery's statements on the outbox (include/pagohub/integration/outbox.hpp).
#include <pagohub/core/text.hpp>
#include <pagohub/db/sql_time.hpp>
#include <pagohub/integration/outbox.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <set>

namespace pagohub::integration {

using db::from_micros;
using db::micros_or_null;
using db::to_micros;
using db::ts_param;

namespace {

// A change of route of several messages of one integration (handed to the feed, routed again):
// one INTERNO event per integration and pass, not one per message, which would only repeat
// what the outbox and the feed show.
void record_routing_event(pqxx::transaction_base& w, timestamp now, const char* type,
                          const std::string& integration, std::int64_t n, std::string_view reason) {
  journal::event e;
  e.time = now;
  e.cat = journal::category::interno;
  e.interface = journal::interface_kind::internal;
  e.component = "integration";
  e.type = type;
  e.outcome = "OK";
  e.caller_id = "pagohubd";
  e.provider_id = integration;
  e.by = journal::actor{"system", "delivery"};
  std::string params = "integration=" + integration + " messages=" + std::to_string(n);
  if (!reason.empty()) params += " reason=" + std::string(reason);
  e.interface_params = core::utf8_cut(params, 512);
  journal::record_internal(w, e);
}

journal::event delivery_event(const claimed_message& m, std::string_view integration_id,
                              const attempt_result& r) {
  journal::event e;
  e.cat = journal::category::interno;
  e.interface = journal::interface_kind::internal;
  e.component = "integration";
  e.entity_fc = m.entity_fc;
  e.type = r.outcome == verdict::delivered ? "deliveryDelivered" : "deliveryDead";
  e.subtype = m.kind;
  e.outcome = r.outcome == verdict::delivered ? "OK" : "KO";
  e.caller_id = "pagohubd";
  e.provider_id = std::string(integration_id);
  e.by = journal::actor{"system", "delivery"};
  e.http_status = r.http_status;
  e.duration_ms = static_cast<int>(r.duration.count());
  if (m.kind == "receipt") e.ccp = m.key;
  e.notice_number = m.notice_number;
  e.iuv = m.iuv;
  e.request_id = r.request_id;
  std::string params = "integration=" + std::string(integration_id) + " key=" + m.key +
                       " attempt=" + std::to_string(m.attempt) + " via=" + r.via;
  if (r.outcome == verdict::dead && !r.error.empty()) params += " reason=" + r.error;
  e.interface_params = core::utf8_cut(params, 512);
  return e;
}

}  // namespace

std::vector<route_entry> routes_of(const config::integration_registry& registry) {
  std::vector<route_entry> out;
  for (const auto& i : registry.all()) {
    for (const auto& fc : i.entities) out.push_back({fc, i.application, i.id, i.mode});
  }
  return out;
}

namespace {

// The routing table as the statements read it: jsonb_to_recordset(...) AS r(e, a, i, m).
std::string routes_json(const std::vector<route_entry>& routes) {
  nlohmann::json table = nlohmann::json::array();
  for (const auto& r : routes) {
    table.push_back({{"e", r.entity_fc},
                     {"a", r.application_id},
                     {"i", r.integration_id},
                     {"m", std::string(config::to_string(r.mode))}});
  }
  return table.dump();
}

}  // namespace

void publish_routes(pqxx::transaction_base& w, const std::vector<route_entry>& routes) {
  const std::string table = routes_json(routes);
  // Rows are removed or changed only when they differ, so that publishing an unchanged table
  // (every daemon does, now and then) writes nothing.
  w.exec_params(
      "DELETE FROM outbox_routes o WHERE NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($1::jsonb) "
      "  AS r(e text, a text, i text, m text) "
      "  WHERE r.e = o.entity_fiscal_code AND r.a = o.application_id)",
      table);
  w.exec_params(
      "INSERT INTO outbox_routes AS o (entity_fiscal_code, application_id, integration_id, mode) "
      "SELECT e, a, i, m FROM jsonb_to_recordset($1::jsonb) AS r(e text, a text, i text, m text) "
      "ON CONFLICT (entity_fiscal_code, application_id) DO UPDATE "
      "  SET integration_id = excluded.integration_id, mode = excluded.mode "
      "  WHERE (o.integration_id, o.mode) IS DISTINCT FROM (excluded.integration_id, "
      "excluded.mode)",
      table);
}

routing_result route_messages(pqxx::transaction_base& w, const std::vector<route_entry>& routes,
                              timestamp now, int limit) {
  routing_result out;
  if (routes.empty()) return out;
  const std::string table = routes_json(routes);
  // Only messages some route takes are candidates, so that messages of an entity without an
  // integration never crowd the routable ones out of the LIMIT.
  const pqxx::result res = w.exec_params(
      "WITH routes AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(e text, a text, i text, "
      "  m text)), "
      "cand AS (SELECT o.id, o.entity_fiscal_code AS e, coalesce(o.application_id, '') AS a "
      "  FROM outbox o WHERE o.integration_id IS NULL AND o.state = 'PENDING' "
      "   AND EXISTS (SELECT 1 FROM routes r WHERE r.e = o.entity_fiscal_code "
      "               AND (r.a = '' OR r.a = o.application_id)) "
      "  ORDER BY o.id LIMIT $2 FOR UPDATE OF o SKIP LOCKED), "
      "target AS (SELECT c.id, coalesce(own.i, dflt.i) AS i, coalesce(own.m, dflt.m) AS m "
      "  FROM cand c LEFT JOIN routes own ON own.e = c.e AND own.a <> '' AND own.a = c.a "
      "  LEFT JOIN routes dflt ON dflt.e = c.e AND dflt.a = '') "
      "UPDATE outbox o SET integration_id = t.i, "
      "  state = CASE WHEN t.m = 'pull' THEN 'DELIVERED' ELSE 'PENDING' END, "
      "  delivered_via = CASE WHEN t.m = 'pull' THEN 'pull' END, "
      "  delivered_at = CASE WHEN t.m = 'pull' THEN " +
          ts_param(3) +
          " END "
          "FROM target t WHERE o.id = t.id AND t.i IS NOT NULL "
          "RETURNING o.integration_id, t.m = 'pull'",
      table, limit, to_micros(now));
  std::map<std::string, std::int64_t> pulled;
  for (const auto& row : res) {
    ++out.routed;
    if (row[1].as<bool>()) ++pulled[row[0].c_str()];
  }
  // Handing messages to the feed is a state change too: one event per integration per batch
  // rather than one per message, which would only repeat the feed's own content.
  for (const auto& [integration, n] : pulled)
    record_routing_event(w, now, "deliveryHandedToFeed", integration, n, "");
  out.handed_to_feed = std::move(pulled);
  return out;
}

std::string_view unrouted_reason(std::optional<config::integration_mode> now) {
  if (!now) return "no longer configured";
  if (*now == config::integration_mode::pull) return "now in mode pull";
  return "their entity or application is now routed elsewhere";
}

unrouted_counts unroute_stale(pqxx::transaction_base& w, const std::vector<route_entry>& routes,
                              timestamp now, int limit, bool misrouted) {
  unrouted_counts out;
  std::map<std::string, config::integration_mode> modes;
  for (const auto& r : routes) modes[r.integration_id] = r.mode;
  // The integrations PENDING messages are routed to, by a loose scan of outbox_due_idx (whose
  // leading column is the integration): one index probe per integration, however long the
  // backlog, since this runs every few seconds.
  const pqxx::result ids = w.exec(
      "WITH RECURSIVE i AS ("
      "  (SELECT integration_id AS id FROM outbox "
      "    WHERE state = 'PENDING' AND integration_id IS NOT NULL "
      "    ORDER BY integration_id LIMIT 1) "
      "  UNION ALL "
      "  SELECT (SELECT o.integration_id FROM outbox o "
      "           WHERE o.state = 'PENDING' AND o.integration_id > i.id "
      "           ORDER BY o.integration_id LIMIT 1) FROM i WHERE i.id IS NOT NULL) "
      "SELECT id FROM i WHERE id IS NOT NULL");
  int left = limit;
  const std::string table = misrouted ? routes_json(routes) : std::string();
  for (const auto& row : ids) {
    const std::string id = row[0].c_str();
    const auto known = modes.find(id);
    if (left <= 0) break;
    if (known != modes.end() && known->second != config::integration_mode::pull) {
      if (!misrouted) continue;
      // A sending integration keeps only the messages the table still routes to it: an entity
      // (or an application) moved to another integration must not have its backlog, payers'
      // data among it, delivered to the back-office that no longer serves it. This scans the
      // integration's whole backlog, so it runs after a change of the configuration only.
      const pqxx::result res = w.exec_params(
          "WITH routes AS (SELECT * FROM jsonb_to_recordset($3::jsonb) "
          "  AS r(e text, a text, i text, m text)), "
          "m AS (SELECT o.id FROM outbox o WHERE o.integration_id = $1::text "
          "    AND o.state = 'PENDING' "
          "    AND coalesce((SELECT r.i FROM routes r WHERE r.e = o.entity_fiscal_code "
          "                    AND r.a <> '' AND r.a = o.application_id), "
          "                 (SELECT r.i FROM routes r WHERE r.e = o.entity_fiscal_code "
          "                    AND r.a = '')) IS DISTINCT FROM $1::text "
          "  LIMIT $2 FOR UPDATE SKIP LOCKED) "
          "UPDATE outbox o SET integration_id = NULL FROM m WHERE o.id = m.id",
          id, left, table);
      const auto n = static_cast<std::int64_t>(res.affected_rows());
      if (n == 0) continue;
      left -= static_cast<int>(n);
      out[id] = n;
      record_routing_event(w, now, "deliveryUnrouted", id, n, unrouted_reason(known->second));
      continue;
    }
    // Only PENDING: a DELIVERING message has a batch on the wire, whose outcome (or the
    // expiry of its claim) comes first; it is taken on a later pass if it comes back PENDING.
    const pqxx::result res = w.exec_params(
        "WITH m AS (SELECT o.id FROM outbox o WHERE o.integration_id = $1::text "
        "    AND o.state = 'PENDING' LIMIT $2 FOR UPDATE SKIP LOCKED) "
        "UPDATE outbox o SET integration_id = NULL FROM m WHERE o.id = m.id",
        id, left);
    const auto n = static_cast<std::int64_t>(res.affected_rows());
    if (n == 0) continue;
    left -= static_cast<int>(n);
    out[id] = n;
    // The route a message had is a fact an operator may look for ("where did it go?"): one
    // event per former integration, as for the hand-off to the feed.
    record_routing_event(
        w, now, "deliveryUnrouted", id, n,
        unrouted_reason(known == modes.end()
                            ? std::nullopt
                            : std::optional<config::integration_mode>(known->second)));
  }
  return out;
}

std::vector<claimed_message> claim_due(pqxx::transaction_base& w, std::string_view integration_id,
                                       int limit, std::string_view instance_id, timestamp now,
                                       std::chrono::milliseconds lease) {
  // Prepared (once per connection): the statement runs for every batch, and planning its CTEs
  // costs as much as running them on a small batch.
  static const std::string claim_sql =
      "WITH c AS (SELECT o.id FROM outbox o "
      "  WHERE o.integration_id = $1 AND o.state = 'PENDING' AND o.next_attempt_at <= " +
      ts_param(4) +
      "    AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.entity_fiscal_code = "
      "o.entity_fiscal_code "
      "      AND p.position_id = o.position_id AND p.id < o.id "
      "      AND p.state IN ('PENDING', 'DELIVERING')) "
      "  ORDER BY o.next_attempt_at, o.id LIMIT $2 FOR UPDATE SKIP LOCKED), "
      "u AS (UPDATE outbox o SET state = 'DELIVERING', attempts = o.attempts + 1, "
      "    claimed_by = $3, claimed_until = " +
      ts_param(5) +
      "  FROM c WHERE o.id = c.id "
      "  RETURNING o.id, o.entity_fiscal_code, o.kind, o.key, o.payload::text AS payload, " +
      micros_or_null("o.created_at") +
      " AS created_us, o.attempts, o.position_id, o.application_id, "
      "    o.payload->>'noticeNumber' AS notice, o.payload->>'iuv' AS iuv, " +
      micros_or_null("coalesce(o.retry_since, o.created_at)") +
      " AS since_us) "
      "SELECT u.*, r.id, p.external_id, p.service_code FROM u "
      "LEFT JOIN receipts r ON u.kind = 'receipt' AND r.entity_fiscal_code = u.entity_fiscal_code "
      "  AND r.receipt_id = u.key "
      "LEFT JOIN positions p ON p.entity_fiscal_code = u.entity_fiscal_code AND p.id = "
      "u.position_id "
      "ORDER BY u.id";
  w.conn().prepare("integration.claim_due", claim_sql);
  const pqxx::result res =
      w.exec_prepared("integration.claim_due", std::string(integration_id), limit,
                      std::string(instance_id), to_micros(now), to_micros(now + lease));
  std::vector<claimed_message> out;
  out.reserve(res.size());
  for (const auto& row : res) {
    claimed_message m;
    m.id = row[0].as<std::int64_t>();
    m.entity_fc = row[1].c_str();
    m.kind = row[2].c_str();
    m.key = row[3].c_str();
    m.payload = row[4].c_str();
    m.created_at = from_micros(row[5].as<std::int64_t>());
    m.attempt = row[6].as<int>();
    if (!row[7].is_null()) m.position_id = row[7].as<std::int64_t>();
    if (!row[8].is_null()) m.application_id = row[8].c_str();
    if (!row[9].is_null()) m.notice_number = row[9].c_str();
    if (!row[10].is_null()) m.iuv = row[10].c_str();
    m.retry_since = row[11].is_null() ? m.created_at : from_micros(row[11].as<std::int64_t>());
    if (!row[12].is_null()) m.receipt_row_id = row[12].as<std::int64_t>();
    if (!row[13].is_null()) m.position_external_id = row[13].c_str();
    if (!row[14].is_null()) m.service_code = row[14].c_str();
    out.push_back(std::move(m));
  }
  return out;
}

std::int64_t record_results(pqxx::transaction_base& w, std::string_view integration_id,
                            std::string_view instance_id,
                            const std::vector<claimed_message>& messages,
                            const std::vector<attempt_result>& results, timestamp now,
                            const journal::payload_rules& rules) {
  if (results.empty()) return 0;
  std::map<std::int64_t, const claimed_message*> by_id;
  for (const auto& m : messages) by_id.emplace(m.id, &m);
  nlohmann::json rows = nlohmann::json::array();
  std::vector<journal::event> events;
  std::vector<std::int64_t> event_ids;  // the outbox id of each event
  for (const auto& r : results) {
    const auto it = by_id.find(r.id);
    if (it == by_id.end()) continue;
    const claimed_message& m = *it->second;
    nlohmann::json row = {
        {"id", r.id},
        {"sent", r.sent},
        {"state", !r.sent                           ? "PENDING"
                  : r.outcome == verdict::delivered ? "DELIVERED"
                  : r.outcome == verdict::dead      ? "DEAD"
                                                    : "PENDING"},
        {"outcome", to_string(r.outcome)},
        {"attempt", m.attempt},
        {"entity", m.entity_fc},
        {"started", to_micros(r.started)},
        {"duration", r.duration.count()},
        {"next", to_micros(r.next_attempt_at)},
        {"via", r.via},
    };
    // Only a status HTTP defines is stored (the columns hold 100..599): one statement failing
    // on another would leave its whole batch unrecorded, to be sent again at every lease.
    row["status"] = r.http_status && *r.http_status >= 100 && *r.http_status <= 599
                        ? nlohmann::json(*r.http_status)
                        : nlohmann::json(nullptr);
    // Invalid UTF-8 from a back-office must not break the JSON parameter: replace it.
    row["body"] = r.response_body.empty()
                      ? nlohmann::json(nullptr)
                      : nlohmann::json(truncate_utf8(r.response_body, max_answer_kept));
    row["error"] =
        r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(core::utf8_cut(r.error, 2000));
    rows.push_back(std::move(row));
    if (r.sent && r.outcome != verdict::retry) {
      events.push_back(delivery_event(m, integration_id, r));
      events.back().time = now;
      event_ids.push_back(r.id);
    }
  }
  const std::string data = rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // A message that was not sent goes back exactly as it was before its claim: due when it was,
  // its attempt given back, its last outcome untouched. The rows travel as json, not jsonb: read
  // once, they need no binary form, and json_to_recordset took 0.70 ms for a batch of 128 where
  // jsonb_to_recordset took 1.09 ms.
  static const std::string record_sql =
      "WITH r AS (SELECT * FROM json_to_recordset($1::json) AS x(id bigint, sent boolean, "
      "  state text, outcome text, attempt int, entity text, started bigint, duration int, "
      "  next bigint, via text, status int, body text, error text)), "
      "u AS (UPDATE outbox o SET state = r.state, "
      "    attempts = CASE WHEN r.sent THEN o.attempts ELSE o.attempts - 1 END, "
      "    last_status = CASE WHEN r.sent THEN r.status ELSE o.last_status END, "
      "    last_error = CASE WHEN r.sent THEN r.error ELSE o.last_error END, "
      "    last_attempt_at = CASE WHEN r.sent "
      "      THEN 'epoch'::timestamptz + r.started * interval '1 microsecond' "
      "      ELSE o.last_attempt_at END, "
      "    next_attempt_at = CASE WHEN r.sent AND r.state = 'PENDING' "
      "      THEN 'epoch'::timestamptz + r.next * interval '1 microsecond' "
      "      ELSE o.next_attempt_at END, "
      "    delivered_at = CASE WHEN r.state = 'DELIVERED' THEN " +
      ts_param(4) +
      " END, "
      "    delivered_via = CASE WHEN r.state = 'DELIVERED' THEN r.via END, "
      "    dead_at = CASE WHEN r.state = 'DEAD' THEN " +
      ts_param(4) +
      " END, "
      "    claimed_by = NULL, claimed_until = NULL "
      // The claim check is wrapped in coalesce() so that no index can serve it: the rows are
      // found by primary key from r. Written plainly, the planner takes `state = 'DELIVERING'`
      // (estimated at a row or two, since few rows are DELIVERING at any moment) to a partial
      // index of such rows whose leading column is not bound (outbox_open_idx until sql/0026,
      // outbox_claims_idx now), and then joins r to every row in a nested loop: measured
      // 150 ms for 128 rows with 100,000 messages queued, against 1 ms by primary key.
      // The claim is this daemon's and this attempt's: claimed_by names the daemon, not the
      // batch, so a result that outlived its lease must not land on the claim that followed
      // (the same daemon's next batch holds the message at the next attempt number).
      "  FROM r WHERE o.id = r.id "
      "    AND coalesce(o.state = 'DELIVERING' AND o.claimed_by = $3 "
      "                 AND o.attempts = r.attempt, false) "
      "  RETURNING o.id), "
      // Attempts only for the rows the result was applied to, and only for messages that left.
      "a AS (INSERT INTO outbox_attempts (outbox_id, entity_fiscal_code, integration_id, attempt, "
      "    started_at, duration_ms, http_status, response_body, error, outcome, instance_id) "
      "  SELECT r.id, r.entity, $2, r.attempt, "
      "    'epoch'::timestamptz + r.started * interval '1 microsecond', greatest(r.duration, 0), "
      "    r.status, r.body, r.error, r.outcome, $3 FROM r JOIN u ON u.id = r.id WHERE r.sent) "
      "SELECT id FROM u";
  w.conn().prepare("integration.record_results", record_sql);
  const pqxx::result res =
      w.exec_prepared("integration.record_results", data, std::string(integration_id),
                      std::string(instance_id), to_micros(now));
  // The outcome events of the rows the statement changed: a stale result's message may yet be
  // delivered by its new claim, and the journal must not say otherwise.
  std::set<std::int64_t> applied;
  for (const auto& row : res) applied.insert(row[0].as<std::int64_t>());
  std::vector<journal::event> outcomes;
  outcomes.reserve(events.size());
  for (std::size_t k = 0; k < events.size(); ++k)
    if (applied.contains(event_ids[k])) outcomes.push_back(std::move(events[k]));
  if (!outcomes.empty()) journal::record_internal_many(w, outcomes, rules);
  return static_cast<std::int64_t>(applied.size());
}

std::int64_t release_expired_claims(pqxx::transaction_base& w, timestamp now) {
  const pqxx::result res = w.exec_params(
      "UPDATE outbox SET state = 'PENDING', claimed_by = NULL, claimed_until = NULL, "
      "  next_attempt_at = " +
          ts_param(1) +
          ", last_error = coalesce(last_error, "
          "  'the daemon delivering it stopped before recording the outcome') "
          "WHERE id IN (SELECT id FROM outbox WHERE state = 'DELIVERING' AND claimed_until < " +
          ts_param(1) + "  FOR UPDATE SKIP LOCKED)",
      to_micros(now));
  return static_cast<std::int64_t>(res.affected_rows());
}

std::vector<state_count> count_by_state(pqxx::transaction_base& w) {
  // One branch per state, each from the partial index that holds that state's messages
  // (sql/0026): a scan of everything not DELIVERED would need an index the delivery path pays
  // for twice per message.
  const pqxx::result res = w.exec(
      "SELECT coalesce(integration_id, ''), 'PENDING', count(*) FROM outbox "
      "  WHERE state = 'PENDING' GROUP BY 1 "
      "UNION ALL SELECT coalesce(integration_id, ''), 'DELIVERING', count(*) FROM outbox "
      "  WHERE state = 'DELIVERING' GROUP BY 1 "
      "UNION ALL SELECT coalesce(integration_id, ''), 'DEAD', count(*) FROM outbox "
      "  WHERE state = 'DEAD' GROUP BY 1");
  std::vector<state_count> out;
  for (const auto& row : res) {
    out.push_back({row[0].c_str(), row[1].c_str(), row[2].as<std::int64_t>()});
  }
  return out;
}

std::map<std::string, bool> suspended_states(pqxx::transaction_base& w) {
  const pqxx::result res =
      w.exec("SELECT integration_id, state = 'SUSPENDED' FROM integration_states");
  std::map<std::string, bool> out;
  for (const auto& row : res) out[row[0].c_str()] = row[1].as<bool>();
  return out;
}

std::int64_t purge_finished(pqxx::transaction_base& w, std::chrono::system_clock::time_point before,
                            int limit) {
  // By id, the order messages were written in and the primary key's: the oldest ended ones sit
  // at its low end, so each batch reads little past what it deletes. The attempts go with
  // their message (ON DELETE CASCADE).
  const auto r = w.exec_params(
      "WITH m AS (SELECT o.id FROM outbox o "
      "  WHERE (o.state = 'DELIVERED' AND o.delivered_at < " +
          ts_param(1) +
          ") "
          "     OR (o.state = 'DEAD' AND o.dead_at < " +
          ts_param(1) +
          ") "
          "  ORDER BY o.id LIMIT $2 FOR UPDATE SKIP LOCKED) "
          "DELETE FROM outbox o USING m WHERE o.id = m.id",
      to_micros(before), limit);
  return static_cast<std::int64_t>(r.affected_rows());
}

}  // namespace pagohub::integration
