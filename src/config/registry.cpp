#include <pagohub/config/entity.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace pagohub::config {

const service* entity::find_service(std::string_view code) const {
  const auto it = std::find_if(services.begin(), services.end(),
                               [&](const service& s) { return s.code == code; });
  return it == services.end() ? nullptr : &*it;
}

const iban_entry* entity::find_iban(std::string_view iban_text) const {
  const auto it = std::find_if(ibans.begin(), ibans.end(),
                               [&](const iban_entry& e) { return e.value.str() == iban_text; });
  return it == ibans.end() ? nullptr : &*it;
}

entity_registry::entity_registry(std::vector<entity> entities) : entities_(std::move(entities)) {
  for (std::size_t i = 0; i < entities_.size(); ++i) {
    if (!index_.emplace(entities_[i].fiscal_code.str(), i).second) {
      throw std::invalid_argument("duplicate entity " + entities_[i].fiscal_code.str());
    }
  }
}

const entity* entity_registry::find(std::string_view fiscal_code) const {
  const auto it = index_.find(fiscal_code);
  return it == index_.end() ? nullptr : &entities_[it->second];
}

registry_holder::registry_holder(std::shared_ptr<const entity_registry> registry)
    : registry_(std::move(registry)) {}

std::shared_ptr<const entity_registry> registry_holder::get() const {
  const std::lock_guard lock(mutex_);
  return registry_;
}

void registry_holder::set(std::shared_ptr<const entity_registry> registry) {
  // Swap under the lock, release the old registry outside it: the last reader may be the one
  // that frees it, and that should not happen while other readers wait.
  std::shared_ptr<const entity_registry> old;
  {
    const std::lock_guard lock(mutex_);
    old = std::exchange(registry_, std::move(registry));
  }
}

}  // namespace pagohub::config
