#pragma once
// The admins' runtime overrides of integration settings in the database (integration_overrides,
// docs/integration.md "Changing settings at runtime"). Every change writes its INTERNO journal
// event, with the actor and the old and new values, in the same transaction (ARCHITECTURE §5).
#include <pagohub/config/integration.hpp>
#include <pagohub/journal/event.hpp>

#include <pqxx/transaction_base>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagohub::integration {

/// One integration's override row. A reset leaves an empty override with a higher version.
struct stored_override {
  std::string integration_id;
  config::integration_override settings;
  /// Grows with every change, reset included; 0 = never overridden. The ETag of the settings.
  std::int64_t version = 0;
  std::optional<std::chrono::system_clock::time_point> changed_at;
  std::string changed_by;  ///< "kind:id"
  std::string reason;
};

/// Every stored row (empty ones included), by id.
std::vector<stored_override> load_overrides(pqxx::transaction_base& w);

/// The overrides to merge (empty ones left out), as integration_holder takes them.
config::integration_holder::override_map override_map(const std::vector<stored_override>& rows);

/// Shorthand: override_map(load_overrides(w)).
config::integration_holder::override_map load_override_map(pqxx::transaction_base& w);

/// Takes the integration's change lock until the end of the transaction (so two admins' changes
/// and their If-Match checks are serialized) and returns its row; version 0 when it has none.
stored_override lock_override(pqxx::transaction_base& w, const std::string& integration_id);

/// Stores `next` as the integration's whole override (empty = back to the configuration),
/// version + 1, and journals integrationSettingsChanged (integrationSettingsReset when `next` is
/// empty) with `old` and `next`. `old` is what lock_override() returned in this transaction;
/// `next` must have passed config::check_override(). Returns the new row.
stored_override write_override(pqxx::transaction_base& w, const stored_override& old,
                               const config::integration_override& next, const journal::actor& by,
                               const std::string& reason,
                               std::chrono::system_clock::time_point now);

}  // namespace pagohub::integration
