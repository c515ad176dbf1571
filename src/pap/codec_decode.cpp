// SOAP request -> pap messages (codec.hpp).
#include <pagohub/nodo/soap_context.hpp>
#include <pagohub/nodo/xml_guard.hpp>

#include "codec.hpp"
#include "operations.hpp"
#include "soapH.h"

namespace pagohub::pap {

namespace {

std::optional<std::string> opt(const std::string* p) {
  return p != nullptr ? std::optional<std::string>(*p) : std::nullopt;
}

std::string bytes(const xsd__base64Binary& b) {
  return b.__ptr != nullptr && b.__size > 0 ? std::string(reinterpret_cast<const char*>(b.__ptr),
                                                          static_cast<std::size_t>(b.__size))
                                            : std::string{};
}

metadata meta_of(const common__ctMetadata* m) {
  metadata out;
  if (m == nullptr) return out;
  for (const auto* e : m->mapEntry)
    if (e != nullptr) out.emplace_back(e->key, e->value);
  return out;
}

subject subject_of(const pafn__ctSubject* s) {
  subject out;
  if (s == nullptr) return out;
  if (s->uniqueIdentifier != nullptr) {
    out.type =
        s->uniqueIdentifier->entityUniqueIdentifierType == pafn__stEntityUniqueIdentifierType::G
            ? "G"
            : "F";
    out.value = s->uniqueIdentifier->entityUniqueIdentifierValue;
  }
  out.full_name = s->fullName;
  out.street_name = opt(s->streetName);
  out.civic_number = opt(s->civicNumber);
  out.postal_code = opt(s->postalCode);
  out.city = opt(s->city);
  out.state_province_region = opt(s->stateProvinceRegion);
  out.country = opt(s->country);
  out.email = opt(s->e_mail);
  return out;
}

station_ids ids_of(const std::string& pa, const std::string& broker, const std::string& station) {
  return {pa, broker, station};
}

// The fields ctReceipt and ctReceiptV2 share.
template <class R>
receipt receipt_common(const R& in) {
  receipt r;
  r.receipt_id = in.receiptId;
  r.notice_number = in.noticeNumber;
  r.fiscal_code = in.fiscalCode;
  r.outcome = in.outcome == common__stOutcome::OK ? "OK" : "KO";
  r.creditor_reference_id = in.creditorReferenceId;
  r.payment_amount = in.paymentAmount;
  r.description = in.description;
  r.company_name = in.companyName;
  r.office_name = opt(in.officeName);
  r.debtor = subject_of(in.debtor);
  r.id_psp = in.idPSP;
  r.psp_fiscal_code = opt(in.pspFiscalCode);
  r.psp_partita_iva = opt(in.pspPartitaIVA);
  r.psp_company_name = in.PSPCompanyName;
  r.id_channel = in.idChannel;
  r.channel_description = in.channelDescription;
  if (in.payer != nullptr) r.payer = subject_of(in.payer);
  r.payment_method = opt(in.paymentMethod);
  r.fee = opt(in.fee);
  r.payment_date_time = opt(in.paymentDateTime);
  r.application_date = opt(in.applicationDate);
  r.transfer_date = opt(in.transferDate);
  r.meta = meta_of(in.metadata);
  r.stand_in = in.standIn != nullptr && *in.standIn;
  return r;
}

receipt receipt_v1(const pafn__ctReceipt& in) {
  receipt r = receipt_common(in);
  if (in.transferList != nullptr) {
    for (const auto* t : in.transferList->transfer) {
      if (t == nullptr) continue;
      r.transfers.push_back({static_cast<int>(t->idTransfer), t->transferAmount, t->fiscalCodePA,
                             std::nullopt, t->IBAN, false, t->remittanceInformation,
                             t->transferCategory, meta_of(t->metadata)});
    }
  }
  return r;
}

receipt receipt_v2(const pafn__ctReceiptV2& in) {
  receipt r = receipt_common(in);
  r.payment_note = opt(in.paymentNote);
  r.primary_ci_incurred_fee = opt(in.primaryCiIncurredFee);
  r.id_bundle = opt(in.idBundle);
  r.id_ci_bundle = opt(in.idCiBundle);
  if (in.transferList != nullptr) {
    for (const auto* t : in.transferList->transfer) {
      if (t == nullptr) continue;
      receipt_transfer out{static_cast<int>(t->idTransfer),
                           t->transferAmount,
                           t->fiscalCodePA,
                           opt(t->companyName),
                           std::nullopt,
                           false,
                           t->remittanceInformation,
                           t->transferCategory,
                           meta_of(t->metadata)};
      if (t->__union_ctTransferPAReceiptV2 == SOAP_UNION__pafn__union_ctTransferPAReceiptV2_IBAN &&
          t->union_ctTransferPAReceiptV2.IBAN != nullptr) {
        out.iban = *t->union_ctTransferPAReceiptV2.IBAN;
      } else {
        out.mbd_attachment = true;
      }
      r.transfers.push_back(std::move(out));
    }
  }
  return r;
}

ppt_header header_of(struct soap* s) {
  ppt_header h;
  if (s->header == nullptr || s->header->ppthead__intestazionePPT == nullptr) return h;
  const auto& in = *s->header->ppthead__intestazionePPT;
  return {in.identificativoIntermediarioPA, in.identificativoStazioneIntermediarioPA,
          in.identificativoDominio, in.identificativoUnivocoVersamento, in.codiceContestoPagamento};
}

// Reads the body element of `op` into its message. nullopt with s->error set on failure.
std::optional<request_body> read_body(struct soap* s, operation op) {
  const char* tag = info_of(op).request_element.data();
  switch (op) {
    case operation::pa_verify_payment_notice: {
      pafn__paVerifyPaymentNoticeReq in;
      in.soap_default(s);
      if (in.soap_get(s, tag, nullptr) == nullptr || in.qrCode == nullptr) return std::nullopt;
      return verify_request{ids_of(in.idPA, in.idBrokerPA, in.idStation), in.qrCode->fiscalCode,
                            in.qrCode->noticeNumber};
    }
    case operation::pa_get_payment:
    case operation::pa_get_payment_v2: {
      // The V1 and V2 requests have the same shape (DIGEST §1.2).
      auto read = [&](auto& in) -> std::optional<request_body> {
        in.soap_default(s);
        if (in.soap_get(s, tag, nullptr) == nullptr || in.qrCode == nullptr) return std::nullopt;
        get_payment_request r{ids_of(in.idPA, in.idBrokerPA, in.idStation),
                              in.qrCode->fiscalCode,
                              in.qrCode->noticeNumber,
                              opt(in.amount),
                              opt(in.paymentNote),
                              std::nullopt,
                              opt(in.dueDate),
                              op == operation::pa_get_payment_v2};
        if (in.transferType != nullptr)
          r.transfer_type = *in.transferType == pafn__stTransferType::POSTAL ? "POSTAL" : "PAGOPA";
        return r;
      };
      if (op == operation::pa_get_payment) {
        pafn__paGetPaymentReq in;
        return read(in);
      }
      pafn__paGetPaymentV2Request in;
      return read(in);
    }
    case operation::pa_send_rt: {
      pafn__paSendRTReq in;
      in.soap_default(s);
      if (in.soap_get(s, tag, nullptr) == nullptr || in.receipt == nullptr) return std::nullopt;
      return send_rt_request{ids_of(in.idPA, in.idBrokerPA, in.idStation), receipt_v1(*in.receipt),
                             false};
    }
    case operation::pa_send_rt_v2: {
      pafn__paSendRTV2Request in;
      in.soap_default(s);
      if (in.soap_get(s, tag, nullptr) == nullptr || in.receipt == nullptr) return std::nullopt;
      return send_rt_request{ids_of(in.idPA, in.idBrokerPA, in.idStation), receipt_v2(*in.receipt),
                             true};
    }
    case operation::pa_demand_payment_notice: {
      pafn__paDemandPaymentNoticeRequest in;
      in.soap_default(s);
      if (in.soap_get(s, tag, nullptr) == nullptr) return std::nullopt;
      return demand_request{ids_of(in.idPA, in.idBrokerPA, in.idStation), in.idServizio,
                            in.idSoggettoServizio, bytes(in.datiSpecificiServizioRequest)};
    }
    case operation::paa_verifica_rpt: {
      ppt__paaVerificaRPT in;
      in.soap_default(s);
      if (in.soap_get(s, tag, nullptr) == nullptr) return std::nullopt;
      return verifica_rpt_request{header_of(s), in.identificativoPSP};
    }
    case operation::paa_attiva_rpt: {
      ppt__paaAttivaRPT in;
      in.soap_default(s);
      if (in.soap_get(s, tag, nullptr) == nullptr || in.datiPagamentoPSP == nullptr)
        return std::nullopt;
      const auto& d = *in.datiPagamentoPSP;
      return attiva_rpt_request{header_of(s),
                                in.identificativoPSP,
                                d.importoSingoloVersamento,
                                opt(d.ibanAppoggio),
                                opt(d.bicAppoggio),
                                opt(d.ibanAddebito),
                                opt(d.bicAddebito),
                                in.identificativoIntermediarioPSP,
                                in.identificativoCanalePSP};
    }
    case operation::paa_invia_rt: {
      ppt__paaInviaRT in;
      in.soap_default(s);
      if (in.soap_get(s, tag, nullptr) == nullptr) return std::nullopt;
      return invia_rt_request{header_of(s), in.tipoFirma, bytes(in.rt)};
    }
    case operation::paa_chiedi_numero_avviso: {
      ppt__paaChiediNumeroAvviso in;
      in.soap_default(s);
      if (in.soap_get(s, tag, nullptr) == nullptr) return std::nullopt;
      return chiedi_numero_avviso_request{header_of(s), in.identificativoPSP,
                                          bytes(in.datiSpecificiServizio)};
    }
    case operation::paa_invia_richiesta_revoca: {
      ppt__paaInviaRichiestaRevoca in;
      in.soap_default(s);
      if (in.soap_get(s, tag, nullptr) == nullptr) return std::nullopt;
      return refund_request{{},
                            {},
                            in.identificativoDominio,
                            in.identificativoUnivocoVersamento,
                            in.codiceContestoPagamento};
    }
    case operation::paa_invia_esito_storno: {
      ppt__paaInviaEsitoStorno in;
      in.soap_default(s);
      if (in.soap_get(s, tag, nullptr) == nullptr) return std::nullopt;
      return refund_request{in.identificativoIntermediarioPA,
                            in.identificativoStazioneIntermediarioPA, in.identificativoDominio,
                            in.identificativoUnivocoVersamento, in.codiceContestoPagamento};
    }
  }
  return std::nullopt;
}

}  // namespace

std::expected<inbound, decode_failure> decode_request(std::string_view xml,
                                                      std::string_view content_type,
                                                      unsigned max_depth) {
  using kind = decode_failure::kind;
  if (auto g = nodo::guard_xml(xml, content_type); !g) {
    const auto what =
        g.what == nodo::xml_guard_result::verdict::soap12 ? kind::version_mismatch : kind::syntax;
    return std::unexpected(decode_failure{what, std::nullopt, g.reason});
  }
  nodo::soap_lease lease(nodo::vocabulary::pa_side, {max_depth});
  struct soap* s = lease.get();
  nodo::view_istream in(xml);
  if (nodo::read_to_body(s, in) != SOAP_OK) {
    return std::unexpected(decode_failure{kind::syntax, std::nullopt,
                                          "malformed SOAP envelope: " + lease.error_text()});
  }
  // The body element: matched by namespace URI and name, whatever prefix the sender chose.
  std::optional<operation> op;
  for (const auto& i : all_operations()) {
    if (soap_match_tag(s, s->tag, i.request_element.data()) == SOAP_OK) {
      op = i.op;
      break;
    }
  }
  if (!op) {
    std::string_view tag = s->tag;
    const auto colon = tag.find(':');
    const std::string_view local = colon == std::string_view::npos ? tag : tag.substr(colon + 1);
    if (auto named = operation_of_element(local)) {
      // The right name in the wrong namespace (DIGEST §0: the wrapper is qualified).
      return std::unexpected(
          decode_failure{kind::syntax, named,
                         "element " + std::string(local) + " is not in the namespace of the WSDL"});
    }
    return std::unexpected(decode_failure{kind::unknown_operation, std::nullopt,
                                          "the body is not a request of this service"});
  }
  auto body = read_body(s, *op);
  if (!body || nodo::finish_read(s) != SOAP_OK) {
    if (s->error == SOAP_OK) s->error = SOAP_OCCURS;
    return std::unexpected(decode_failure{kind::syntax, op, lease.error_text()});
  }
  return inbound{*op, *std::move(body)};
}

}  // namespace pagohub::pap
