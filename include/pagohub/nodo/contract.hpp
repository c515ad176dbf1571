#pragma once
// The official pagoPA contract (WSDL and XSD files of wsdl/contract), embedded in the binary:
// the endpoints serve the WSDLs they implement (?wsdl) and validate embedded XML objects (RT,
// service data) against the schemas without reading files at run time.
#include <optional>
#include <string_view>
#include <vector>

namespace pagohub::nodo {

/// One embedded file; `path` is relative to wsdl/contract ("wsdl/paForNode.wsdl",
/// "gad/xsd/PagInf_RPT_RT_6_2_0.xsd").
struct contract_file {
  const char* path;
  const char* content;
};

/// The content of the embedded file at `path`, or nullopt.
std::optional<std::string_view> contract_text(std::string_view path);

/// Every embedded file, in path order.
std::vector<contract_file> contract_files();

}  // namespace pagohub::nodo
