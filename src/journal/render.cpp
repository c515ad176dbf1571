#include "render.hpp"

#include <pagohub/core/csv.hpp>

namespace pagohub::journal::detail {
namespace {

void put(nlohmann::ordered_json& j, const char* key, const std::optional<std::string>& v) {
  j[key] = v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

void put(nlohmann::ordered_json& j, const char* key, const std::optional<std::int64_t>& v) {
  j[key] = v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

// RFC 4180, and a leading apostrophe on a text a spreadsheet would run as a formula
// (core/csv.hpp): PSP ids, CCPs, fault texts and parametriSpecificiInterfaccia come from
// outside, and operators open the export in a spreadsheet.
void csv_field(std::string& out, std::string_view v) {
  core::append_csv_text(out, v);
}

void csv_field(std::string& out, const std::optional<std::string>& v) {
  if (v) csv_field(out, std::string_view(*v));
}

void csv_field(std::string& out, const std::optional<std::int64_t>& v) {
  if (v) out += std::to_string(*v);
}

}  // namespace

nlohmann::ordered_json to_json(const stored_event& e) {
  nlohmann::ordered_json j;
  j["id"] = e.id;
  j["dataOraEvento"] = format_time_us(e.time_us, 3);
  put(j, "identificativoDominio", e.entity_fc);
  put(j, "identificativoUnivocoVersamento", e.iuv);
  put(j, "codiceContestoPagamento", e.ccp);
  put(j, "identificativoPrestatoreServiziPagamento", e.psp_id);
  put(j, "tipoVersamento", e.payment_type);
  j["componente"] = e.component;
  j["categoriaEvento"] = e.category;
  j["tipoEvento"] = e.event_type;
  j["sottoTipoEvento"] = e.event_subtype;
  j["identificativoFruitore"] = e.caller_id;
  j["identificativoErogatore"] = e.provider_id;
  put(j, "identificativoStazioneIntermediarioPA", e.station_id);
  put(j, "canalePagamento", e.channel_id);
  put(j, "parametriSpecificiInterfaccia", e.interface_params);
  put(j, "esito", e.outcome);
  put(j, "requestId", e.request_id);
  put(j, "noticeNumber", e.notice_number);
  j["actor"] = {{"kind", e.actor_kind}, {"id", e.actor_id}};
  put(j, "durationMs", e.duration_ms);
  put(j, "httpStatus", e.http_status);
  put(j, "faultCode", e.fault_code);
  j["interface"] = e.interface;
  j["eventTime"] = format_time_us(e.time_us, 6);
  j["hasPayload"] = e.payload_sha256.has_value();
  return j;
}

std::string csv_header() {
  return "id,dataOraEvento,identificativoDominio,identificativoUnivocoVersamento,"
         "codiceContestoPagamento,identificativoPrestatoreServiziPagamento,tipoVersamento,"
         "componente,categoriaEvento,tipoEvento,sottoTipoEvento,identificativoFruitore,"
         "identificativoErogatore,identificativoStazioneIntermediarioPA,canalePagamento,"
         "parametriSpecificiInterfaccia,esito,requestId,noticeNumber,actorKind,actorId,"
         "durationMs,httpStatus,faultCode,interface\r\n";
}

void append_csv(std::string& out, const stored_event& e) {
  out += std::to_string(e.id);
  out += ',';
  out += format_time_us(e.time_us, 3);
  const auto next = [&out] { out += ','; };
  next();
  csv_field(out, e.entity_fc);
  next();
  csv_field(out, e.iuv);
  next();
  csv_field(out, e.ccp);
  next();
  csv_field(out, e.psp_id);
  next();
  csv_field(out, e.payment_type);
  next();
  csv_field(out, std::string_view(e.component));
  next();
  csv_field(out, std::string_view(e.category));
  next();
  csv_field(out, std::string_view(e.event_type));
  next();
  csv_field(out, std::string_view(e.event_subtype));
  next();
  csv_field(out, std::string_view(e.caller_id));
  next();
  csv_field(out, std::string_view(e.provider_id));
  next();
  csv_field(out, e.station_id);
  next();
  csv_field(out, e.channel_id);
  next();
  csv_field(out, e.interface_params);
  next();
  csv_field(out, e.outcome);
  next();
  csv_field(out, e.request_id);
  next();
  csv_field(out, e.notice_number);
  next();
  csv_field(out, std::string_view(e.actor_kind));
  next();
  csv_field(out, std::string_view(e.actor_id));
  next();
  csv_field(out, e.duration_ms);
  next();
  csv_field(out, e.http_status);
  next();
  csv_field(out, e.fault_code);
  next();
  csv_field(out, std::string_view(e.interface));
  out += "\r\n";
}

}  // namespace pagohub::journal::detail
