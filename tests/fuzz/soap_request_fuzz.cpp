// libFuzzer target: any bytes as the body of a SOAP request to the Nodo-facing endpoints
// (pap::decode_request: the byte-level guard, gSOAP's strict parse with the XSD facets, and the
// reading of every operation's fields), then the KO answer the endpoint would give. What the
// Nodo sends is untrusted input; a crash, leak or undefined behaviour here is a defect, a
// refusal is not.
#include "codec.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pagohub::pap;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  // The endpoint's nesting limit ([pap] max_xml_depth, default 32).
  auto decoded = decode_request(body, "text/xml; charset=utf-8", 32);
  if (!decoded && decoded.error().op) {
    fault_bean f;
    f.code = "PAA_SINTASSI_EXTRAXSD";
    f.text = "Errore di sintassi extra XSD";
    f.id = "01234567897";
    f.description = decoded.error().reason;
    (void)encode_fault(*decoded.error().op, f);
  }
  return 0;
}
