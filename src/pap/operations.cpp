// The operation table: names (SOAPAction, tipoEvento), request and response elements.
#include "operations.hpp"

#include <array>

namespace pagohub::pap {

namespace {

// DIGEST §0: SOAPAction = the operation name; §1 and §2.1 give the elements.
constexpr std::array<operation_info, 12> table{{
    {operation::pa_verify_payment_notice, "paVerifyPaymentNotice", "pafn:paVerifyPaymentNoticeReq",
     "pafn:paVerifyPaymentNoticeRes"},
    {operation::pa_get_payment, "paGetPayment", "pafn:paGetPaymentReq", "pafn:paGetPaymentRes"},
    {operation::pa_get_payment_v2, "paGetPaymentV2", "pafn:paGetPaymentV2Request",
     "pafn:paGetPaymentV2Response"},
    {operation::pa_send_rt, "paSendRT", "pafn:paSendRTReq", "pafn:paSendRTRes"},
    {operation::pa_send_rt_v2, "paSendRTV2", "pafn:paSendRTV2Request", "pafn:paSendRTV2Response"},
    {operation::pa_demand_payment_notice, "paDemandPaymentNotice",
     "pafn:paDemandPaymentNoticeRequest", "pafn:paDemandPaymentNoticeResponse"},
    {operation::paa_verifica_rpt, "paaVerificaRPT", "ppt:paaVerificaRPT",
     "ppt:paaVerificaRPTRisposta"},
    {operation::paa_attiva_rpt, "paaAttivaRPT", "ppt:paaAttivaRPT", "ppt:paaAttivaRPTRisposta"},
    {operation::paa_invia_rt, "paaInviaRT", "ppt:paaInviaRT", "ppt:paaInviaRTRisposta"},
    {operation::paa_invia_richiesta_revoca, "paaInviaRichiestaRevoca",
     "ppt:paaInviaRichiestaRevoca", "ppt:paaInviaRichiestaRevocaRisposta"},
    {operation::paa_invia_esito_storno, "paaInviaEsitoStorno", "ppt:paaInviaEsitoStorno",
     "ppt:paaInviaEsitoStornoRisposta"},
    {operation::paa_chiedi_numero_avviso, "paaChiediNumeroAvviso", "ppt:paaChiediNumeroAvviso",
     "ppt:paaChiediNumeroAvvisoRisposta"},
}};

std::string_view local_part(std::string_view qname) {
  const auto colon = qname.find(':');
  return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
}

}  // namespace

const operation_info& info_of(operation op) noexcept {
  for (const auto& i : table)
    if (i.op == op) return i;
  return table[0];
}

std::span<const operation_info> all_operations() noexcept {
  return table;
}

std::string_view name_of(operation op) noexcept {
  return info_of(op).name;
}

std::optional<operation> operation_named(std::string_view name) noexcept {
  for (const auto& i : table)
    if (i.name == name) return i.op;
  return std::nullopt;
}

std::optional<operation> operation_of_element(std::string_view local_name) noexcept {
  for (const auto& i : table)
    if (local_part(i.request_element) == local_name) return i.op;
  return std::nullopt;
}

bool is_old_model(operation op) noexcept {
  return local_part(info_of(op).request_element).starts_with("paa");
}

}  // namespace pagohub::pap
