#include "message_body.hpp"

#include <nlohmann/json.hpp>

namespace pagohub::integration::detail {

using nlohmann::ordered_json;

std::string target_path(std::string_view kind, std::string_view key) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out = kind == "receipt" ? "/receipts/" : "/events/";
  for (unsigned char c : key) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string body_of(const claimed_message& m, const std::optional<std::string>& receipt_json) {
  const auto payload = ordered_json::parse(m.payload, nullptr, false);
  if (m.kind != "receipt") {
    ordered_json body = payload.is_object() ? payload : ordered_json::object();
    if (!body.contains("eventId")) body["eventId"] = m.key;
    if (!body.contains("type")) body["type"] = m.kind;
    if (!body.contains("entityFiscalCode")) body["entityFiscalCode"] = m.entity_fc;
    return body.dump();
  }
  ordered_json body;
  if (receipt_json) body = ordered_json::parse(*receipt_json, nullptr, false);
  if (!body.is_object()) {
    // The receipts row is always there for a receipt message (same transaction); the payload
    // is the fallback that still carries the essentials.
    body = payload.is_object() ? payload : ordered_json{{"receiptId", m.key}};
  }
  body["entityFiscalCode"] = m.entity_fc;
  body["positionExternalId"] =
      m.position_external_id ? ordered_json(*m.position_external_id) : ordered_json(nullptr);
  body["applicationId"] =
      m.application_id ? ordered_json(*m.application_id) : ordered_json(nullptr);
  body["serviceCode"] = m.service_code ? ordered_json(*m.service_code) : ordered_json(nullptr);
  if (payload.is_object()) {
    body["applied"] = payload.value("applied", false);
    body["anomaly"] = payload.contains("anomaly") ? payload["anomaly"] : ordered_json(nullptr);
  }
  return body.dump();
}

}  // namespace pagohub::integration::detail
