#pragma once
// The PAA fault codes the station answers with, and when (DIGEST §0 "Which PAA code when";
// SANP2 §10.3). One table: code, faultString, and the domain error each one stands for.
#include <pagohub/core/error.hpp>
#include <pagohub/pap/messages.hpp>

#include <string>
#include <string_view>

namespace pagohub::pap {

enum class paa_fault {
  sintassi_extraxsd,        ///< the SOAP request fails the WSDL/XSD
  sintassi_xsd,             ///< an XML object inside a field (RT, service data) fails its XSD
  id_dominio_errato,        ///< idPA not served by this station
  id_intermediario_errato,  ///< idBrokerPA is not this broker
  stazione_int_errata,      ///< idStation is not this station
  pagamento_sconosciuto,    ///< no payable position for the notice
  pagamento_scaduto,
  pagamento_annullato,
  pagamento_duplicato,  ///< already paid
  pagamento_in_corso,   ///< old model only
  attiva_rpt_importo_non_valido,
  rpt_sconosciuta,
  rt_sconosciuta,
  rt_duplicata,
  receipt_duplicata,  ///< [IMPL] pagoPA's own EC; chosen by [pap] duplicate_receipt
  er_duplicata,
  semantica,  ///< any other functional check; the description says which
  system_error,
};

/// "PAA_SINTASSI_EXTRAXSD", ...
std::string_view code_of(paa_fault f) noexcept;
/// The short faultString for the code.
std::string_view text_of(paa_fault f) noexcept;

/// The fault bean: `id` is the entity's fiscal code (the broker's when the request named no
/// entity we know), `description` the detail (mandatory in practice for PAA_SEMANTICA).
fault_bean make_fault(paa_fault f, std::string id, std::string description);

/// The PAA code for a domain error that reached a SOAP adapter (the SOAP side of the one table
/// of ARCHITECTURE §6; http::status_for is the REST side).
paa_fault fault_for(core::errc code) noexcept;

}  // namespace pagohub::pap
