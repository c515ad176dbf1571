#pragma once
// Checks made on a SOAP message's bytes before any parser sees them: no DTD and no entity other
// than XML's five predefined ones and character references (no XXE, no billion laughs), and
// the SOAP version (pagoPA speaks SOAP 1.1 only, DIGEST §0).
#include <string>
#include <string_view>

namespace pagohub::nodo {

/// Why a message was refused before parsing; empty when it passed.
struct xml_guard_result {
  enum class verdict { ok, dtd, entity, soap12, encoding } what = verdict::ok;
  std::string reason;

  explicit operator bool() const noexcept { return what == verdict::ok; }
};

/// Scans `xml` (outside CDATA sections and comments) for a document type declaration or an
/// entity declaration (`<!DOCTYPE`, `<!ENTITY`) and for entity references other than &lt;
/// &gt; &amp; &quot; &apos; &#N; &#xH;. Also reports a SOAP 1.2 envelope: its namespace, or
/// the SOAP 1.2 media type in `content_type`. Linear in the size of `xml`.
xml_guard_result guard_xml(std::string_view xml, std::string_view content_type = {});

/// The operation a SOAPAction header names: surrounding quotes and whitespace removed, and
/// anything up to the last '/' or '#' (some clients send a namespace-qualified action).
std::string soap_action_operation(std::string_view header_value);

/// A SOAP 1.1 Fault envelope: `code` is "Client", "Server" or "VersionMismatch" (in the
/// envelope namespace), `text` the faultstring (XML-escaped here).
std::string soap11_fault(std::string_view code, std::string_view text);

/// `text` with &, <, >, " and ' escaped.
std::string xml_escape(std::string_view text);

}  // namespace pagohub::nodo
