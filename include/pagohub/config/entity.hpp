#pragma once
// The entity registry: creditor entities, their IBANs and services (ARCHITECTURE §7).
// Built from configuration files, immutable once built, swapped whole on reload.
#include <pagohub/core/fiscal_code.hpp>
#include <pagohub/core/iban.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::config {

/// An account an entity is paid on ([[entity.iban]]).
struct iban_entry {
  core::iban value;
  bool postal = false;  ///< a Poste Italiane account (the IBAN has ABI 07601)
  std::string description{};
};

/// A service an entity collects for ([[entity.service]]).
struct service {
  std::string code{};  ///< unique within the entity
  std::string description{};
  /// "9/<tipoEnte 2><macroarea 2><tipoServizio 3><motivo 2>/" (DIGEST §5); the prefix is 6..9.
  std::string taxonomy{};
  std::vector<std::string> default_ibans{};  ///< IBANs (normalised) among the entity's own
  bool spontaneous = false;  ///< citizens may start a payment for it (paDemandPaymentNotice)
  /// VALID positions of this service become EXPIRED the day after their due date (GPD's
  /// switchToExpired): the Nodo is then told PAA_PAGAMENTO_SCADUTO. Default false: a notice
  /// stays payable after its due date, as most municipal charges do (late payment is allowed).
  bool expires_after_due_date = false;
  /// Spontaneous services: the 5-character idServizio of the Catalogo Servizi that
  /// paDemandPaymentNotice names; empty = not reachable by that primitive.
  std::string catalog_id{};
  /// Spontaneous services: the XSD (absolute path) that datiSpecificiServizio must conform to
  /// (DIGEST §1.4); empty = no payment on demand.
  std::string demand_schema{};
  /// Spontaneous services: the amount in cents of a position created on demand.
  std::int64_t demand_amount = 0;
  /// On-demand positions (docs/integration.md): the id of the [[integration]] asked with
  /// GET {base}/notices/{noticeNumber} when the Nodo verifies a notice of this service that is
  /// not stored (the entity's first service with a lookup answers for unknown notices) or whose
  /// amount is out of date; empty = never asked.
  std::string lookup{};
  /// The time the lookup may take, in milliseconds (the whole verify must stay under 1.5 s).
  std::int64_t lookup_budget_ms = 1200;
  /// When the lookup fails and a position is stored, answer with the stored one instead of
  /// PAA_SYSTEM_ERROR.
  bool lookup_fallback_stored = false;

  /// The taxonomy without prefix and slashes ("0101002IM"): the form paGetPayment's
  /// transferCategory carries, while datiSpecificiRiscossione (RPT) carries `taxonomy` whole.
  /// Empty if `taxonomy` is not set.
  std::string_view transfer_category() const noexcept {
    return taxonomy.size() >= 11 ? std::string_view(taxonomy).substr(2, 9) : std::string_view{};
  }
};

/// A creditor entity ([[entity]]).
struct entity {
  core::entity_fiscal_code fiscal_code;
  std::string name{};
  int segregation_code = -1;  ///< 0..99 with aux digit 3, else -1
  int aux_digit = 3;          ///< 3, or 0 for old single-point configurations
  int application_code = -1;  ///< 0..99 with aux digit 0, else -1
  std::string station_id{};   ///< defaults to [daemon] station_id
  std::string broker_id{};    ///< defaults to [daemon] broker_id
  std::vector<iban_entry> ibans{};
  std::string postal_account{};  ///< 12 digits, or empty
  bool enabled = true;
  std::vector<service> services{};

  /// The service with this code, or nullptr.
  const service* find_service(std::string_view code) const;
  /// The IBAN entry whose IBAN equals `iban_text` (normalised form), or nullptr.
  const iban_entry* find_iban(std::string_view iban_text) const;
};

/// An immutable set of entities indexed by fiscal code.
class entity_registry {
 public:
  entity_registry() = default;
  /// Throws std::invalid_argument if two entities share a fiscal code.
  explicit entity_registry(std::vector<entity> entities);

  /// The entity with this fiscal code (11 digits), or nullptr.
  const entity* find(std::string_view fiscal_code) const;
  /// All entities, in configuration order.
  const std::vector<entity>& all() const noexcept { return entities_; }
  std::size_t size() const noexcept { return entities_.size(); }

 private:
  std::vector<entity> entities_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

/// Holds the current registry; readers take a snapshot with get(), a reload replaces it with
/// set(). Thread-safe.
class registry_holder {
 public:
  explicit registry_holder(std::shared_ptr<const entity_registry> registry);

  std::shared_ptr<const entity_registry> get() const;
  void set(std::shared_ptr<const entity_registry> registry);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const entity_registry> registry_;
};

}  // namespace pagohub::config
