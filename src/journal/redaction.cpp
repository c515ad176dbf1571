#include <pagohub/journal/redaction.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace pagohub::journal {
namespace {

// Field names compared without case and separators: "api_key", "apiKey" and "API-KEY" are one.
std::string normalise(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (unsigned char c : name) {
    if (c == '_' || c == '-' || c == '.') continue;
    out.push_back(static_cast<char>(std::tolower(c)));
  }
  return out;
}

// Always masked, whatever the configuration says.
constexpr std::string_view secret_fields[] = {"password",
                                              "passwd",
                                              "pwd",
                                              "secret",
                                              "clientsecret",
                                              "token",
                                              "accesstoken",
                                              "refreshtoken",
                                              "idtoken",
                                              "apikey",
                                              "xapikey",
                                              "authorization",
                                              "proxyauthorization",
                                              "cookie",
                                              "setcookie",
                                              "privatekey",
                                              "passphrase",
                                              "subscriptionkey",
                                              "ocpapimsubscriptionkey"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string not_stored(std::string_view why, std::size_t bytes) {
  return "[" + std::to_string(bytes) + " bytes not stored: " + std::string(why) + "]";
}

bool mask_json(nlohmann::ordered_json& j, const redactor& r) {
  bool changed = false;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (r.masked(it.key())) {
        it.value() = std::string(redaction_mask);
        changed = true;
      } else {
        changed = mask_json(it.value(), r) || changed;
      }
    }
  } else if (j.is_array()) {
    for (auto& item : j) changed = mask_json(item, r) || changed;
  }
  return changed;
}

// The end of the tag starting at `lt` ('>' index), skipping quoted attribute values.
std::size_t tag_end(std::string_view s, std::size_t lt) {
  char quote = 0;
  for (std::size_t i = lt + 1; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

bool is_name_end(char c) {
  return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// A small scanner rather than a DOM: it never rejects a message for being odd, keeps the
// bytes it does not mask exactly as they were, and masks the whole content of an element
// (nested elements included) whose local name is listed.
std::optional<std::string> mask_xml(std::string_view s, const redactor& r) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  const auto copy_through = [&](std::size_t from, std::string_view terminator) -> bool {
    const auto end = s.find(terminator, from);
    if (end == std::string_view::npos) return false;
    out.append(s.substr(from, end + terminator.size() - from));
    i = end + terminator.size();
    return true;
  };
  while (i < s.size()) {
    const auto lt = s.find('<', i);
    if (lt == std::string_view::npos) {
      out.append(s.substr(i));
      break;
    }
    out.append(s.substr(i, lt - i));
    const auto rest = s.substr(lt);
    if (rest.starts_with("<!--")) {
      if (!copy_through(lt, "-->")) return std::nullopt;
      continue;
    }
    if (rest.starts_with("<![CDATA[")) {
      if (!copy_through(lt, "]]>")) return std::nullopt;
      continue;
    }
    const auto gt = tag_end(s, lt);
    if (gt == std::string_view::npos) return std::nullopt;
    out.append(s.substr(lt, gt - lt + 1));
    i = gt + 1;
    if (rest.starts_with("</") || rest.starts_with("<?") || rest.starts_with("<!")) continue;
    if (s[gt - 1] == '/') continue;  // <empty/>
    std::size_t name_end = lt + 1;
    while (name_end < gt && !is_name_end(s[name_end])) ++name_end;
    const auto qname = s.substr(lt + 1, name_end - lt - 1);
    const auto colon = qname.rfind(':');
    const auto local = colon == std::string_view::npos ? qname : qname.substr(colon + 1);
    if (!r.masked(local)) continue;
    // The matching end tag, counting nested elements of the same name.
    const std::string open = "<" + std::string(qname);
    const std::string close = "</" + std::string(qname);
    int depth = 1;
    std::size_t pos = i;
    std::size_t close_at = std::string_view::npos;
    while (depth > 0) {
      const auto next = s.find('<', pos);
      if (next == std::string_view::npos) return std::nullopt;
      const auto here = s.substr(next);
      if (here.starts_with(close) && next + close.size() < s.size() &&
          is_name_end(s[next + close.size()])) {
        if (--depth == 0) close_at = next;
        pos = next + close.size();
      } else if (here.starts_with(open) && next + open.size() < s.size() &&
                 is_name_end(s[next + open.size()])) {
        const auto g = tag_end(s, next);
        if (g == std::string_view::npos) return std::nullopt;
        if (s[g - 1] != '/') ++depth;
        pos = g + 1;
      } else {
        pos = next + 1;
      }
    }
    out.append(redaction_mask);
    i = close_at;
  }
  return out;
}

std::string mask_form(std::string_view s, const redactor& r) {
  std::string out;
  std::size_t i = 0;
  while (i <= s.size()) {
    auto amp = s.find('&', i);
    if (amp == std::string_view::npos) amp = s.size();
    const auto field = s.substr(i, amp - i);
    const auto eq = field.find('=');
    const auto name = field.substr(0, eq);
    if (!out.empty() || i > 0) out.push_back('&');
    if (eq != std::string_view::npos && r.masked(name)) {
      out.append(name);
      out.push_back('=');
      out.append(redaction_mask);
    } else {
      out.append(field);
    }
    i = amp + 1;
  }
  return out;
}

}  // namespace

redactor::redactor(const std::vector<std::string>& personal_data_fields) {
  for (auto f : secret_fields) masked_.insert(std::string(f));
  for (const auto& f : personal_data_fields) masked_.insert(normalise(f));
}

bool redactor::masked(std::string_view name) const {
  return masked_.contains(normalise(name));
}

std::string redactor::redact_headers(
    const std::vector<std::pair<std::string, std::string>>& headers) const {
  std::string out;
  for (const auto& [name, value] : headers) {
    out += name;
    out += ": ";
    if (masked(name)) {
      out += redaction_mask;
    } else {
      // One header per line: a value never spans lines in what is stored.
      for (char c : value) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
    }
    out += '\n';
  }
  return out;
}

std::string redactor::redact_body(std::string_view content_type, std::string_view body) const {
  if (body.empty()) return {};
  const std::string type = lower(content_type);
  if (type.find("json") != std::string::npos) {
    auto j = nlohmann::ordered_json::parse(body, nullptr, false);
    if (j.is_discarded())
      return not_stored("not valid JSON, so it could not be redacted", body.size());
    if (!mask_json(j, *this)) return std::string(body);
    return j.dump();
  }
  if (type.find("xml") != std::string::npos) {
    auto masked_xml = mask_xml(body, *this);
    if (!masked_xml) return not_stored("malformed XML, so it could not be redacted", body.size());
    return *std::move(masked_xml);
  }
  if (type.find("x-www-form-urlencoded") != std::string::npos) return mask_form(body, *this);
  return not_stored("content type '" + std::string(content_type) + "' cannot be redacted",
                    body.size());
}

}  // namespace pagohub::journal
