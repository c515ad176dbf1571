#include <pagohub/config/integration.hpp>

#include <stdexcept>
#include <utility>

namespace pagohub::config {

namespace {
std::string route_key(std::string_view entity_fc, std::string_view application) {
  std::string k(entity_fc);
  k += '\x1f';
  k += application;
  return k;
}
}  // namespace

std::string_view to_string(integration_mode m) noexcept {
  switch (m) {
    case integration_mode::push:
      return "push";
    case integration_mode::pull:
      return "pull";
    case integration_mode::file:
      return "file";
  }
  return "push";
}

std::string_view to_string(integration_auth a) noexcept {
  switch (a) {
    case integration_auth::none:
      return "none";
    case integration_auth::api_key:
      return "api_key";
    case integration_auth::basic:
      return "basic";
    case integration_auth::oauth2:
      return "oauth2";
    case integration_auth::mtls:
      return "mtls";
  }
  return "none";
}

integration_registry::integration_registry(std::vector<integration> items)
    : items_(std::move(items)) {
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (!by_id_.emplace(items_[i].id, i).second) {
      throw std::invalid_argument("duplicate integration " + items_[i].id);
    }
    for (const auto& fc : items_[i].entities) {
      if (!routes_.emplace(route_key(fc, items_[i].application), i).second) {
        throw std::invalid_argument("two integrations route entity " + fc + " application '" +
                                    items_[i].application + "'");
      }
    }
  }
}

const integration* integration_registry::find(std::string_view id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &items_[it->second];
}

const integration* integration_registry::route(std::string_view entity_fc,
                                               std::string_view application_id) const {
  if (!application_id.empty()) {
    const auto it = routes_.find(route_key(entity_fc, application_id));
    if (it != routes_.end()) return &items_[it->second];
  }
  const auto it = routes_.find(route_key(entity_fc, ""));
  return it == routes_.end() ? nullptr : &items_[it->second];
}

integration_holder::integration_holder(std::shared_ptr<const integration_registry> registry)
    : configured_(std::move(registry)), effective_(configured_) {}

std::shared_ptr<const integration_registry> integration_holder::get() const {
  const std::lock_guard lock(mutex_);
  return effective_;
}

std::shared_ptr<const integration_registry> integration_holder::configured() const {
  const std::lock_guard lock(mutex_);
  return configured_;
}

void integration_holder::set(std::shared_ptr<const integration_registry> registry) {
  std::shared_ptr<const integration_registry> old_configured, old_effective;
  {
    const std::lock_guard lock(mutex_);
    old_configured = std::exchange(configured_, std::move(registry));
    old_effective = effective_;
    publish_locked();
  }
}

void integration_holder::set_overrides(override_map overrides) {
  std::shared_ptr<const integration_registry> old_effective;
  {
    const std::lock_guard lock(mutex_);
    // Polled every few seconds: an unchanged set must not build a new registry each time.
    if (overrides == overrides_) return;
    overrides_ = std::move(overrides);
    old_effective = effective_;
    publish_locked();
  }
}

integration_holder::override_map integration_holder::overrides() const {
  const std::lock_guard lock(mutex_);
  return overrides_;
}

std::map<std::string, std::string, std::less<>> integration_holder::ignored_overrides() const {
  const std::lock_guard lock(mutex_);
  return ignored_;
}

void integration_holder::publish_locked() {
  ignored_.clear();
  if (!configured_ || overrides_.empty()) {
    effective_ = configured_;
    return;
  }
  std::vector<integration> items;
  items.reserve(configured_->size());
  bool changed = false;
  for (const auto& i : configured_->all()) {
    const auto o = overrides_.find(i.id);
    if (o == overrides_.end() || o->second.empty()) {
      items.push_back(i);
      continue;
    }
    // Checked when the admin set it, but the configuration may have changed since (a reload):
    // an override that no longer fits is ignored rather than half applied.
    const auto problems = check_override(i, o->second, false);
    if (!problems.empty()) {
      ignored_[i.id] = problems.front().key + " " + problems.front().message;
      items.push_back(i);
      continue;
    }
    items.push_back(apply_override(i, o->second));
    changed = true;
  }
  // Ids, entities and applications are never overridden: the routes stay valid.
  effective_ =
      changed ? std::make_shared<const integration_registry>(std::move(items)) : configured_;
}
}  // namespace pagohub::config
