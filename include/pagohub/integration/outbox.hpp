#pragma once
// The outbox as delivery sees it (sql/0011_outbox.sql, sql/0013_integration.sql): routing
// messages to integrations, claiming due ones with FOR UPDATE SKIP LOCKED, recording outcomes
// with their attempts and journal events. Each function works in the caller's transaction and
// is one statement (or two), whatever the number of messages: set-based, never a round trip per
// message.
#include <pagohub/config/integration.hpp>
#include <pagohub/integration/retry_policy.hpp>
#include <pagohub/journal/record.hpp>

#include <pqxx/transaction_base>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::integration {

using timestamp = std::chrono::system_clock::time_point;

/// One row of the routing table handed to SQL.
struct route_entry {
  std::string entity_fc;
  std::string application_id;  ///< empty = the entity's default
  std::string integration_id;
  config::integration_mode mode = config::integration_mode::push;
};

/// The routing table of a registry.
std::vector<route_entry> routes_of(const config::integration_registry& registry);

/// Makes `routes` the routing table the outbox insert trigger reads (sql/0023), so that a
/// message written from now on is routed at once to its push or file integration; messages of
/// pull integrations, and those written before, are left to route_messages(). Writes only the
/// rows that differ.
void publish_routes(pqxx::transaction_base& w, const std::vector<route_entry>& routes);

/// What route_messages() did.
struct routing_result {
  std::int64_t routed = 0;  ///< messages given an integration
  /// Messages of pull integrations, marked DELIVERED (via "pull") at once, per integration.
  std::map<std::string, std::int64_t> handed_to_feed;
};

/// Gives up to `limit` unrouted PENDING messages (oldest first, skipping rows locked by
/// another daemon) their integration: the (entity, application) one, else the entity's
/// default. Messages of pull integrations become DELIVERED via "pull" (the receipts feed
/// serves them; one summary journal event per integration). Messages no integration takes
/// stay unrouted. Returns what it did.
routing_result route_messages(pqxx::transaction_base& w, const std::vector<route_entry>& routes,
                              timestamp now, int limit = 5000);

/// Why unroute_stale() took messages from an integration, by what the configuration now says of
/// it (nullopt: it has no such integration any more); for its journal event and the log.
std::string_view unrouted_reason(std::optional<config::integration_mode> now);

/// What unroute_stale() did: per integration id the messages taken from it.
using unrouted_counts = std::map<std::string, std::int64_t>;

/// Takes the route from up to `limit` PENDING messages (skipping rows locked by another daemon)
/// routed to an integration that no longer sends: one the configuration no longer has, or one
/// now in mode pull (by configuration or by a runtime override). No batch loop claims such
/// messages, and the claim's per-position order would hold every later message of their positions
/// behind them for ever. Unrouted, they are routed again by route_messages() as the configuration
/// now says (to the feed, for a pull integration; left unrouted when no integration takes them).
/// DELIVERING messages are left to their outcome or their claim's expiry. One INTERNO journal event
/// per former integration. `routes` is the routing table of the configuration in force
/// (routes_of()). With `misrouted`, also the PENDING messages of a sending integration that the
/// table now routes elsewhere (an entity or application moved to another integration): that
/// scans every backlog, so it is for the pass after a change of the configuration.
unrouted_counts unroute_stale(pqxx::transaction_base& w, const std::vector<route_entry>& routes,
                              timestamp now, int limit = 5000, bool misrouted = false);

/// Deletes up to `limit` messages that ended before `before` (DELIVERED by delivered_at, DEAD by
/// dead_at; oldest first, skipping rows another transaction holds), with their attempts
/// (`[outbox] retention_days`). PENDING and DELIVERING messages are never touched. Returns how
/// many it deleted.
std::int64_t purge_finished(pqxx::transaction_base& w, std::chrono::system_clock::time_point before,
                            int limit);

