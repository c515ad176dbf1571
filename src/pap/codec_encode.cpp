// pap messages -> SOAP response (codec.hpp). The gSOAP objects are locals of each function:
// they live until the envelope is written, and the lease frees whatever gSOAP allocated.
#include <pagohub/nodo/soap_context.hpp>
#include <pagohub/nodo/xsd_validator.hpp>

#include <deque>

#include "codec.hpp"
#include "operations.hpp"
#include "soapH.h"

namespace pagohub::pap {

namespace {

// Only the envelope and the wrapper's namespace: children are unqualified (DIGEST §0).
const Namespace pafn_out[] = {
    {"SOAP-ENV", "http://schemas.xmlsoap.org/soap/envelope/", nullptr, nullptr},
    {"pafn", "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd", nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr}};
const Namespace ppt_out[] = {
    {"SOAP-ENV", "http://schemas.xmlsoap.org/soap/envelope/", nullptr, nullptr},
    {"ppt", "http://ws.pagamenti.telematici.gov/", nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr}};

// Stable storage for optional strings and nested objects referred to by pointer.
struct arena {
  std::deque<std::string> strings;
  std::deque<common__ctMapEntry> entries;
  std::deque<common__ctMetadata> metas;
  std::deque<pafn__ctSubject> subjects;
  std::deque<pafn__ctEntityUniqueIdentifier> ids;

  std::string* str(const std::optional<std::string>& v) {
    return v ? &strings.emplace_back(*v) : nullptr;
  }
  std::string* str(std::string v) { return &strings.emplace_back(std::move(v)); }

  common__ctMetadata* meta(const metadata& m) {
    if (m.empty()) return nullptr;
    auto& out = metas.emplace_back();
    for (const auto& [k, v] : m) {
      auto& e = entries.emplace_back();
      e.key = k;
      e.value = v;
      out.mapEntry.push_back(&e);
    }
    return &out;
  }

