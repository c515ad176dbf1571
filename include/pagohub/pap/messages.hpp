#pragma once
// The messages pagoPA's Nodo exchanges with the station, as plain values. The codec (gSOAP,
// src/pap/codec_*.cpp) turns the SOAP bodies into these and back; the adapters work on these
// alone, so no gSOAP object outlives the thread's context lease (nodo/soap_context.hpp).
//
// Text that the schema types as decimal or date stays text here (exactly as received or to be
// sent); amounts the adapters compute are cents (core::amount_cents).
#include <pagohub/core/amount.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pagohub::pap {

/// The primitives the station implements (DIGEST §1, §2.1).
enum class operation {
  pa_verify_payment_notice,
  pa_get_payment,
  pa_get_payment_v2,
  pa_send_rt,
  pa_send_rt_v2,
  pa_demand_payment_notice,
  paa_verifica_rpt,
  paa_attiva_rpt,
  paa_invia_rt,
  paa_invia_richiesta_revoca,
  paa_invia_esito_storno,
  paa_chiedi_numero_avviso,
};

/// The operation's name: its SOAPAction and the journal's tipoEvento ("paVerifyPaymentNotice").
std::string_view name_of(operation op) noexcept;
/// The operation whose name (SOAPAction) is `name`, if any.
std::optional<operation> operation_named(std::string_view name) noexcept;
/// The operation whose request body element has this local name, if any.
std::optional<operation> operation_of_element(std::string_view local_name) noexcept;
/// True for the 2018 model (PaPerNodo*: esito and a double-wrapped response).
bool is_old_model(operation op) noexcept;

using metadata = std::vector<std::pair<std::string, std::string>>;

/// The three identifiers every current-model request starts with.
struct station_ids {
  std::string id_pa;
  std::string id_broker_pa;
  std::string id_station;
};

/// ctSubject (paForNode.xsd).
struct subject {
  std::string type;  ///< F or G
  std::string value;
  std::string full_name;
  std::optional<std::string> street_name, civic_number, postal_code, city, state_province_region,
      country, email;
};

// --- current model ------------------------------------------------------------------------

struct verify_request {
  station_ids ids;
  std::string fiscal_code;  ///< qrCode
  std::string notice_number;
};

struct get_payment_request {
  station_ids ids;
  std::string fiscal_code;
  std::string notice_number;
  std::optional<std::string> amount;
  std::optional<std::string> payment_note;
  std::optional<std::string> transfer_type;  ///< POSTAL or PAGOPA
  std::optional<std::string> due_date;
  bool v2 = false;
};

struct receipt_transfer {
  int id_transfer = 0;
  std::string amount;  ///< decimal text
  std::string fiscal_code_pa;
  std::optional<std::string> company_name;
  std::optional<std::string> iban;
  bool mbd_attachment = false;  ///< V2: a marca da bollo instead of an IBAN
  std::string remittance_information;
  std::string transfer_category;
  metadata meta;
};

/// ctReceipt / ctReceiptV2.
struct receipt {
  std::string receipt_id;
  std::string notice_number;
  std::string fiscal_code;
  std::string outcome;
  std::string creditor_reference_id;
  std::string payment_amount;
  std::string description;
  std::string company_name;
  std::optional<std::string> office_name;
  subject debtor;
  std::vector<receipt_transfer> transfers;
  std::string id_psp;
  std::optional<std::string> psp_fiscal_code, psp_partita_iva;
  std::string psp_company_name;
  std::string id_channel;
  std::string channel_description;
  std::optional<subject> payer;
  std::optional<std::string> payment_method, payment_note, fee, primary_ci_incurred_fee, id_bundle,
      id_ci_bundle, payment_date_time, application_date, transfer_date;
  metadata meta;
  bool stand_in = false;
};

struct send_rt_request {
  station_ids ids;
  receipt r;
  bool v2 = false;
};

struct demand_request {
  station_ids ids;
  std::string id_servizio;
  std::string id_soggetto_servizio;
  std::string service_data;  ///< datiSpecificiServizioRequest, decoded from base64
};

// --- 2018 model -----------------------------------------------------------------------------

/// intestazionePPT, the SOAP header of the old model.
struct ppt_header {
  std::string broker_id;   ///< identificativoIntermediarioPA
  std::string station_id;  ///< identificativoStazioneIntermediarioPA
  std::string entity_fc;   ///< identificativoDominio
  std::string iuv;         ///< identificativoUnivocoVersamento
  std::string ccp;         ///< codiceContestoPagamento
};

