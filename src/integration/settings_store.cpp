// The admins' integration overrides in integration_overrides
// (include/pagohub/integration/settings_store.hpp).
#include <pagohub/core/text.hpp>
#include <pagohub/db/sql_time.hpp>
#include <pagohub/integration/settings_store.hpp>
#include <pagohub/journal/record.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "settings_json.hpp"

namespace pagohub::integration {

using db::from_micros;
using db::micros_or_null;
using db::to_micros;
using db::ts_param;

namespace {

const std::string columns =
    "integration_id, mode, base_url, directory, timeout_ms, max_concurrency, max_attempts, "
    "max_age_s, backoff_initial_ms, backoff_max_ms, breaker_failures, breaker_open_ms, version, " +
    micros_or_null("changed_at") +
    ", changed_by_kind || ':' || changed_by_id, coalesce(reason, '')";

template <class T>
std::optional<T> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

std::optional<std::chrono::milliseconds> opt_ms(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return std::chrono::milliseconds(f.as<std::int64_t>());
}

stored_override row_of(const pqxx::row& r) {
  stored_override s;
  s.integration_id = r[0].c_str();
  auto& o = s.settings;
  if (!r[1].is_null()) {
    const std::string m = r[1].c_str();
    o.mode = m == "pull"   ? config::integration_mode::pull
             : m == "file" ? config::integration_mode::file
                           : config::integration_mode::push;
  }
  o.base_url = opt<std::string>(r[2]);
  o.directory = opt<std::string>(r[3]);
  o.timeout = opt_ms(r[4]);
  o.max_concurrency = opt<std::int64_t>(r[5]);
  o.max_attempts = opt<std::int64_t>(r[6]);
  if (!r[7].is_null()) o.max_age = std::chrono::seconds(r[7].as<std::int64_t>());
  o.backoff_initial = opt_ms(r[8]);
  o.backoff_max = opt_ms(r[9]);
  o.breaker_failures = opt<std::int64_t>(r[10]);
  o.breaker_open = opt_ms(r[11]);
  s.version = r[12].as<std::int64_t>();
  if (!r[13].is_null()) s.changed_at = from_micros(r[13].as<std::int64_t>());
  s.changed_by = r[14].c_str();
  s.reason = r[15].c_str();
  return s;
}

// The override as one jsonb parameter keyed by column (libpqxx 6 has no nullable parameters):
// an absent key reads as NULL.
std::string columns_json(const config::integration_override& n) {
  nlohmann::json j = nlohmann::json::object();
  if (n.mode) j["mode"] = std::string(config::to_string(*n.mode));
  if (n.base_url) j["base_url"] = *n.base_url;
  if (n.directory) j["directory"] = *n.directory;
  if (n.timeout) j["timeout_ms"] = n.timeout->count();
  if (n.max_concurrency) j["max_concurrency"] = *n.max_concurrency;
  if (n.max_attempts) j["max_attempts"] = *n.max_attempts;
  if (n.max_age) j["max_age_s"] = n.max_age->count();
  if (n.backoff_initial) j["backoff_initial_ms"] = n.backoff_initial->count();
  if (n.backoff_max) j["backoff_max_ms"] = n.backoff_max->count();
  if (n.breaker_failures) j["breaker_failures"] = *n.breaker_failures;
  if (n.breaker_open) j["breaker_open_ms"] = n.breaker_open->count();
  return j.dump();
}

}  // namespace

std::vector<stored_override> load_overrides(pqxx::transaction_base& w) {
  const auto res = w.exec("SELECT " + columns + " FROM integration_overrides ORDER BY 1");
  std::vector<stored_override> out;
  out.reserve(res.size());
  for (const auto& r : res) out.push_back(row_of(r));
  return out;
}

config::integration_holder::override_map override_map(const std::vector<stored_override>& rows) {
  config::integration_holder::override_map out;
  for (const auto& r : rows)
    if (!r.settings.empty()) out.emplace(r.integration_id, r.settings);
  return out;
}

config::integration_holder::override_map load_override_map(pqxx::transaction_base& w) {
  return override_map(load_overrides(w));
}

stored_override lock_override(pqxx::transaction_base& w, const std::string& integration_id) {
  // A row may not exist yet, so a row lock cannot serialize the first change: an advisory lock
  // on the id does, for the rest of the transaction.
  w.exec_params("SELECT pg_advisory_xact_lock(hashtext('integration_overrides'), hashtext($1))",
                integration_id);
  const auto res =
      w.exec_params("SELECT " + columns + " FROM integration_overrides WHERE integration_id = $1",
                    integration_id);
  if (res.empty()) {
    stored_override none;
    none.integration_id = integration_id;
    return none;
  }
  return row_of(res[0]);
}

stored_override write_override(pqxx::transaction_base& w, const stored_override& old,
                               const config::integration_override& next, const journal::actor& by,
                               const std::string& reason,
                               std::chrono::system_clock::time_point now) {
  const std::string cut_reason = core::utf8_cut(reason, 500);
  const auto res = w.exec_params(
      "INSERT INTO integration_overrides (integration_id, mode, base_url, directory, timeout_ms, "
      "  max_concurrency, max_attempts, max_age_s, backoff_initial_ms, backoff_max_ms, "
      "  breaker_failures, breaker_open_ms, version, changed_at, changed_by_kind, changed_by_id, "
      "  reason) "
      "SELECT $1, j->>'mode', j->>'base_url', j->>'directory', (j->>'timeout_ms')::integer, "
      "  (j->>'max_concurrency')::integer, (j->>'max_attempts')::integer, "
      "  (j->>'max_age_s')::bigint, (j->>'backoff_initial_ms')::integer, "
      "  (j->>'backoff_max_ms')::integer, (j->>'breaker_failures')::integer, "
      "  (j->>'breaker_open_ms')::integer, 1, " +
          ts_param(3) +
          ", $4, $5, NULLIF($6, '') FROM (SELECT $2::jsonb AS j) p "
          "ON CONFLICT (integration_id) DO UPDATE SET mode = EXCLUDED.mode, "
          "  base_url = EXCLUDED.base_url, directory = EXCLUDED.directory, "
          "  timeout_ms = EXCLUDED.timeout_ms, max_concurrency = EXCLUDED.max_concurrency, "
          "  max_attempts = EXCLUDED.max_attempts, max_age_s = EXCLUDED.max_age_s, "
          "  backoff_initial_ms = EXCLUDED.backoff_initial_ms, "
          "  backoff_max_ms = EXCLUDED.backoff_max_ms, "
          "  breaker_failures = EXCLUDED.breaker_failures, "
          "  breaker_open_ms = EXCLUDED.breaker_open_ms, "
          "  version = integration_overrides.version + 1, changed_at = EXCLUDED.changed_at, "
          "  changed_by_kind = EXCLUDED.changed_by_kind, changed_by_id = EXCLUDED.changed_by_id, "
          "  reason = EXCLUDED.reason "
          "RETURNING " +
          columns,
      old.integration_id, columns_json(next), to_micros(now), by.kind, by.id, cut_reason);
  stored_override out = row_of(res[0]);

  // The journal keeps both sides, so that "who moved the endpoint, from where to where, and
  // why" is answered from the journal alone. Overrides hold no secret by construction.
  const bool reset = next.empty();
  journal::event e;
  e.time = now;
  e.cat = journal::category::interno;
  e.interface = journal::interface_kind::internal;
  e.component = "integration";
  e.type = reset ? "integrationSettingsReset" : "integrationSettingsChanged";
  e.outcome = "OK";
  e.caller_id = by.id;
  e.provider_id = old.integration_id;
  e.by = by;
  std::string changed;
  const auto before = detail::override_json(old.settings);
  const auto after = detail::override_json(next);
  for (const auto& [k, v] : before.items())
    if (!after.contains(k) || after[k] != v) changed += (changed.empty() ? "" : ",") + k;
  for (const auto& [k, v] : after.items())
    if (!before.contains(k)) changed += (changed.empty() ? "" : ",") + k;
  e.interface_params = core::utf8_cut("integration=" + old.integration_id +
                                          " version=" + std::to_string(out.version) +
                                          " changed=" + changed + " reason=" + reason,
                                      512);
  nlohmann::ordered_json payload = {{"integrationId", old.integration_id},
                                    {"version", out.version},
                                    {"reason", cut_reason},
                                    {"old", before},
                                    {"new", after}};
  e.message = journal::payload{"application/json", {}, payload.dump()};
  journal::record_internal(w, e);
  return out;
}

}  // namespace pagohub::integration
