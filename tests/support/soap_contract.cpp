#include "support/soap_contract.hpp"

#include <pagohub/nodo/soap_message_check.hpp>
#include <pagohub/nodo/xsd_validator.hpp>

#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace pagohub::test_support {

namespace {

constexpr std::string_view pafn_ns = "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd";
constexpr std::string_view ppt_ns = "http://ws.pagamenti.telematici.gov/";
constexpr std::string_view ppthead_ns = "http://ws.pagamenti.telematici.gov/ppthead";

}  // namespace

std::optional<std::filesystem::path> pagopa_spec_dir() {
  std::filesystem::path dir;
  if (const char* env = std::getenv("PAGOHUB_PAGOPA_SPEC"); env != nullptr && *env != '\0') {
    dir = env;
  } else {
    dir = std::filesystem::path(PAGOHUB_TEST_SOURCE_DIR) / ".." / "shared" / "pagopa-spec";
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(dir / "wsdl" / "xsd" / "paForNode.xsd", ec))
    return std::nullopt;
  return std::filesystem::weakly_canonical(dir, ec);
}

struct soap_contract::impl {
  using schema = std::shared_ptr<const nodo::xsd_schema>;
  schema envelope, pa_for_node, ppthead;
  // ppt body elements by the WSDL that declares them.
  std::map<std::string, schema> ppt;  // wsdl stem -> schema

  const nodo::xsd_schema* ppt_for(std::string_view element) const {
    const char* wsdl = "PaPerNodo";
    if (element.starts_with("paaVerificaRPT") || element.starts_with("paaAttivaRPT"))
      wsdl = "PaPerNodoPagamentoPsp";
    else if (element.starts_with("paaChiediNumeroAvviso"))
      wsdl = "PaPerNodoRichiestaAvvisi";
    else if (element.starts_with("nodo"))
      wsdl = "NodoPerPa";  // what the station sends the Nodo (DIGEST §2.2)
    return ppt.at(wsdl).get();
  }
};

soap_contract::soap_contract(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
soap_contract::~soap_contract() = default;

std::unique_ptr<soap_contract> soap_contract::load(std::string& why) {
  const auto dir = pagopa_spec_dir();
  if (!dir) {
    why = "the official pagoPA contract (../shared/pagopa-spec) is not there: XSD checks skipped";
    return nullptr;
  }
  auto p = std::make_unique<impl>();
  p->envelope = nodo::xsd_schema::from_file(*dir / "xsd-common" / "envelope.xsd");
  p->pa_for_node = nodo::xsd_schema::from_file(*dir / "wsdl" / "xsd" / "paForNode.xsd");
  const auto gad = *dir / "gad" / "wsdl";
  p->ppthead = nodo::xsd_schema::from_wsdl(gad / "PaPerNodo.wsdl", ppthead_ns);
  for (const char* w :
       {"PaPerNodo", "PaPerNodoPagamentoPsp", "PaPerNodoRichiestaAvvisi", "NodoPerPa"})
    p->ppt[w] = nodo::xsd_schema::from_wsdl(gad / (std::string(w) + ".wsdl"), ppt_ns);
  return std::unique_ptr<soap_contract>(new soap_contract(std::move(p)));
}

std::string soap_contract::check(std::string_view envelope) const {
  return nodo::check_soap_message(
      envelope, *impl_->envelope,
      [this](std::string_view ns, std::string_view name) -> const nodo::xsd_schema* {
        if (ns == pafn_ns) return impl_->pa_for_node.get();
        if (ns == ppt_ns) return impl_->ppt_for(name);
        if (ns == ppthead_ns) return impl_->ppthead.get();
        return nullptr;
      });
}

const soap_contract* contract() {
  static std::once_flag once;
  static std::unique_ptr<soap_contract> loaded;
  std::call_once(once, [] {
    // A contract folder that is there but cannot be loaded throws: the tests fail loudly
    // rather than skip their checks.
    std::string why;
    loaded = soap_contract::load(why);
    if (!loaded) std::cerr << "[ NOTICE ] " << why << "\n";
  });
  return loaded.get();
}

}  // namespace pagohub::test_support
