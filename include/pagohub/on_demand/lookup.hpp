#pragma once
// On-demand positions (issue 6; docs/integration.md "On-demand positions"): when the Nodo
// verifies a notice number the gateway does not hold, or holds with an amount that is out of
// date, ask the entity's back-office with GET {base}/notices/{noticeNumber}
// (docs/api/bo-webhooks.yaml), validate the position it answers like a REST PUT, store and
// publish it (journaled, owned by the integration's application), and answer the Nodo - all
// within the service's lookup budget, so that the verify stays under 1.5 s.
//
// Which service asks: for a stored position, its own service; for a notice not stored, the
// entity's first service (configuration order) with a `lookup`. The entity itself is already
// known from the request (idPA), and its aux digit and segregation / application code are
// checked against the notice by validation (DIGEST §5).
#include <pagohub/config/entity.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/integration/bo_client.hpp>
#include <pagohub/journal/record.hpp>
#include <pagohub/journal/writer.hpp>
#include <pagohub/pap/on_demand.hpp>
#include <pagohub/positions/model.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::integration {

/// Where the lookups of one [[integration]] go.
struct lookup_target {
  std::shared_ptr<bo_client> client;  ///< the integration's endpoint; null: none can be built
  std::string application_id;  ///< owns the positions the lookups store; never empty (config)
  bool active = true;          ///< false: suspended, not asked
};

/// The target of an integration id, at call time (the configuration may have been reloaded);
/// nullopt when no push integration has that id (targets.hpp).
using lookup_targets = std::function<std::optional<lookup_target>(std::string_view integration_id)>;

/// What the resolver needs; every reference must outlive it.
struct on_demand_deps {
  db::executor& db;
  const config::registry_holder& registry;
  const core::clock& clock;
  lookup_targets targets;
  /// Payload rules of the INTERNO journal events (null: the defaults).
  const journal::payload_rules* rules = nullptr;
  /// The journal writer that records each GET to a back-office as INTERFACCIA req and rsp
  /// events (queued; dropped rather than delaying a verify when the queue is full, as reads
  /// are); null = not recorded.
  journal::writer* events = nullptr;
};

/// The service whose lookup answers for a notice of `entity`: `stored`'s service when a position
/// is stored, else the entity's first service with a lookup; nullptr when none applies.
const config::service* lookup_service(const config::entity& entity,
                                      const std::optional<positions::position>& stored);

/// True when the back-office must be asked: nothing is stored, or the option of
/// `notice_number` is unpaid, its position VALID or EXPIRED, and its due date before today in
/// Europe/Rome (the amount was computed for that date: interest and penalties change it,
/// "attualizzazione"). A position the lookup just stored has a due date from today on, so
/// getPayment after verify finds it fresh and does not ask again.
bool needs_lookup(const std::optional<positions::position>& stored, std::string_view notice_number,
                  positions::timestamp now);

/// The on-demand resolver (pap::notice_resolver) wired into the SOAP endpoints.
class on_demand_lookup final : public pap::notice_resolver {
 public:
  explicit on_demand_lookup(on_demand_deps deps);

  boost::asio::awaitable<std::expected<std::optional<positions::position>, pap::on_demand_failure>>
  resolve(const config::entity& entity, std::string notice_number,
          std::optional<positions::position> stored, std::string request_id,
          std::chrono::steady_clock::time_point received) override;

  /// Prometheus lines: lookups by outcome.
  void append_metrics(std::string& out) const;

 private:
  on_demand_deps deps_;
  std::atomic<std::uint64_t> stored_{0}, unknown_{0}, failed_{0}, fallback_{0};
};

}  // namespace pagohub::integration
