// One back-office client per integration id, shared by every lookup (keep-alive connections).
#include <pagohub/integration/endpoint.hpp>
#include <pagohub/on_demand/targets.hpp>

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <string>

namespace pagohub::integration {

namespace {

struct client_cache {
  struct entry {
    config::integration settings;
    std::shared_ptr<bo_client> client;
  };
  boost::asio::any_io_executor ex;
  integrations_source source;
  std::mutex mutex;
  std::map<std::string, entry, std::less<>> clients;

  std::optional<lookup_target> find(std::string_view id) {
    const auto registry = source ? source() : nullptr;
    const config::integration* it = registry ? registry->find(id) : nullptr;
    if (it == nullptr || it->base_url.empty()) return std::nullopt;
    std::lock_guard lock(mutex);
    auto e = clients.find(id);
    if (e == clients.end() || !same_endpoint(e->second.settings, *it)) {
      try {
        auto client = std::make_shared<bo_client>(ex, endpoint_of(*it));
        e = clients.insert_or_assign(std::string(id), entry{*it, std::move(client)}).first;
      } catch (const std::exception& error) {
        // Configuration was validated at load; a failure here (a TLS file gone) is reported
        // and the lookup fails as "not configured".
        spdlog::error("integration {}: cannot make its back-office client: {}", id, error.what());
        return std::nullopt;
      }
    }
    return lookup_target{e->second.client, it->application, !it->initially_suspended};
  }
};

}  // namespace

lookup_targets make_lookup_targets(boost::asio::any_io_executor ex, integrations_source source) {
  auto cache = std::make_shared<client_cache>();
  cache->ex = std::move(ex);
  cache->source = std::move(source);
  return [cache](std::string_view id) { return cache->find(id); };
}

}  // namespace pagohub::integration
