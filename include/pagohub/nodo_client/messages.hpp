#pragma once
// The PA->Nodo primitives pagohubd calls (DIGEST §1.5, §2.2), as plain structs: the codec turns
// them into SOAP envelopes with the Nodo-side gSOAP bindings and reads the answers back; the
// client carries them over HTTP(S). No gSOAP or Beast type leaks out of here.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::nodo_client {

/// Who calls: the station and its broker, and the station's password (old-model primitives).
struct station_credentials {
  std::string broker_id;
  std::string station_id;
  std::string password;  ///< stPassword, never logged
};

/// A faultBean (DIGEST §0) the Nodo answered with esito KO.
struct nodo_fault {
  std::string code;  ///< "PPT_RPT_DUPLICATA", "PPT_SYSTEM_ERROR", ...
  std::string text;  ///< faultString
  std::string id;    ///< issuer, normally "NodoDeiPagamentiSPC"
  std::string description;
  std::optional<int> serial;
  std::string original_code, original_text, original_description;
};

/// The operations, for routing to a service URL and for journal events.
enum class operation {
  nodo_invia_rpt,
  nodo_chiedi_copia_rt,
  nodo_invia_richiesta_storno,
  nodo_chiedi_informativa_psp,
  nodo_chiedi_elenco_flussi_rendicontazione,
  nodo_chiedi_flusso_rendicontazione,
};

/// The SOAP operation name ("nodoInviaRPT"), also the SOAPAction.
std::string_view name_of(operation op) noexcept;

/// Which configured service answers `op`.
enum class service { nodo_per_pa, node_for_pa };
service service_of(operation op) noexcept;

// --- NodoPerPa (DIGEST §2.2) ---

/// nodoInviaRPT: header intestazionePPT (dominio, IUV, CCP), body with the PSP chosen at
/// paaAttivaRPT and the RPT (PagInf_RPT_RT_6_2_0.xsd) sent as base64.
struct invia_rpt_request {
  std::string entity_fc;
  std::string iuv;
  std::string ccp;
  std::string psp_id;
  std::string psp_broker_id;
  std::string channel_id;
  std::string rpt_xml;  ///< the RPT document itself; the codec encodes it
  /// The station and broker the entity is served by, when they are not the client's own (an
  /// entity with a station_id of its own): the header names the station the PSP's
  /// paaAttivaRPT came through. Empty: the client's.
  std::string station_id{};
  std::string broker_id{};
};

struct invia_rpt_response {
  std::string esito;  ///< "OK" / "KO"
  std::optional<nodo_fault> fault;
  std::optional<int> redirect;
  std::optional<std::string> url;
};

/// nodoChiediCopiaRT: a copy of the RT of (dominio, IUV, CCP).
struct chiedi_copia_rt_request {
  std::string entity_fc, iuv, ccp;
};
struct chiedi_copia_rt_response {
  std::optional<nodo_fault> fault;
  std::optional<std::string> rt_xml;  ///< decoded from base64; absent when not found
};

/// nodoInviaRichiestaStorno: a storno request (RR, RR_ER_1_0_0.xsd) for (dominio, IUV, CCP).
struct invia_richiesta_storno_request {
  std::string entity_fc, iuv, ccp;
  std::string rr_xml;
};
struct esito_response {
  std::string esito;
  std::optional<nodo_fault> fault;
};

// --- nodeForPa (DIGEST §1.5) ---

struct elenco_flussi_request {
  std::optional<std::string> entity_fc;  ///< identificativoDominio
  std::optional<std::string> psp_id;     ///< identificativoPSP
};
struct flow_ref {
  std::string flow_id;    ///< identificativoFlusso
  std::string date_time;  ///< dataOraFlusso, as sent
};
struct elenco_flussi_response {
  std::optional<nodo_fault> fault;
  int total = 0;
  std::vector<flow_ref> flows;
};

struct flusso_request {
  std::optional<std::string> entity_fc;
  std::optional<std::string> psp_id;
  std::string flow_id;
};
struct flusso_response {
  std::optional<nodo_fault> fault;
  std::optional<std::string> flow_xml;  ///< the FlussoRiversamento, decoded from base64
};

}  // namespace pagohub::nodo_client