  pafn__ctSubject* subject_of(const subject& s) {
    auto& id = ids.emplace_back();
    id.entityUniqueIdentifierType = s.type == "G" ? pafn__stEntityUniqueIdentifierType::G
                                                  : pafn__stEntityUniqueIdentifierType::F;
    id.entityUniqueIdentifierValue = s.value;
    auto& out = subjects.emplace_back();
    out.uniqueIdentifier = &id;
    out.fullName = s.full_name;
    out.streetName = str(s.street_name);
    out.civicNumber = str(s.civic_number);
    out.postalCode = str(s.postal_code);
    out.city = str(s.city);
    out.stateProvinceRegion = str(s.state_province_region);
    out.country = str(s.country);
    out.e_mail = str(s.email);
    return &out;
  }
};

// ctResponse's outcome and fault (current model).
void set_outcome(common__ctResponse& r, const std::optional<fault_bean>& f, common__ctFaultBean& fb,
                 arena& a) {
  r.outcome = f ? common__stOutcome::KO : common__stOutcome::OK;
  if (!f) return;
  fb.faultCode = f->code;
  fb.faultString = f->text;
  fb.id = f->id;
  if (!f->description.empty()) fb.description = a.str(f->description);
  r.fault = &fb;
}

void fill_option(pafn__ctPaymentOptionDescriptionPA& o, const option_description& d, arena& a) {
  o.amount = core::format_decimal_amount(d.amount);
  o.options = pafn__stAmountOption::EQ;  // DIGEST §1.1: EQ is the only value in use
  o.dueDate = a.str(d.due_date);
  o.detailDescription = a.str(d.detail_description);
  o.allCCP = d.all_ccp;
}

template <class T>
std::string write(const T& body, operation op, const Namespace* ns) {
  nodo::soap_lease lease;
  return nodo::write_message(lease.get(), body, info_of(op).response_element.data(), ns);
}

// The old model's answers: the wrapper element holds one child of the same name (DIGEST §2),
// whose type extends risposta{fault?} with esito and, for some, more.
void set_risposta(ppt__risposta& r, const std::optional<fault_bean>& f, ppt__faultBean& fb,
                  arena& a) {
  if (!f) return;
  fb.faultCode = f->code;
  fb.faultString = f->text;
  fb.id = f->id;
  if (!f->description.empty()) fb.description = a.str(f->description);
  r.fault = &fb;
}

template <class D>
void fill_dati(D& d, const dati_pagamento_pa& in, arena& a, int causale_selector) {
  d.importoSingoloVersamento = core::format_decimal_amount(in.amount);
  d.ibanAccredito = in.iban_accredito;
  d.__union_paaTipoDatiPagamentoPA = causale_selector;
  d.union_paaTipoDatiPagamentoPA.causaleVersamento = a.str(in.causale);
}

}  // namespace

std::string encode(const verify_response& r) {
  arena a;
  pafn__paVerifyPaymentNoticeRes out;
  common__ctFaultBean fb;
  set_outcome(out, r.fault, fb, a);
  pafn__ctPaymentOptionsDescriptionListPA list;
  pafn__ctPaymentOptionDescriptionPA option;
  if (r.option) {
    fill_option(option, *r.option, a);
    list.paymentOptionDescription = &option;
    out.paymentList = &list;
  }
  out.paymentDescription = a.str(r.payment_description);
  out.fiscalCodePA = a.str(r.fiscal_code_pa);
  out.companyName = a.str(r.company_name);
  out.officeName = a.str(r.office_name);
  return write(out, operation::pa_verify_payment_notice, pafn_out);
}

std::string encode(const get_payment_response& r) {
  arena a;
  common__ctFaultBean fb;
  if (!r.v2) {
    pafn__paGetPaymentRes out;
    set_outcome(out, r.fault, fb, a);
    pafn__ctPaymentPA data;
    pafn__ctTransferListPA list;
    std::deque<pafn__ctTransferPA> transfers;
    if (r.data) {
      const auto& d = *r.data;
      data.creditorReferenceId = d.creditor_reference_id;
      data.paymentAmount = core::format_decimal_amount(d.amount);
      data.dueDate = d.due_date;
      data.description = d.description;
      data.companyName = a.str(d.company_name);
      data.officeName = a.str(d.office_name);
      data.debtor = a.subject_of(d.debtor);
      for (const auto& t : d.transfers) {
        auto& x = transfers.emplace_back();
        x.idTransfer = static_cast<pafn__stIdTransfer>(t.id_transfer);
        x.transferAmount = core::format_decimal_amount(t.amount);
        x.fiscalCodePA = t.fiscal_code_pa;
        x.IBAN = t.iban.value_or("");
        x.remittanceInformation = t.remittance_information;
        x.transferCategory = t.transfer_category;
        list.transfer.push_back(&x);
      }
      data.transferList = &list;
      data.metadata = a.meta(d.meta);
      out.data = &data;
    }
    return write(out, operation::pa_get_payment, pafn_out);
  }
  pafn__paGetPaymentV2Response out;
  set_outcome(out, r.fault, fb, a);
  pafn__ctPaymentPAV2 data;
  pafn__ctTransferListPAV2 list;
  std::deque<pafn__ctTransferPAV2> transfers;
  std::deque<common__ctRichiestaMarcaDaBollo> stamps;
  if (r.data) {
    const auto& d = *r.data;
    data.creditorReferenceId = d.creditor_reference_id;
    data.paymentAmount = core::format_decimal_amount(d.amount);
    data.dueDate = d.due_date;
    data.description = d.description;
    data.companyName = d.company_name.value_or("");
    data.officeName = a.str(d.office_name);
    data.debtor = a.subject_of(d.debtor);
    for (const auto& t : d.transfers) {
      auto& x = transfers.emplace_back();
      x.idTransfer = static_cast<pafn__stIdTransfer>(t.id_transfer);
      x.transferAmount = core::format_decimal_amount(t.amount);
      x.fiscalCodePA = t.fiscal_code_pa;
      x.companyName = a.str(t.company_name);
      if (t.stamp) {
        // @e.bollo (DIGEST §1.2): the marca da bollo replaces the IBAN. The stored hash is
        // base64 text; gSOAP's base64Binary wants the bytes it encodes.
        auto& st = stamps.emplace_back();
        std::string* raw = a.str(nodo::base64_decode(t.stamp->document_hash).value_or(""));
        st.hashDocumento.__ptr = reinterpret_cast<unsigned char*>(raw->data());
        st.hashDocumento.__size = static_cast<int>(raw->size());
        st.tipoBollo = common__stTipoBolloDigitale::_01;
        st.provinciaResidenza = t.stamp->province;
        x.__union_ctTransferPAV2 = SOAP_UNION__pafn__union_ctTransferPAV2_richiestaMarcaDaBollo;
        x.union_ctTransferPAV2.richiestaMarcaDaBollo = &st;
      } else {
        x.__union_ctTransferPAV2 = SOAP_UNION__pafn__union_ctTransferPAV2_IBAN;
        x.union_ctTransferPAV2.IBAN = a.str(t.iban.value_or(""));
      }
      x.remittanceInformation = t.remittance_information;
      x.transferCategory = t.transfer_category;
      x.metadata = a.meta(t.meta);
      list.transfer.push_back(&x);
    }
    data.transferList = &list;
    data.metadata = a.meta(d.meta);
    out.data = &data;
  }
  return write(out, operation::pa_get_payment_v2, pafn_out);
}

std::string encode(const send_rt_response& r) {
  arena a;
  common__ctFaultBean fb;
  if (r.v2) {
    pafn__paSendRTV2Response out;
    set_outcome(out, r.fault, fb, a);
    return write(out, operation::pa_send_rt_v2, pafn_out);
  }
  pafn__paSendRTRes out;
  set_outcome(out, r.fault, fb, a);
  return write(out, operation::pa_send_rt, pafn_out);
}

std::string encode(const demand_response& r) {
  arena a;
  pafn__paDemandPaymentNoticeResponse out;
  common__ctFaultBean fb;
  set_outcome(out, r.fault, fb, a);
  pafn__ctQrCode qr;
  if (r.fiscal_code && r.notice_number) {
    qr.fiscalCode = *r.fiscal_code;
    qr.noticeNumber = *r.notice_number;
    out.qrCode = &qr;
  }
  pafn__ctPaymentOptionsDescriptionListPA list;
  pafn__ctPaymentOptionDescriptionPA option;
  if (r.option) {
    fill_option(option, *r.option, a);
    list.paymentOptionDescription = &option;
    out.paymentList = &list;
  }
  out.paymentDescription = a.str(r.payment_description);
  out.fiscalCodePA = a.str(r.fiscal_code_pa);
  out.companyName = a.str(r.company_name);
  return write(out, operation::pa_demand_payment_notice, pafn_out);
}

std::string encode(operation op, const old_model_response& r) {
  arena a;
  ppt__faultBean fb;
  const std::string esito = r.fault ? "KO" : "OK";
  // The answers that carry only esito and, on KO, the fault.
  const auto esito_only = [&]<class Inner, class Out>(Inner inner, Out out, Inner* Out::*member) {
    set_risposta(inner, r.fault, fb, a);
    inner.esito = esito;
    out.*member = &inner;
    return write(out, op, ppt_out);
  };
  // paaVerificaRPT and paaAttivaRPT: esito, the fault, and datiPagamentoPA when there are data.
  const auto with_dati = [&]<class Inner, class Out>(Inner inner, Out out, Inner* Out::*member) {
    set_risposta(inner, r.fault, fb, a);
    inner.esito = esito;
    ppt__paaTipoDatiPagamentoPA dati;
    if (r.data) {
      fill_dati(dati, *r.data, a, SOAP_UNION__ppt__union_paaTipoDatiPagamentoPA_causaleVersamento);
      inner.datiPagamentoPA = &dati;
    }
    out.*member = &inner;
    return write(out, op, ppt_out);
  };
  switch (op) {
    case operation::paa_verifica_rpt:
      return with_dati(ppt__esitoVerificaRPT{}, ppt__paaVerificaRPTRisposta{},
                       &ppt__paaVerificaRPTRisposta::paaVerificaRPTRisposta);
    case operation::paa_attiva_rpt:
      return with_dati(ppt__esitoAttivaRPT{}, ppt__paaAttivaRPTRisposta{},
                       &ppt__paaAttivaRPTRisposta::paaAttivaRPTRisposta);
    case operation::paa_invia_rt:
      return esito_only(ppt__esitoPaaInviaRT{}, ppt__paaInviaRTRisposta{},
                        &ppt__paaInviaRTRisposta::paaInviaRTRisposta);
    case operation::paa_invia_richiesta_revoca:
      return esito_only(ppt__tipoInviaRichiestaRevocaRisposta{},
                        ppt__paaInviaRichiestaRevocaRisposta{},
                        &ppt__paaInviaRichiestaRevocaRisposta::paaInviaRichiestaRevocaRisposta);
    case operation::paa_invia_esito_storno:
      return esito_only(ppt__tipoInviaEsitoStornoRisposta{}, ppt__paaInviaEsitoStornoRisposta{},
                        &ppt__paaInviaEsitoStornoRisposta::paaInviaEsitoStornoRisposta);
    case operation::paa_chiedi_numero_avviso: {
      // PaPerNodoRichiestaAvvisi has its own fault and dati types (ctFaultBean, ctDatiPagamentoPA).
      ppt__ctEsitoChiediNumeroAvviso inner;
      ppt__ctFaultBean cfb;
      if (r.fault) {
        cfb.faultCode = r.fault->code;
        cfb.faultString = r.fault->text;
        cfb.id = r.fault->id;
        if (!r.fault->description.empty()) cfb.description = a.str(r.fault->description);
        inner.fault = &cfb;
      }
      inner.esito = esito;
      ppt__ctNumeroAvviso numero;
      if (r.iuv) {
        numero.auxDigit = r.aux_digit.value_or("3");
        numero.applicationCode = a.str(r.application_code);
        numero.IUV = *r.iuv;
        inner.numeroAvviso = &numero;
      }
      ppt__ctDatiPagamentoPA dati;
      if (r.data) {
        dati.importoSingoloVersamento = core::format_decimal_amount(r.data->amount);
        dati.ibanAccredito = r.data->iban_accredito;
        dati.__union_ctDatiPagamentoPA = SOAP_UNION__ppt__union_ctDatiPagamentoPA_causaleVersamento;
        dati.union_ctDatiPagamentoPA.causaleVersamento = a.str(r.data->causale);
        inner.datiPagamentoPA = &dati;
      }
      ppt__paaChiediNumeroAvvisoRisposta out;
      out.paaChiediNumeroAvvisoRisposta = &inner;
      return write(out, op, ppt_out);
    }
    default:
      break;
  }
  return {};
}

std::string encode_fault(operation op, const fault_bean& fault) {
  switch (op) {
    case operation::pa_verify_payment_notice:
      return encode(verify_response{fault, {}, {}, {}, {}, {}});
    case operation::pa_get_payment:
      return encode(get_payment_response{fault, {}, false});
    case operation::pa_get_payment_v2:
      return encode(get_payment_response{fault, {}, true});
    case operation::pa_send_rt:
      return encode(send_rt_response{fault, false});
    case operation::pa_send_rt_v2:
      return encode(send_rt_response{fault, true});
    case operation::pa_demand_payment_notice:
      return encode(demand_response{fault, {}, {}, {}, {}, {}, {}});
    default:
      return encode(op, old_model_response{fault, {}, {}, {}, {}});
  }
}

}  // namespace pagohub::pap
