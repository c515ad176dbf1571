#pragma once
// Who may call, and for whom: the configuration checks every primitive makes after the syntax
// and before any business rule, in the order of DIGEST §8.1 / SANP2 §10.3: idBrokerPA, then
// idStation, then whether this station serves idPA.
#include <pagohub/config/entity.hpp>
#include <pagohub/config/pap_settings.hpp>
#include <pagohub/pap/messages.hpp>

#include <expected>
#include <string>
#include <string_view>

namespace pagohub::pap {

/// The broker and station the daemon answers as ([daemon] broker_id / station_id); entities may
/// name their own, which count too.
struct station_identity {
  std::string broker_id;
  std::string station_id;
};

/// What the Nodo's call is for: a receipt reports a payment already made.
enum class call_purpose { payment, receipt };

/// The entity `entity_fc` when broker, station and entity all check out; else the fault:
/// PAA_ID_INTERMEDIARIO_ERRATO, PAA_STAZIONE_INT_ERRATA or PAA_ID_DOMINIO_ERRATO (an unknown,
/// disabled or elsewhere-served entity). A disabled entity's receipts are taken all the same
/// (`call_purpose::receipt`): disabling stops new payments, but one whose token was issued
/// before is money paid, and a receipt refused is lost (DIGEST §1.3). The fault's id is
/// `entity_fc` as received.
std::expected<const config::entity*, fault_bean> check_station(
    const config::entity_registry& registry, const station_identity& self,
    std::string_view broker_id, std::string_view station_id, std::string_view entity_fc,
    call_purpose purpose = call_purpose::payment);

/// The caller's credentials per [pap]: the mTLS subject against allowed_client_subjects, the
/// shared secret header. An empty string when allowed, else why not (for the log; the caller
/// gets a generic answer).
std::string check_caller(const config::pap_settings& settings, std::string_view client_subject,
                         std::string_view secret_header_value);

}  // namespace pagohub::pap
