#include <pagohub/nodo/xml_guard.hpp>

#include <cctype>
#include <optional>
#include <string>

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

// The encoding an XML declaration names, lower-cased; nullopt when it names none.
std::optional<std::string> declared_encoding(std::string_view decl) {
  const std::size_t at = decl.find("encoding");
  if (at == std::string_view::npos) return std::nullopt;
  const std::size_t open = decl.find_first_of("\"'", at);
  if (open == std::string_view::npos) return std::string();
  const std::size_t close = decl.find(decl[open], open + 1);
  std::string value(decl.substr(
      open + 1, close == std::string_view::npos ? std::string_view::npos : close - open - 1));
  for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return value;
}

// Encodings whose bytes below 0x80 are ASCII, so that the scan reads their markup as it is.
bool ascii_compatible(const std::string& enc) {
  return enc == "utf-8" || enc == "utf8" || enc == "us-ascii" || enc == "ascii" ||
         enc.starts_with("iso-8859-") || enc.starts_with("windows-125") || enc.starts_with("latin");
}

bool xml_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// The namespace the root element's own start tag binds to its prefix (where an envelope declares
// it), or nullopt: no root found, or its prefix bound elsewhere (then unbound: the parser
// refuses it). Only the root decides the SOAP version: the same URI in a receipt's text (a
// description, a payer's name) must not get the receipt refused.
std::optional<std::string_view> root_namespace(std::string_view xml) {
  std::size_t i = 0;
  for (;;) {
    i = xml.find('<', i);
    if (i == std::string_view::npos || i + 1 >= xml.size()) return std::nullopt;
    if (xml[i + 1] == '?' || starts_with_at(xml, i, "<!--")) {
      const std::string_view close = xml[i + 1] == '?' ? "?>" : "-->";
      i = xml.find(close, i + 2);
      if (i == std::string_view::npos) return std::nullopt;
      continue;
    }
    if (xml[i + 1] == '!') return std::nullopt;  // a DTD, refused before this is asked
    break;
  }
  std::size_t j = i + 1;
  while (j < xml.size() && !xml_space(xml[j]) && xml[j] != '>' && xml[j] != '/') ++j;
  const std::string_view name = xml.substr(i + 1, j - i - 1);
  const std::size_t colon = name.find(':');
  const std::string wanted =
      colon == std::string_view::npos ? "xmlns" : "xmlns:" + std::string(name.substr(0, colon));
  // The attributes: name = "value" or name = 'value', up to the tag's end.
  for (;;) {
    while (j < xml.size() && xml_space(xml[j])) ++j;
    if (j >= xml.size() || xml[j] == '>' || xml[j] == '/') return std::nullopt;
    const std::size_t name_at = j;
    while (j < xml.size() && !xml_space(xml[j]) && xml[j] != '=' && xml[j] != '>') ++j;
    const std::string_view attribute = xml.substr(name_at, j - name_at);
    while (j < xml.size() && xml_space(xml[j])) ++j;
    if (j >= xml.size() || xml[j] != '=') return std::nullopt;
    ++j;
    while (j < xml.size() && xml_space(xml[j])) ++j;
    if (j >= xml.size() || (xml[j] != '"' && xml[j] != '\'')) return std::nullopt;
    const std::size_t end = xml.find(xml[j], j + 1);
    if (end == std::string_view::npos) return std::nullopt;
    if (attribute == wanted) return xml.substr(j + 1, end - j - 1);
    j = end + 1;
  }
}

}  // namespace

xml_guard_result guard_xml(std::string_view xml, std::string_view content_type) {
  using verdict = xml_guard_result::verdict;
  if (content_type.find("application/soap+xml") != std::string_view::npos)
    return {verdict::soap12, "SOAP 1.2 (application/soap+xml) is not supported: use SOAP 1.1"};
  // The scan below reads bytes as UTF-8 (or ASCII-compatible) text. A UTF-16 or UTF-32 document
  // would hide a DTD or an entity from it while libxml2, which detects the encoding, parsed them:
  // such documents (a NUL byte, a byte-order mark other than UTF-8's, a declared encoding whose
  // markup is not ASCII) are refused. pagoPA's messages are UTF-8 (DIGEST §0).
  if (xml.find('\0') != std::string_view::npos)
    return {verdict::encoding, "NUL bytes are not allowed: send UTF-8"};
  if (xml.starts_with("\xFE\xFF") || xml.starts_with("\xFF\xFE"))
    return {verdict::encoding, "UTF-16 and UTF-32 documents are not accepted: send UTF-8"};
  const std::string_view text = xml.starts_with("\xEF\xBB\xBF") ? xml.substr(3) : xml;
  if (text.starts_with("<?xml")) {
    const std::size_t end = text.find("?>");
    const std::string_view decl = text.substr(0, end == std::string_view::npos ? text.size() : end);
    if (const auto enc = declared_encoding(decl); enc && !ascii_compatible(*enc))
      return {verdict::encoding,
              "the document must be UTF-8 (it declares encoding \"" + enc->substr(0, 40) + "\")"};
  }
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
  if (root_namespace(xml) ==
      std::optional<std::string_view>("http://www.w3.org/2003/05/soap-envelope"))
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
