#pragma once
// On-demand positions, as the SOAP endpoints see them: a source consulted after the store when
// the Nodo asks about a notice (issue 6, "servizi pre-calcolati tramite connessioni ai
// back-office"). The endpoints know only this interface; the integration side implements it
// (a lookup at the entity's back-office) and app/ wires it into endpoint_deps::on_demand.
#include <pagohub/config/entity.hpp>
#include <pagohub/positions/model.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <expected>
#include <optional>
#include <string>

namespace pagohub::pap {

/// Why a notice could not be resolved: the description of the PAA_SYSTEM_ERROR sent to the Nodo
/// (no secret, no back-office body).
struct on_demand_failure {
  std::string description;
};

/// A source of positions the gateway does not hold (or holds out of date).
class notice_resolver {
 public:
  virtual ~notice_resolver() = default;

  /// Called by paVerifyPaymentNotice, paGetPayment(V2) and paaVerificaRPT with what the store
  /// holds for `notice_number` of `entity` (nullopt, or the position with that option only).
  /// Returns the position to answer with: `stored` itself when no lookup applies (the common
  /// case, decided without I/O), the position just fetched and stored, nullopt when the
  /// back-office does not know the notice either; or a failure (PAA_SYSTEM_ERROR). Must
  /// complete within the service's lookup budget, counted from `received` (when the Nodo's
  /// request arrived; the epoch: from the call).
  virtual boost::asio::awaitable<
      std::expected<std::optional<positions::position>, on_demand_failure>>
  resolve(const config::entity& entity, std::string notice_number,
          std::optional<positions::position> stored, std::string request_id,
          std::chrono::steady_clock::time_point received) = 0;
};

}  // namespace pagohub::pap
