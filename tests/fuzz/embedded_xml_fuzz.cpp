// libFuzzer target: any bytes as an XML document carried inside a SOAP field: the RT of
// paaInviaRT (validated against PagInf_RPT_RT_6_2_0.xsd, then read as old_model.cpp reads it)
// and the service data of paDemandPaymentNotice (read the same way, after its service's own
// schema). The parse refuses DTDs and entities and does no network I/O (nodo::xml_document);
// anything but a crash, leak or undefined behaviour is a PAA_SINTASSI_XSD fault.
#include <pagohub/nodo/xsd_validator.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pagohub::nodo;
  static const auto rt_schema = xsd_schema::from_contract("gad/xsd/PagInf_RPT_RT_6_2_0.xsd");
  // The example spontaneous service shipped in config/services (the build gives its path).
  static const auto service_schema = xsd_schema::from_file(PAGOHUB_FUZZ_SERVICE_XSD);
  auto doc = xml_document::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!doc) return 0;
  (void)doc->root_name();
  (void)doc->root_namespace();
  const bool valid = rt_schema->validate(*doc).has_value();
  // The reads of an RT (old_model.cpp), whether or not it was valid: the demand's service data
  // is read by other names the same way.
  xmlNode* root = doc->root();
  (void)find_text(find_element(root, "dominio"), "identificativoDominio");
  xmlNode* dati = find_element(root, "datiPagamento");
  (void)find_text(dati, "identificativoUnivocoVersamento");
  for (xmlNode* single : child_elements(dati, "datiSingoloPagamento"))
    (void)find_text(single, "singoloImportoPagato");
  if (valid) (void)rt_schema->validate_element(root);
  (void)service_schema->validate(*doc);
  return 0;
}
