#include <pagohub/journal/redaction.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

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

// Always masked, whatever the configuration says: names that are secrets as they stand...
constexpr std::string_view secret_fields[] = {"pwd", "cookie", "setcookie", "subscriptionkey",
                                              "ocpapimsubscriptionkey"};

// ...and any name that contains one of these (normalised), whatever it is called around them:
// X-Auth-Token, sessionToken, apiSecret, client_secret, dbPassword, X-API-Key. A credential
// stored in clear in a journal kept for years is worse than a harmless field masked by mistake.
constexpr std::string_view secret_parts[] = {"token",  "secret",        "password",   "passwd",
                                             "apikey", "authorization", "privatekey", "passphrase"};

// Business names that contain a secret-ish word but are no credential, and that the journal
// exists to keep readable: the payment token is the new model's codiceContestoPagamento (DIGEST
// §7, docs/journal.md), the key of every cross-check with the Nodo and the PSP; a PSP's
// authorizationCode is the number printed on the payer's receipt. They are still masked when
// personal_data_fields lists them.
constexpr std::string_view business_fields[] = {"paymenttoken", "paymenttokens",
                                                "authorizationcode"};

bool secret_name(const std::string& normalised) {
  for (auto b : business_fields) {
    if (normalised == b) return false;
  }
  for (auto part : secret_parts) {
    if (normalised.find(part) != std::string::npos) return true;
  }
  return false;
}

// A form field's name as the application reads it: "+" is a space and %XX a byte, so that
// "client%5Fsecret" is matched as "client_secret". A malformed escape stays as written.
std::string form_decode(std::string_view s) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

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

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view local_name(std::string_view qname) {
  const auto colon = qname.rfind(':');
  return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
}

// A start tag (from '<' to '>'; its name ends at `name_end`) with the value of every masked
// attribute replaced: <debtor codiceFiscale="..."> hides what <codiceFiscale> would. Namespace
// declarations are left alone (a URI, and the prefix names no field). An attribute value
// without quotes is not XML: nothing says where it ends, so the body is treated as malformed.
std::optional<std::string> mask_attributes(std::string_view tag, std::size_t name_end,
                                           const redactor& r) {
  std::string out(tag.substr(0, name_end));
  std::size_t i = name_end;
  while (i < tag.size()) {
    const char c = tag[i];
    if (is_space(c) || c == '/' || c == '>') {
      out.push_back(c);
      ++i;
      continue;
    }
    std::size_t n = i;
    while (n < tag.size() && tag[n] != '=' && !is_space(tag[n]) && tag[n] != '/' && tag[n] != '>') {
      ++n;
    }
    const auto name = tag.substr(i, n - i);
    out.append(name);
    i = n;
    std::size_t k = i;
    while (k < tag.size() && is_space(tag[k])) ++k;
    if (k >= tag.size() || tag[k] != '=') continue;
    ++k;
    while (k < tag.size() && is_space(tag[k])) ++k;
    if (k >= tag.size() || (tag[k] != '"' && tag[k] != '\'')) return std::nullopt;
    const char quote = tag[k];
    const auto close = tag.find(quote, k + 1);
    if (close == std::string_view::npos) return std::nullopt;
    out.append(tag.substr(i, k + 1 - i));  // the spaces, '=' and the opening quote
    const bool ns = name == "xmlns" || name.starts_with("xmlns:");
    if (!ns && r.masked(local_name(name))) {
      out.append(redaction_mask);
    } else {
      out.append(tag.substr(k + 1, close - k - 1));
    }
    out.push_back(quote);
    i = close + 1;
  }
  return out;
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
    i = gt + 1;
    if (rest.starts_with("</") || rest.starts_with("<?") || rest.starts_with("<!")) {
      out.append(s.substr(lt, gt - lt + 1));
      continue;
    }
    std::size_t name_end = lt + 1;
    while (name_end < gt && !is_name_end(s[name_end])) ++name_end;
    auto start_tag = mask_attributes(s.substr(lt, gt - lt + 1), name_end - lt, r);
    if (!start_tag) return std::nullopt;
    out.append(*start_tag);
    if (s[gt - 1] == '/') continue;  // <empty/>
    const auto qname = s.substr(lt + 1, name_end - lt - 1);
    if (!r.masked(local_name(qname))) continue;
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

// The scanners below keep what they do not recognise, so a body must first look like what its
// label says: a client's label is not evidence (curl -d sends JSON as a form), and JSON or text
// kept whole under a wrong label would keep the very fields redaction exists to hide.
std::string_view trimmed(std::string_view s) {
  if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

bool looks_like_xml(std::string_view s) {
  const auto t = trimmed(s);
  return !t.empty() && t.front() == '<' && t.back() == '>';
}

// application/x-www-form-urlencoded as browsers and HTTP clients write it (WHATWG URL
// "application/x-www-form-urlencoded serializer"): every other byte is percent-encoded, and
// spaces are '+'.
bool looks_like_form(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("*-._~+%=&").find(c) != std::string_view::npos;
  });
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
    if (eq != std::string_view::npos && r.masked(form_decode(name))) {
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
  const std::string n = normalise(name);
  return masked_.contains(n) || secret_name(n);
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
  const bool labelled_json = type.find("json") != std::string::npos;
  const auto t = trimmed(body);
  // JSON is redacted as JSON whatever its label says.
  if (labelled_json || (!t.empty() && (t.front() == '{' || t.front() == '['))) {
    auto j = nlohmann::ordered_json::parse(body, nullptr, false);
    if (!j.is_discarded()) {
      if (!mask_json(j, *this)) return std::string(body);
      return j.dump();
    }
    if (labelled_json)
      return not_stored("not valid JSON, so it could not be redacted", body.size());
  }
  if (type.find("xml") != std::string::npos) {
    auto masked_xml = looks_like_xml(body) ? mask_xml(body, *this) : std::nullopt;
    if (!masked_xml) return not_stored("malformed XML, so it could not be redacted", body.size());
    return *std::move(masked_xml);
  }
  if (type.find("x-www-form-urlencoded") != std::string::npos) {
    if (!looks_like_form(body))
      return not_stored("not a URL-encoded form, so it could not be redacted", body.size());
    return mask_form(body, *this);
  }
  return not_stored("content type '" + std::string(content_type) + "' cannot be redacted",
                    body.size());
}

}  // namespace pagohub::journal
