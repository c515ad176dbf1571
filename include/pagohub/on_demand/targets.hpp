#pragma once
// The lookup targets of the daemon: one bo_client per [[integration]] id, made on first use and
// made again when a reload or an admin's override changed the endpoint (on_demand/lookup.hpp,
// lookup_targets). A changed endpoint whose client cannot be built (a TLS file unreadable or
// invalid) leaves the lookups on the client built before, as the delivery does
// (integration/client_builder.hpp; docs/integration.md, "When an endpoint cannot be used").
#include <pagohub/config/integration.hpp>
#include <pagohub/integration/delivery.hpp>
#include <pagohub/on_demand/lookup.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::integration {

/// The current integrations (a reload may replace them).
using integrations_source = std::function<std::shared_ptr<const config::integration_registry>()>;

/// The clients of the on-demand lookups. Thread-safe.
class lookup_clients {
 public:
  /// Clients run on `ex`; `endpoint_retry`: how often an endpoint that could not be made into a
  /// client is tried again while neither its settings nor its files change.
  lookup_clients(boost::asio::any_io_executor ex, integrations_source source,
                 std::chrono::steady_clock::duration endpoint_retry = std::chrono::minutes(5));
  ~lookup_clients();
  lookup_clients(const lookup_clients&) = delete;
  lookup_clients& operator=(const lookup_clients&) = delete;

  /// lookup_targets over the source: an integration without a base_url (file mode, or pull
  /// without one) is no target. `active` follows the integration's configured state (`state =
  /// "suspended"`). The client is the one of the integration's endpoint as its settings say, or,
  /// when that one cannot be built, the one built before for it; without either the integration
  /// is no target (the lookup fails). Shares this object's state: usable after it is gone.
  lookup_targets targets() const;

  /// Prometheus lines: pagohub_on_demand_endpoint_failed per integration the lookups used (0 the
  /// endpoint its settings say is in use, 1 the previous one still is, 2 none: lookups fail).
  /// Tries again the endpoints that failed, as a lookup would.
  void append_metrics(std::string& out) const;

  /// The failure of the endpoint of `id` as the last lookup or scrape of the metrics found it
  /// (nothing is built here); `delivering_to` is where the lookups still go (the previous
  /// client's base URL), empty when they fail. nullopt when the endpoint is in use, or no lookup
  /// has gone through the integration since the start.
  std::optional<endpoint_failure> failed_endpoint(std::string_view id) const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace pagohub::integration
