#include <pagohub/nodo/xml_guard.hpp>

#include <cctype>

namespace pagohub::nodo {

namespace {

bool starts_with_at(std::string_view s, std::size_t i, std::string_view what) {
  return s.size() >= i + what.size() && s.substr(i, what.size()) == what;
}

// True for the entity reference at s[i] == '&' being one XML defines without a DTD.
bool predefined_reference(std::string_view s, std::size_t i) {
  const std::size_t semi = s.find(';', i + 1);
  if (semi == std::string_view::npos || semi - i > 12) return false;
  const std::string_view name = s.substr(i + 1, semi - i - 1);
  if (name == "lt" || name == "gt" || name == "amp" || name == "quot" || name == "apos")
    return true;
  if (name.size() >= 2 && name[0] == '#') {
    if (name[1] == 'x') {
      if (name.size() < 3) return false;
      for (char c : name.substr(2))
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
      return true;
    }
    for (char c : name.substr(1))
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
  }
  return false;
}

}  // namespace

xml_guard_result guard_xml(std::string_view xml, std::string_view content_type) {
  using verdict = xml_guard_result::verdict;
  if (content_type.find("application/soap+xml") != std::string_view::npos)
    return {verdict::soap12, "SOAP 1.2 (application/soap+xml) is not supported: use SOAP 1.1"};
  for (std::size_t i = 0; i < xml.size(); ++i) {
    const char c = xml[i];
    if (c == '<' && i + 1 < xml.size() && xml[i + 1] == '!') {
      if (starts_with_at(xml, i, "<![CDATA[")) {
        const std::size_t end = xml.find("]]>", i + 9);
        if (end == std::string_view::npos) break;  // the parser reports the truncation
        i = end + 2;
        continue;
      }
      if (starts_with_at(xml, i, "<!--")) {
        const std::size_t end = xml.find("-->", i + 4);
        if (end == std::string_view::npos) break;
        i = end + 2;
        continue;
      }
      // <!DOCTYPE, <!ENTITY, <!ELEMENT...: any declaration means a DTD.
      return {verdict::dtd, "document type declarations (DTD) are not allowed"};
    }
    if (c == '&' && !predefined_reference(xml, i))
      return {verdict::entity,
              "only the predefined XML entities and character references are allowed"};
  }
  if (xml.find("http://www.w3.org/2003/05/soap-envelope") != std::string_view::npos)
    return {verdict::soap12, "SOAP 1.2 envelopes are not supported: use SOAP 1.1"};
  return {};
}

std::string soap_action_operation(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (const auto cut = v.find_last_of("/#"); cut != std::string_view::npos) v = v.substr(cut + 1);
  return std::string(v);
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string soap11_fault(std::string_view code, std::string_view text) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">"
      "<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:";
  out += code;
  out += "</faultcode><faultstring>";
  out += xml_escape(text);
  out += "</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>";
  return out;
}

}  // namespace pagohub::nodo
