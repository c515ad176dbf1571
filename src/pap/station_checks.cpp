#include "station_checks.hpp"

#include <pagohub/pap/faults.hpp>

#include <openssl/crypto.h>

#include <algorithm>

namespace pagohub::pap {

std::expected<const config::entity*, fault_bean> check_station(
    const config::entity_registry& registry, const station_identity& self,
    std::string_view broker_id, std::string_view station_id, std::string_view entity_fc,
    call_purpose purpose) {
  const auto& all = registry.all();
  const std::string id(entity_fc);
  const bool broker_known =
      broker_id == self.broker_id ||
      std::any_of(all.begin(), all.end(), [&](const auto& e) { return e.broker_id == broker_id; });
  if (!broker_known || broker_id.empty()) {
    return std::unexpected(
        make_fault(paa_fault::id_intermediario_errato, id,
                   "idBrokerPA " + std::string(broker_id) + " is not the broker of this station"));
  }
  const bool station_known = (station_id == self.station_id && broker_id == self.broker_id) ||
                             std::any_of(all.begin(), all.end(), [&](const auto& e) {
                               return e.station_id == station_id && e.broker_id == broker_id;
                             });
  if (!station_known || station_id.empty()) {
    return std::unexpected(make_fault(paa_fault::stazione_int_errata, id,
                                      "idStation " + std::string(station_id) +
                                          " is not a station of broker " + std::string(broker_id)));
  }
  const config::entity* e = registry.find(entity_fc);
  const bool served = e != nullptr && (e->enabled || purpose == call_purpose::receipt);
  if (!served || e->station_id != station_id || e->broker_id != broker_id) {
    return std::unexpected(
        make_fault(paa_fault::id_dominio_errato, id,
                   "entity " + id + " is not served by station " + std::string(station_id)));
  }
  return e;
}

std::string check_caller(const config::pap_settings& settings, std::string_view client_subject,
                         std::string_view secret_header_value) {
  if (!settings.allowed_client_subjects.empty()) {
    const auto& allowed = settings.allowed_client_subjects;
    if (client_subject.empty()) return "no client certificate";
    if (std::find(allowed.begin(), allowed.end(), client_subject) == allowed.end())
      return "client certificate subject not allowed";
  }
  if (!settings.shared_secret.empty()) {
    const auto& secret = settings.shared_secret;
    // Constant time: the comparison must not tell how much of a guess was right.
    if (secret_header_value.size() != secret.size() ||
        CRYPTO_memcmp(secret_header_value.data(), secret.data(), secret.size()) != 0) {
      return "missing or wrong " + settings.shared_secret_header + " header";
    }
  }
  return {};
}

}  // namespace pagohub::pap
