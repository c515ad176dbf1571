#pragma once
// The RPT (Richiesta di Pagamento Telematico, PagInf_RPT_RT_6_2_0.xsd, DIGEST §2.3) the station
// generates after paaAttivaRPT and pushes with nodoInviaRPT (DIGEST §2.1).
#include <pagohub/core/amount.hpp>
#include <pagohub/core/error.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::rpt_push {

/// soggettoPagatore (ctSoggettoPagatore).
struct rpt_payer {
  std::string type = "F";  ///< F natural person, G legal person
  std::string fiscal_code;
  std::string full_name;
  std::optional<std::string> street, civic_number, postal_code, city, province, country;
};

/// One datiSingoloVersamento: a transfer of the payment option.
struct rpt_transfer {
  core::amount_cents amount = 0;
  std::string iban;             ///< ibanAccredito; empty for a marca da bollo
  std::string remittance;       ///< causaleVersamento (<= 140)
  std::string collection_data;  ///< datiSpecificiRiscossione, "9/0101002IM/"
  std::optional<std::string> stamp_type, stamp_hash, stamp_province;
};

struct rpt_input {
  std::string entity_fc;
  std::string entity_name;  ///< denominazioneBeneficiario (<= 70, cut)
  std::string station_id;   ///< identificativoStazioneRichiedente
  std::string message_id;   ///< identificativoMessaggioRichiesta (<= 35, unique per day)
  std::chrono::system_clock::time_point created{};
  std::string iuv;
  std::string ccp;
  core::amount_cents amount = 0;  ///< importoTotaleDaVersare: the amount activated
  rpt_payer payer;
  std::vector<rpt_transfer> transfers;  ///< 1..5, adding up to `amount`
};

/// The RPT document (UTF-8, namespace-qualified, versioneOggetto 6.2.0). tipoVersamento is PO
/// ("pagamento attivato presso PSP": the payment started at the PSP with paaAttivaRPT).
std::string build_rpt_xml(const rpt_input& in);

/// Validates an RPT against the official schema (embedded contract): errc::invalid_input with
/// the first problem.
core::result<void> validate_rpt(std::string_view xml);

/// datiSpecificiRiscossione of a transfer's taxonomy: kept when already "tipo/codice"
/// (`[0129]/\S{3,138}`), otherwise "9/<taxonomy>" (SANP2 §5.3.1: 9 = the EC's own code).
std::string collection_data_of(std::string_view taxonomy);

}  // namespace pagohub::rpt_push
