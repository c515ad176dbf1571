// PA->Nodo envelopes and answers (codec.hpp) with the Nodo-side gSOAP bindings (namespace
// nodo_soap). The gSOAP objects are locals: they live until the envelope is written, and the
// lease frees whatever gSOAP allocated while reading.
#include <pagohub/nodo/soap_context.hpp>
#include <pagohub/nodo/xml_guard.hpp>
#include <pagohub/nodo_client/codec.hpp>

#include <sstream>

#include "nodo_soapH.h"

namespace pagohub::nodo_client {

namespace ns = nodo_soap;

std::string_view name_of(operation op) noexcept {
  switch (op) {
    case operation::nodo_invia_rpt:
      return "nodoInviaRPT";
    case operation::nodo_chiedi_copia_rt:
      return "nodoChiediCopiaRT";
    case operation::nodo_invia_richiesta_storno:
      return "nodoInviaRichiestaStorno";
    case operation::nodo_chiedi_informativa_psp:
      return "nodoChiediInformativaPSP";
    case operation::nodo_chiedi_elenco_flussi_rendicontazione:
      return "nodoChiediElencoFlussiRendicontazione";
    case operation::nodo_chiedi_flusso_rendicontazione:
      return "nodoChiediFlussoRendicontazione";
  }
  return "unknown";
}

service service_of(operation op) noexcept {
  // DIGEST §1.5: the reporting flows moved to nodeForPa; the rest stays on NodoPerPa (§2.2).
  return op == operation::nodo_chiedi_elenco_flussi_rendicontazione ||
                 op == operation::nodo_chiedi_flusso_rendicontazione
             ? service::node_for_pa
             : service::nodo_per_pa;
}

namespace {

// Only the envelope, the body's and the header's namespaces: children are unqualified
// (DIGEST §0). nodeForPa shares the body namespace of NodoPerPa (nodeForPa.xsd).
const Namespace ppt_out[] = {
    {"SOAP-ENV", "http://schemas.xmlsoap.org/soap/envelope/", nullptr, nullptr},
    {"ppt", "http://ws.pagamenti.telematici.gov/", nullptr, nullptr},
    {"ppthead", "http://ws.pagamenti.telematici.gov/ppthead", nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr}};

ns::xsd__base64Binary binary_of(const std::string& bytes) {
  ns::xsd__base64Binary b;
  // gSOAP only reads through this pointer when serializing.
  b.__ptr = reinterpret_cast<unsigned char*>(const_cast<char*>(bytes.data()));
  b.__size = static_cast<int>(bytes.size());
  b.id = b.type = b.options = nullptr;
  return b;
}

std::optional<std::string> bytes_of(const ns::xsd__base64Binary* b) {
  if (b == nullptr) return std::nullopt;
  if (b->__ptr == nullptr || b->__size <= 0) return std::string{};
  return std::string(reinterpret_cast<const char*>(b->__ptr), static_cast<std::size_t>(b->__size));
}

std::string* opt_ptr(const std::optional<std::string>& v, std::string& storage) {
  if (!v) return nullptr;
  storage = *v;
  return &storage;
}

template <class T>
std::string write(const T& body, const char* tag,
                  const ns::_ppthead__intestazionePPT* head = nullptr) {
  nodo::soap_lease lease(nodo::vocabulary::nodo_side);
  struct soap* s = lease.get();
  std::ostringstream out;
  soap_set_namespaces(s, ppt_out);
  s->os = &out;
  s->mode = s->omode;
  s->encodingStyle = nullptr;  // document/literal
  s->header = nullptr;
  if (soap_begin_send(s) != SOAP_OK || soap_envelope_begin_out(s) != SOAP_OK) return {};
  if (head != nullptr) {
    // The Nodo-side bindings are generated without a SOAP_ENV__Header of their own (they live
    // in a C++ namespace beside the PA-side ones), so the header element is written here.
    s->part = SOAP_IN_HEADER;
    if (soap_element_begin_out(s, "SOAP-ENV:Header", 0, nullptr) != SOAP_OK ||
        head->soap_out(s, "ppthead:intestazionePPT", -1, "") != SOAP_OK ||
        soap_element_end_out(s, "SOAP-ENV:Header") != SOAP_OK)
      return {};
    s->part = SOAP_END_HEADER;
  }
  if (soap_body_begin_out(s) != SOAP_OK || body.soap_put(s, tag, "") != SOAP_OK ||
      soap_body_end_out(s) != SOAP_OK || soap_envelope_end_out(s) != SOAP_OK ||
      soap_end_send(s) != SOAP_OK) {
    return {};
  }
  return std::move(out).str();
}

std::optional<nodo_fault> fault_of(const ns::ppt__faultBean* f) {
  if (f == nullptr) return std::nullopt;
  nodo_fault out;
  out.code = f->faultCode;
  out.text = f->faultString;
  out.id = f->id;
  if (f->description != nullptr) out.description = *f->description;
  if (f->serial != nullptr) out.serial = *f->serial;
  if (f->originalFaultCode != nullptr) out.original_code = *f->originalFaultCode;
  if (f->originalFaultString != nullptr) out.original_text = *f->originalFaultString;
  if (f->originalDescription != nullptr) out.original_description = *f->originalDescription;
  return out;
}

// The text of <faultstring> in a SOAP Fault envelope (the Nodo answers one, HTTP 500, when it
// cannot read a request at all).
std::string soap_fault_text(std::string_view body) {
  const auto open = body.find("faultstring>");
  if (open == std::string_view::npos) return "SOAP Fault";
  const auto from = open + 12;
  const auto close = body.find('<', from);
  return std::string(body.substr(from, close == std::string_view::npos ? 0 : close - from));
}

// Reads the body element `tag` into `out` (a response of the nodo_soap bindings).
template <class T>
core::result<void> read(std::string_view body, const char* tag, T& out, struct soap*& ctx,
                        nodo::soap_lease& lease) {
  if (auto g = nodo::guard_xml(body); !g) return core::fail(core::errc::invalid_input, g.reason);
  ctx = lease.get();
  nodo::view_istream in(body);
  if (nodo::read_to_body(ctx, in) != SOAP_OK)
    return core::fail(core::errc::invalid_input, "malformed SOAP envelope: " + lease.error_text());
  if (soap_match_tag(ctx, ctx->tag, "SOAP-ENV:Fault") == SOAP_OK)
    return core::fail(core::errc::unavailable, "SOAP Fault: " + soap_fault_text(body));
  if (soap_match_tag(ctx, ctx->tag, tag) != SOAP_OK)
    return core::fail(core::errc::invalid_input,
                      std::string("expected ") + tag + ", got " + ctx->tag);
  out.soap_default(ctx);
  if (out.soap_get(ctx, tag, nullptr) == nullptr || nodo::finish_read(ctx) != SOAP_OK) {
    if (ctx->error == SOAP_OK) ctx->error = SOAP_OCCURS;
    return core::fail(core::errc::invalid_input, lease.error_text());
  }
  return {};
}

ns::_ppthead__intestazionePPT header_of(const station_credentials& who, const std::string& fc,
                                        const std::string& iuv, const std::string& ccp) {
  ns::_ppthead__intestazionePPT h;
  h.identificativoIntermediarioPA = who.broker_id;
  h.identificativoStazioneIntermediarioPA = who.station_id;
  h.identificativoDominio = fc;
  h.identificativoUnivocoVersamento = iuv;
  h.codiceContestoPagamento = ccp;
  h.SOAP_ENV__actor = nullptr;
  h.SOAP_ENV__mustUnderstand = nullptr;
  h.soap = nullptr;
  return h;
}

// Reads the answer element `tag` of `body` and maps it with `map`, while the lease keeps the
// gSOAP context that owns what the answer points to.
template <class Answer, class Map>
auto decode_answer(std::string_view body, const char* tag, Map map)
    -> core::result<std::invoke_result_t<Map, const Answer&>> {
  nodo::soap_lease lease(nodo::vocabulary::nodo_side);
  struct soap* s = nullptr;
  Answer r;
  if (auto ok = read(body, tag, r, s, lease); !ok) return std::unexpected(ok.error());
  return map(r);
}

}  // namespace

namespace {

// Every PA->Nodo request opens with the station's credentials (NodoPerPa.wsdl).
template <class Body>
Body with_credentials(const station_credentials& who) {
  Body b;
  b.soap_default(nullptr);
  b.identificativoIntermediarioPA = who.broker_id;
  b.identificativoStazioneIntermediarioPA = who.station_id;
  b.password = who.password;
  return b;
}

}  // namespace

std::string encode(const station_credentials& who, const invia_rpt_request& rq) {
  const auto head = header_of(who, rq.entity_fc, rq.iuv, rq.ccp);
  ns::ppt__nodoInviaRPT b;
  b.soap_default(nullptr);
  b.password = who.password;
  b.identificativoPSP = rq.psp_id;
  b.identificativoIntermediarioPSP = rq.psp_broker_id;
  b.identificativoCanale = rq.channel_id;
  // tipoFirma is deprecated: "" (no signature) is what the Nodo expects (DIGEST §2.1).
  std::string tipo_firma;
  b.tipoFirma = &tipo_firma;
  b.rpt = binary_of(rq.rpt_xml);
  return write(b, "ppt:nodoInviaRPT", &head);
}

std::string encode(const station_credentials& who, const chiedi_copia_rt_request& rq) {
  auto b = with_credentials<ns::ppt__nodoChiediCopiaRT>(who);
  b.identificativoDominio = rq.entity_fc;
  b.identificativoUnivocoVersamento = rq.iuv;
  b.codiceContestoPagamento = rq.ccp;
  return write(b, "ppt:nodoChiediCopiaRT");
}

std::string encode(const station_credentials& who, const invia_richiesta_storno_request& rq) {
  auto b = with_credentials<ns::ppt__nodoInviaRichiestaStorno>(who);
  b.identificativoDominio = rq.entity_fc;
  b.identificativoUnivocoVersamento = rq.iuv;
  b.codiceContestoPagamento = rq.ccp;
  b.rr = binary_of(rq.rr_xml);
  return write(b, "ppt:nodoInviaRichiestaStorno");
}

std::string encode(const station_credentials& who, const elenco_flussi_request& rq) {
  auto b = with_credentials<ns::ppt__nodoChiediElencoFlussiRendicontazione>(who);
  std::string fc, psp;
  b.identificativoDominio = opt_ptr(rq.entity_fc, fc);
  b.identificativoPSP = opt_ptr(rq.psp_id, psp);
  return write(b, "ppt:nodoChiediElencoFlussiRendicontazione");
}

std::string encode(const station_credentials& who, const flusso_request& rq) {
  auto b = with_credentials<ns::ppt__nodoChiediFlussoRendicontazione>(who);
  std::string fc, psp;
  b.identificativoDominio = opt_ptr(rq.entity_fc, fc);
  b.identificativoPSP = opt_ptr(rq.psp_id, psp);
  b.identificativoFlusso = rq.flow_id;
  return write(b, "ppt:nodoChiediFlussoRendicontazione");
}

core::result<invia_rpt_response> decode_invia_rpt(std::string_view body) {
  return decode_answer<ns::ppt__nodoInviaRPTRisposta>(
      body, "ppt:nodoInviaRPTRisposta",
      [](const ns::ppt__nodoInviaRPTRisposta& r) -> invia_rpt_response {
        invia_rpt_response out;
        out.esito = r.esito;
        out.fault = fault_of(r.fault);
        if (r.redirect != nullptr) out.redirect = *r.redirect;
        if (r.url != nullptr) out.url = *r.url;
        return out;
      });
}

core::result<chiedi_copia_rt_response> decode_chiedi_copia_rt(std::string_view body) {
  return decode_answer<ns::ppt__nodoChiediCopiaRTRisposta>(
      body, "ppt:nodoChiediCopiaRTRisposta",
      [](const ns::ppt__nodoChiediCopiaRTRisposta& r) -> chiedi_copia_rt_response {
        return chiedi_copia_rt_response{fault_of(r.fault), bytes_of(r.rt)};
      });
}

core::result<esito_response> decode_invia_richiesta_storno(std::string_view body) {
  return decode_answer<ns::ppt__nodoInviaRichiestaStornoRisposta>(
      body, "ppt:nodoInviaRichiestaStornoRisposta",
      [](const ns::ppt__nodoInviaRichiestaStornoRisposta& r) -> esito_response {
        return esito_response{r.esito, fault_of(r.fault)};
      });
}

core::result<elenco_flussi_response> decode_elenco_flussi(std::string_view body) {
  return decode_answer<ns::ppt__nodoChiediElencoFlussiRendicontazioneRisposta>(
      body, "ppt:nodoChiediElencoFlussiRendicontazioneRisposta",
      [](const ns::ppt__nodoChiediElencoFlussiRendicontazioneRisposta& r)
          -> elenco_flussi_response {
        elenco_flussi_response out;
        out.fault = fault_of(r.fault);
        if (r.elencoFlussiRendicontazione != nullptr) {
          out.total = r.elencoFlussiRendicontazione->totRestituiti;
          for (const auto* f : r.elencoFlussiRendicontazione->idRendicontazione)
            if (f != nullptr) out.flows.push_back({f->identificativoFlusso, f->dataOraFlusso});
        }
        return out;
      });
}

core::result<flusso_response> decode_flusso(std::string_view body) {
  return decode_answer<ns::ppt__nodoChiediFlussoRendicontazioneRisposta>(
      body, "ppt:nodoChiediFlussoRendicontazioneRisposta",
      [](const ns::ppt__nodoChiediFlussoRendicontazioneRisposta& r) -> flusso_response {
        return flusso_response{fault_of(r.fault), bytes_of(r.xmlRendicontazione)};
      });
}

}  // namespace pagohub::nodo_client