/// A message claimed for delivery.
struct claimed_message {
  std::int64_t id = 0;
  std::string entity_fc;
  std::string kind;     ///< "receipt", "position.cancelled", "position.expired", ...
  std::string key;      ///< the idempotency key (receipt id, event id)
  std::string payload;  ///< the outbox payload (JSON text)
  timestamp created_at{};
  /// When its current run of attempts began: created_at, or when an operator last sent it
  /// again (outbox.retry_since). max_age counts from here.
  timestamp retry_since{};
  int attempt = 0;  ///< this attempt's number, from 1
  std::optional<std::int64_t> position_id;
  std::optional<std::string> application_id;
  std::optional<std::int64_t> receipt_row_id;  ///< receipts.id for kind "receipt"
  std::optional<std::string> position_external_id;
  std::optional<std::string> service_code;
  /// The payment the message is about, from its payload (receipts): for the journal.
  std::string notice_number;
  std::string iuv;
};

/// Claims up to `limit` due PENDING messages of `integration_id` (next_attempt_at <= now),
/// oldest due first, with FOR UPDATE SKIP LOCKED: rows another daemon is claiming are skipped,
/// so no two daemons hold one message. A message whose position has an earlier message still
/// PENDING or DELIVERING is not due (per-position order). Claimed rows become DELIVERING,
/// attempts + 1, claimed by `instance_id` until now + `lease`.
std::vector<claimed_message> claim_due(pqxx::transaction_base& w, std::string_view integration_id,
                                       int limit, std::string_view instance_id, timestamp now,
                                       std::chrono::milliseconds lease);

/// How much of a back-office's answer is kept with an attempt (outbox_attempts.response_body):
/// enough to read a problem+json, never a whole page.
inline constexpr std::size_t max_answer_kept = 2048;

/// The outcome of one attempt.
struct attempt_result {
  std::int64_t id = 0;  ///< outbox id
  verdict outcome = verdict::retry;
  std::optional<int> http_status;
  std::string response_body;  ///< at most max_answer_kept bytes are recorded
  std::string error;          ///< why there was no (good) answer; never a secret
  timestamp started{};
  std::chrono::milliseconds duration{0};
  timestamp next_attempt_at{};  ///< for retry
  std::string via = "push";     ///< "push" or "file"
  /// X-Request-Id of the attempt's exchange (push): ties the INTERNO outcome event to the
  /// INTERFACCIA req and rsp events of the call that decided it.
  std::string request_id;
  /// False when the message never left the gateway (no connection became free within the
  /// batch's time, or the endpoint's circuit opened before its turn): it goes back to PENDING
  /// as it was, due at once, with no attempt used, recorded or journaled.
  bool sent = true;
};

/// Records `results` of messages this instance claimed: the outbox rows (DELIVERED, DEAD, or
/// PENDING again at next_attempt_at), one outbox_attempts row each, and an INTERNO journal
/// event for each message delivered or dead (actor: system "delivery"; request id: the
/// deciding attempt's, the id of its INTERFACCIA exchange events). A result that was not
/// `sent` puts its message back to PENDING as it was before the claim (same next_attempt_at,
/// attempts - 1), with no attempt row and no event. A result is applied only while its claim
/// still holds: the row is DELIVERING, claimed by `instance_id`, at the result's attempt
/// number. A stale result (its lease ran out and the message was claimed again, by another
/// daemon or another batch of this one) changes nothing, and adds no attempt row and no event
/// (the exchange itself is in the journal). Returns the rows updated.
std::int64_t record_results(
    pqxx::transaction_base& w, std::string_view integration_id, std::string_view instance_id,
    const std::vector<claimed_message>& messages, const std::vector<attempt_result>& results,
    timestamp now, const journal::payload_rules& rules = journal::payload_rules::defaults());

/// DELIVERING rows whose claim expired before now (their daemon stopped or hung) go back to
/// PENDING, due at once. Returns how many.
std::int64_t release_expired_claims(pqxx::transaction_base& w, timestamp now);

/// Messages not yet delivered per integration and state, for metrics ("" = unrouted).
struct state_count {
  std::string integration_id;
  std::string state;
  std::int64_t count = 0;
};
std::vector<state_count> count_by_state(pqxx::transaction_base& w);

/// The suspended integrations, as the database says (integration_states).
std::map<std::string, bool> suspended_states(pqxx::transaction_base& w);

}  // namespace pagohub::integration
