#pragma once
// The lookup targets of the daemon: one bo_client per [[integration]] id, made on first use and
// made again when a reload changed the endpoint (on_demand/lookup.hpp, lookup_targets).
#include <pagohub/config/integration.hpp>
#include <pagohub/on_demand/lookup.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>

namespace pagohub::integration {

/// The current integrations (a reload may replace them).
using integrations_source = std::function<std::shared_ptr<const config::integration_registry>()>;

/// lookup_targets over `source`: an integration without a base_url (file mode, or pull without
/// one) is no target. `active` follows the integration's configured state (`state =
/// "suspended"`). Clients run on `ex`. Thread-safe.
lookup_targets make_lookup_targets(boost::asio::any_io_executor ex, integrations_source source);

}  // namespace pagohub::integration
