// One back-office client per integration id, shared by every lookup (keep-alive connections).
#include <pagohub/integration/client_builder.hpp>
#include <pagohub/integration/endpoint.hpp>
#include <pagohub/on_demand/targets.hpp>

#include <map>
#include <mutex>
#include <set>
#include <string>

namespace pagohub::integration {

struct lookup_clients::state {
  state(boost::asio::any_io_executor e, integrations_source s,
        std::chrono::steady_clock::duration retry)
      : ex(std::move(e)),
        source(std::move(s)),
        builder(retry,
                {"on-demand lookups", "lookups still go to", "its lookups fail until it can"}) {}

  struct entry {
    config::integration settings;  // those the client was built with
    std::shared_ptr<bo_client> client;
  };
  const boost::asio::any_io_executor ex;
  const integrations_source source;
  std::mutex mutex;
  std::map<std::string, entry, std::less<>> clients;  // the client in use, per integration
  client_builder builder;                             // the endpoints that could not be built

  std::shared_ptr<const config::integration_registry> registry() const {
    return source ? source() : nullptr;
  }

  // Under the mutex. The client of `i`'s endpoint, built if the settings changed; when it cannot
  // be built, the previous one, so that a broken TLS file does not fail every lookup of an
  // integration that was answering. The failure is logged by the builder, once per try.
  std::shared_ptr<bo_client> client_for(const config::integration& i) {
    const auto e = clients.find(i.id);
    if (e != clients.end() && same_endpoint(e->second.settings, i)) {
      // Also the way back: settings that returned to the endpoint in use end its failure.
      builder.forget(i.id);
      return e->second.client;
    }
    const auto previous =
        e == clients.end() ? std::nullopt : std::optional(e->second.settings.base_url);
    if (auto client = builder.build(ex, i, previous, std::chrono::system_clock::now(),
                                    std::chrono::steady_clock::now())) {
      clients.insert_or_assign(i.id, entry{i, client});
      return client;
    }
    return e == clients.end() ? nullptr : e->second.client;
  }

  std::optional<lookup_target> find(std::string_view id) {
    const auto current = registry();
    const config::integration* it = current ? current->find(id) : nullptr;
    if (it == nullptr || it->base_url.empty()) return std::nullopt;
    std::lock_guard lock(mutex);
    // Without a client (none could be built yet) the target is still returned, so that the
    // lookup's failure names the reason rather than a missing integration.
    return lookup_target{client_for(*it), it->application, !it->initially_suspended};
  }
};

lookup_clients::lookup_clients(boost::asio::any_io_executor ex, integrations_source source,
                               std::chrono::steady_clock::duration endpoint_retry)
    : state_(std::make_shared<state>(std::move(ex), std::move(source), endpoint_retry)) {}

lookup_clients::~lookup_clients() = default;

lookup_targets lookup_clients::targets() const {
  return [s = state_](std::string_view id) { return s->find(id); };
}

void lookup_clients::append_metrics(std::string& out) const {
  out +=
      "# HELP pagohub_on_demand_endpoint_failed Integrations asked by on-demand lookups whose "
      "endpoint, as their settings say, cannot be used (its client cannot be built): 0 in use, "
      "1 the previous endpoint still used, 2 none (lookups fail).\n"
      "# TYPE pagohub_on_demand_endpoint_failed gauge\n";
  const auto current = state_->registry();
  std::lock_guard lock(state_->mutex);
  std::set<std::string, std::less<>> ids;
  for (const auto& [id, _] : state_->clients) ids.insert(id);
  for (const auto& [id, _] : state_->builder.failures()) ids.insert(id);
  for (const auto& id : ids) {
    const config::integration* i = current ? current->find(id) : nullptr;
    if (i == nullptr || i->base_url.empty()) {
      // No longer a target: nothing to show, nothing to keep.
      state_->clients.erase(id);
      state_->builder.forget(id);
      continue;
    }
    // As a lookup would: a repaired file shows here without waiting for the Nodo to ask.
    const bool usable = state_->client_for(*i) != nullptr;
    const int value = state_->builder.find(id) == nullptr ? 0 : usable ? 1 : 2;
    out += "pagohub_on_demand_endpoint_failed{integration=\"" + id + "\"} " +
           std::to_string(value) + "\n";
  }
}

std::optional<endpoint_failure> lookup_clients::failed_endpoint(std::string_view id) const {
  // State only, as the delivery's: the admin GET that asks runs on an I/O thread, where building
  // a client (reading its TLS files) would block; the next lookup or scrape tries again.
  // A failure of settings that are no longer the effective ones (a reload removed the
  // integration, its base URL, or changed its endpoint) says nothing of what lookups use now.
  const auto current = state_->registry();
  const config::integration* i = current ? current->find(id) : nullptr;
  if (i == nullptr || i->base_url.empty()) return std::nullopt;
  std::lock_guard lock(state_->mutex);
  const auto* f = state_->builder.find(id);
  if (f == nullptr || !same_endpoint(f->settings, *i)) return std::nullopt;
  endpoint_failure out{f->error, f->since, {}};
  if (const auto e = state_->clients.find(id); e != state_->clients.end())
    out.delivering_to = e->second.settings.base_url;
  return out;
}

}  // namespace pagohub::integration
