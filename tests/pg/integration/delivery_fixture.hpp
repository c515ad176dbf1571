#pragma once
// The delivery tests' fixture: an outbox with messages of three entities, their routing table,
// and claims and outcomes as one daemon ("d1") makes them.
#include <pagohub/config/integration.hpp>
#include <pagohub/integration/outbox.hpp>
#include <pagohub/integration/retry_policy.hpp>

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fixture.hpp"

namespace pagohub::integration::test {

using namespace std::chrono_literals;

inline const std::string fc_a = "01234567897";
inline const std::string fc_b = "00000000000";
inline const std::string fc_none = "11111111111";

class delivery_pg : public integration_pg {
 protected:
  // A receipt message for `position` (NULL: none) of application `app`.
  void message(const std::string& fc, const std::string& key, std::optional<int> position,
               const std::string& app = "tributi", const std::string& kind = "receipt") {
    sql("INSERT INTO outbox (entity_fiscal_code, kind, key, payload, created_at, position_id, "
        "application_id) VALUES ('" +
        fc + "', '" + kind + "', '" + key +
        "', '{\"noticeNumber\":\"301000000000000017\"}', '2026-03-02T09:00:00Z', " +
        (position ? std::to_string(*position) : "NULL") + ", " +
        (app.empty() ? "NULL" : "'" + app + "'") + ")");
  }

  std::vector<route_entry> routes() {
    return {{fc_a, "tributi", "tributi-push", config::integration_mode::push},
            {fc_a, "", "a-default", config::integration_mode::file},
            {fc_b, "", "b-pull", config::integration_mode::pull}};
  }

  static config::integration policy(int max_attempts = 5) {
    config::integration i;
    i.id = "tributi-push";
    i.max_attempts = max_attempts;
    i.backoff_initial = 1000ms;
    i.backoff_max = 60000ms;
    i.max_age = std::chrono::hours(72);
    return i;
  }

  std::vector<claimed_message> claim(const std::string& integration, int limit = 100,
                                     timestamp now = t0(), const std::string& who = "d1") {
    return tx([&](pqxx::work& w) { return claim_due(w, integration, limit, who, now, 60s); });
  }

  // Records `v` for each of `ms`; returns the rows the outcome was applied to.
  std::int64_t record(const std::vector<claimed_message>& ms, verdict v, timestamp next = t0(),
                      std::optional<int> status = 204, const std::string& who = "d1") {
    std::vector<attempt_result> rs;
    for (const auto& m : ms) {
      attempt_result r;
      r.id = m.id;
      r.outcome = v;
      r.http_status = status;
      r.started = t0();
      r.duration = 3ms;
      r.next_attempt_at = next;
      r.response_body = v == verdict::dead ? R"({"detail":"bad receipt"})" : "";
      r.error = v == verdict::delivered ? "" : "HTTP " + std::to_string(status.value_or(0));
      rs.push_back(r);
    }
    return tx([&](pqxx::work& w) { return record_results(w, "tributi-push", who, ms, rs, t0()); });
  }
};

}  // namespace pagohub::integration::test
