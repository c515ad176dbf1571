#include "message_body.hpp"

#include <nlohmann/json.hpp>

namespace pagohub::integration::detail {

using nlohmann::ordered_json;

namespace {

// Appends `text` to `out`, each byte `keep` refuses as %XX (RFC 3986 §2.1).
template <class Keep>
void percent_encode(std::string& out, std::string_view text, Keep keep) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if (keep(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
}

}  // namespace

std::string header_key(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  percent_encode(out, key, [](unsigned char c) { return c > 0x20 && c < 0x7F && c != '%'; });
  return out;
}

std::string target_path(std::string_view kind, std::string_view key) {
  std::string out = kind == "receipt" ? "/receipts/" : "/events/";
  percent_encode(out, key, [](unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
  });
  return out;
}

namespace {

// A JSON object as nlohmann writes it compactly: "{...}" with nothing around.
bool is_object_text(const std::string& text) {
  return text.size() >= 2 && text.front() == '{' && text.back() == '}';
}

}  // namespace

std::string body_of(const claimed_message& m, const std::optional<std::string>& receipt_json) {
  const auto payload = ordered_json::parse(m.payload, nullptr, false);
  if (m.kind != "receipt") {
    ordered_json body = payload.is_object() ? payload : ordered_json::object();
    if (!body.contains("eventId")) body["eventId"] = m.key;
    if (!body.contains("type")) body["type"] = m.kind;
    if (!body.contains("entityFiscalCode")) body["entityFiscalCode"] = m.entity_fc;
    return body.dump();
  }
  // The routing facts the back-office needs besides the receipt (docs/api/bo-webhooks.yaml).
  ordered_json facts = {
      {"entityFiscalCode", m.entity_fc},
      {"positionExternalId",
       m.position_external_id ? ordered_json(*m.position_external_id) : ordered_json(nullptr)},
      {"applicationId", m.application_id ? ordered_json(*m.application_id) : ordered_json(nullptr)},
      {"serviceCode", m.service_code ? ordered_json(*m.service_code) : ordered_json(nullptr)},
  };
  if (payload.is_object()) {
    facts["applied"] = payload.value("applied", false);
    facts["anomaly"] = payload.contains("anomaly") ? payload["anomaly"] : ordered_json(nullptr);
  }
  if (receipt_json && is_object_text(*receipt_json)) {
    // The receipt's text as the REST API wrote it, with the facts appended as members: parsing
    // the receipt (transfers, payer, accounting entries) into a tree and writing it out again
    // cost more of a delivery's CPU than anything else it does. None of the facts' names is a
    // member of a receipt (tests/pg/integration/message_body_test.cpp).
    std::string body = *receipt_json;
    const std::string more = facts.dump();
    body.pop_back();
    if (body.size() > 1) body += ',';
    body.append(more, 1);
    return body;
  }
  // The receipts row is always there for a receipt message (same transaction); the payload
  // is the fallback that still carries the essentials.
  ordered_json body = payload.is_object() ? payload : ordered_json{{"receiptId", m.key}};
  for (auto& [name, value] : facts.items()) body[name] = std::move(value);
  return body.dump();
}

}  // namespace pagohub::integration::detail
