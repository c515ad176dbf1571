#include <pagohub/config/application.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace pagohub::config {

std::string_view to_string(application_role role) noexcept {
  switch (role) {
    case application_role::backoffice:
      return "backoffice";
    case application_role::operator_role:
      return "operator";
    case application_role::admin:
      return "admin";
  }
  return "backoffice";
}

bool application::grants_entity(std::string_view fiscal_code) const noexcept {
  return std::find(entities.begin(), entities.end(), fiscal_code) != entities.end();
}

bool application::grants_service(std::string_view code) const noexcept {
  return services.empty() || std::find(services.begin(), services.end(), code) != services.end();
}

application_registry::application_registry()
    : entities_(std::make_shared<const entity_registry>()) {}

application_registry::application_registry(std::vector<application> apps,
                                           std::shared_ptr<const entity_registry> entities)
    : apps_(std::move(apps)), entities_(std::move(entities)) {
  if (!entities_) throw std::invalid_argument("application registry without an entity registry");
  for (std::size_t i = 0; i < apps_.size(); ++i) {
    if (!by_id_.emplace(apps_[i].id, i).second) {
      throw std::invalid_argument("duplicate application " + apps_[i].id);
    }
    for (const auto& digest : apps_[i].key_hashes) {
      if (!by_digest_.emplace(digest, i).second) {
        throw std::invalid_argument("an API key hash is listed twice");
      }
    }
  }
}

const application* application_registry::find(std::string_view id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &apps_[it->second];
}

const application* application_registry::find_by_key_digest(std::string_view hex_digest) const {
  const auto it = by_digest_.find(hex_digest);
  return it == by_digest_.end() ? nullptr : &apps_[it->second];
}

application_holder::application_holder(std::shared_ptr<const application_registry> registry)
    : registry_(std::move(registry)) {}

std::shared_ptr<const application_registry> application_holder::get() const {
  const std::lock_guard lock(mutex_);
  return registry_;
}

void application_holder::set(std::shared_ptr<const application_registry> registry) {
  // As registry_holder::set: the old registry is released outside the lock.
  std::shared_ptr<const application_registry> old;
  {
    const std::lock_guard lock(mutex_);
    old = std::exchange(registry_, std::move(registry));
  }
}

}  // namespace pagohub::config
