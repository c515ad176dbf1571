#pragma once
// The operators' view of deliveries and integrations (docs/integration.md "Operator actions"):
// list and inspect messages, send again, move dead letters back, suspend and resume an
// integration. Every change writes its INTERNO journal event, with the actor, in the same
// transaction (ARCHITECTURE §5). Every query is limited to the entities the caller may see.
#include <pagohub/core/error.hpp>
#include <pagohub/journal/event.hpp>
#include <pagohub/journal/record.hpp>

#include <pqxx/transaction_base>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagohub::integration {

/// Which messages: every field optional except the entity scope.
struct delivery_filter {
  /// The entities the caller may see; empty with all_entities = false matches nothing.
  std::vector<std::string> scope{};
  bool all_entities = false;  ///< admins
  std::optional<std::string> entity, state, integration, kind;
  std::optional<std::chrono::system_clock::time_point> from, to;  ///< created_at in [from, to)
};

/// One message as listed.
struct delivery_summary {
  std::int64_t id = 0;
  std::string entity_fc, kind, key, state;
  std::optional<std::string> integration_id, application_id, delivered_via, last_error;
  std::optional<std::int64_t> position_id;
  int attempts = 0;
  std::optional<int> last_status;
  std::chrono::system_clock::time_point created_at{};
  std::optional<std::chrono::system_clock::time_point> next_attempt_at, last_attempt_at,
      delivered_at, dead_at;
};

struct delivery_attempt {
  int attempt = 0;
  std::chrono::system_clock::time_point started_at{};
  int duration_ms = 0;
  std::optional<int> http_status;
  std::optional<std::string> response_body, error;
  std::string outcome;
  std::optional<std::string> instance_id;
};

struct delivery_detail {
  delivery_summary summary;
  std::string payload;                     ///< JSON text
  std::vector<delivery_attempt> attempts;  ///< oldest first, the last 100
};

struct delivery_page {
  std::vector<delivery_summary> items;
  std::optional<std::int64_t> next_cursor;  ///< pass as `before` for the next page
};

/// Newest first; `before` = the previous page's next_cursor; limit 1..500.
delivery_page list_deliveries(pqxx::transaction_base& w, const delivery_filter& f,
                              std::optional<std::int64_t> before, int limit);

/// One message with its attempts; nullopt when it does not exist in the caller's scope.
std::optional<delivery_detail> get_delivery(pqxx::transaction_base& w, const delivery_filter& scope,
                                            std::int64_t id);

/// Sends a message again: PENDING, due now, attempts from zero and max_age counted from `now`
/// (outbox.retry_since), routed afresh (so a changed configuration applies). Allowed from DEAD,
/// DELIVERED and PENDING; a message being delivered right now is a conflict. not_found outside the
/// scope.
core::result<delivery_summary> resend_one(pqxx::transaction_base& w, const delivery_filter& scope,
                                          std::int64_t id, const journal::actor& by,
                                          const std::string& reason,
                                          std::chrono::system_clock::time_point now);

/// resend_one for every message matching `f` (f.state is required: DEAD, DELIVERED or
/// PENDING), at most `max_messages`; one statement and one journal COPY. Returns how many.
core::result<std::int64_t> resend_matching(pqxx::transaction_base& w, const delivery_filter& f,
                                           const journal::actor& by, const std::string& reason,
                                           std::chrono::system_clock::time_point now,
                                           std::int64_t max_messages = 100000);

/// An integration's runtime state.
struct integration_runtime {
  std::string integration_id;
  bool suspended = false;
  std::optional<std::chrono::system_clock::time_point> changed_at;
  std::string changed_by;  ///< "kind:id"
  std::string reason;
};

/// The states operators set (integrations never touched are absent).
std::vector<integration_runtime> integration_runtimes(pqxx::transaction_base& w);

/// Suspends or resumes; journaled with the actor and reason. Returns the new state.
integration_runtime set_integration_state(pqxx::transaction_base& w,
                                          const std::string& integration_id, bool suspended,
                                          const journal::actor& by, const std::string& reason,
                                          std::chrono::system_clock::time_point now);

}  // namespace pagohub::integration