struct verifica_rpt_request {
  ppt_header header;
  std::string id_psp;
};

struct attiva_rpt_request {
  ppt_header header;
  std::string id_psp;
  std::string amount;  ///< datiPagamentoPSP.importoSingoloVersamento
  std::optional<std::string> iban_appoggio, bic_appoggio, iban_addebito, bic_addebito;
  std::string id_psp_broker;
  std::string id_psp_channel;
};

struct invia_rt_request {
  ppt_header header;
  std::string signature_type;  ///< tipoFirma
  std::string rt;              ///< the RT XML, decoded from base64
};

struct chiedi_numero_avviso_request {
  ppt_header header;  ///< only broker, station and entity
  std::string id_psp;
  std::string service_data;  ///< datiSpecificiServizio, decoded
};

/// paaInviaRichiestaRevoca and paaInviaEsitoStorno: only what the answer needs.
struct refund_request {
  std::string broker_id, station_id;  ///< empty for revoca (no such fields)
  std::string entity_fc, iuv, ccp;
};

/// A decoded request of any operation.
using request_body = std::variant<verify_request, get_payment_request, send_rt_request,
                                  demand_request, verifica_rpt_request, attiva_rpt_request,
                                  invia_rt_request, chiedi_numero_avviso_request, refund_request>;

struct inbound {
  operation op;
  request_body body;
};

// --- answers ------------------------------------------------------------------------------

/// faultBean / ctFaultBean (DIGEST §0).
struct fault_bean {
  std::string code;  ///< PAA_...
  std::string text;  ///< faultString
  std::string id;    ///< the entity's fiscal code (or the broker's when none is known)
  std::string description;
};

/// ctPaymentOptionDescriptionPA: the one option of a verify (or demand) answer.
struct option_description {
  core::amount_cents amount = 0;
  std::optional<std::string> due_date;
  std::optional<std::string> detail_description;
  bool all_ccp = false;
};

struct verify_response {
  std::optional<fault_bean> fault;
  std::optional<option_description> option;
  std::optional<std::string> payment_description, fiscal_code_pa, company_name, office_name;
};

struct stamp_request {
  std::string document_hash, stamp_type, province;
};

struct payment_transfer {
  int id_transfer = 1;
  core::amount_cents amount = 0;
  std::string fiscal_code_pa;
  std::optional<std::string> company_name;  ///< V2 only
  std::optional<std::string> iban;
  std::optional<stamp_request> stamp;  ///< V2 only, instead of the IBAN
  std::string remittance_information;
  std::string transfer_category;
  metadata meta;  ///< V2 only
};

/// ctPaymentPA / ctPaymentPAV2.
struct payment_data {
  std::string creditor_reference_id;
  core::amount_cents amount = 0;
  std::string due_date;
  std::string description;
  std::optional<std::string> company_name, office_name;
  subject debtor;
  std::vector<payment_transfer> transfers;
  metadata meta;
};

struct get_payment_response {
  std::optional<fault_bean> fault;
  std::optional<payment_data> data;
  bool v2 = false;
};

/// paSendRT(V2) answers carry only the outcome.
struct send_rt_response {
  std::optional<fault_bean> fault;
  bool v2 = false;
};

struct demand_response {
  std::optional<fault_bean> fault;
  std::optional<std::string> fiscal_code, notice_number;  ///< qrCode
  std::optional<option_description> option;
  std::optional<std::string> payment_description, fiscal_code_pa, company_name;
};

/// datiPagamentoPA of paaVerificaRPT / paaAttivaRPT / paaChiediNumeroAvviso.
struct dati_pagamento_pa {
  core::amount_cents amount = 0;
  std::string iban_accredito;
  std::string causale;  ///< causaleVersamento (format A, <= 140)
};

/// The answer of any old-model primitive: esito OK/KO with a fault, optional data.
struct old_model_response {
  std::optional<fault_bean> fault;
  std::optional<dati_pagamento_pa> data;
  /// paaChiediNumeroAvviso: numeroAvviso{auxDigit, applicationCode?, IUV}.
  std::optional<std::string> aux_digit, application_code, iuv;
};

}  // namespace pagohub::pap
