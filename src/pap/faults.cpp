#include <pagohub/pap/faults.hpp>

#include <pagohub/core/text.hpp>

#include <array>

namespace pagohub::pap {

namespace {

struct row {
  paa_fault fault;
  std::string_view code;
  std::string_view text;
};

// Codes: DIGEST §0; texts: short and stable, the detail goes in the description.
constexpr std::array<row, 18> table{{
    {paa_fault::sintassi_extraxsd, "PAA_SINTASSI_EXTRAXSD", "Errore di sintassi extra XSD."},
    {paa_fault::sintassi_xsd, "PAA_SINTASSI_XSD", "Errore di sintassi XSD."},
    {paa_fault::id_dominio_errato, "PAA_ID_DOMINIO_ERRATO", "Identificativo dominio non valido."},
    {paa_fault::id_intermediario_errato, "PAA_ID_INTERMEDIARIO_ERRATO",
     "Identificativo intermediario non valido."},
    {paa_fault::stazione_int_errata, "PAA_STAZIONE_INT_ERRATA",
     "Stazione intermediario non valida."},
    {paa_fault::pagamento_sconosciuto, "PAA_PAGAMENTO_SCONOSCIUTO", "Pagamento sconosciuto."},
    {paa_fault::pagamento_scaduto, "PAA_PAGAMENTO_SCADUTO", "Pagamento scaduto."},
    {paa_fault::pagamento_annullato, "PAA_PAGAMENTO_ANNULLATO", "Pagamento annullato."},
    {paa_fault::pagamento_duplicato, "PAA_PAGAMENTO_DUPLICATO", "Pagamento duplicato."},
    {paa_fault::pagamento_in_corso, "PAA_PAGAMENTO_IN_CORSO", "Pagamento in corso."},
    {paa_fault::attiva_rpt_importo_non_valido, "PAA_ATTIVA_RPT_IMPORTO_NON_VALIDO",
     "L'importo del pagamento in attesa non e' congruente."},
    {paa_fault::rpt_sconosciuta, "PAA_RPT_SCONOSCIUTA", "RPT sconosciuta."},
    {paa_fault::rt_sconosciuta, "PAA_RT_SCONOSCIUTA", "RT sconosciuta."},
    {paa_fault::rt_duplicata, "PAA_RT_DUPLICATA", "RT duplicata."},
    {paa_fault::receipt_duplicata, "PAA_RECEIPT_DUPLICATA", "Ricevuta duplicata."},
    {paa_fault::er_duplicata, "PAA_ER_DUPLICATA", "ER duplicata."},
    {paa_fault::semantica, "PAA_SEMANTICA", "Errore semantico."},
    {paa_fault::system_error, "PAA_SYSTEM_ERROR", "Errore generico."},
}};

const row& find(paa_fault f) noexcept {
  for (const auto& r : table)
    if (r.fault == f) return r;
  return table.back();
}

}  // namespace

std::string_view code_of(paa_fault f) noexcept {
  return find(f).code;
}
std::string_view text_of(paa_fault f) noexcept {
  return find(f).text;
}

fault_bean make_fault(paa_fault f, std::string id, std::string description) {
  // faultBean.description is free text for people; keep it to one line and a sane size.
  for (char& c : description)
    if (c == '\n' || c == '\r') c = ' ';
  return {std::string(code_of(f)), std::string(text_of(f)), std::move(id),
          core::utf8_cut(description, 1000)};
}

paa_fault fault_for(core::errc code) noexcept {
  switch (code) {
    case core::errc::invalid_input:
    case core::errc::conflict:
    case core::errc::unauthorized:
    case core::errc::forbidden:
    case core::errc::too_large:
      return paa_fault::semantica;
    case core::errc::not_found:
      return paa_fault::pagamento_sconosciuto;
    case core::errc::rate_limited:
    case core::errc::unavailable:
    case core::errc::timeout:
    case core::errc::internal:
      return paa_fault::system_error;
  }
  return paa_fault::system_error;
}

}  // namespace pagohub::pap
