#include "support/soap_contract.hpp"

#include <pagohub/nodo/xsd_validator.hpp>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace pagohub::test_support {

namespace {

constexpr const char* soap11 = "http://schemas.xmlsoap.org/soap/envelope/";
constexpr const char* pafn_ns = "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd";
constexpr const char* ppt_ns = "http://ws.pagamenti.telematici.gov/";
constexpr const char* ppthead_ns = "http://ws.pagamenti.telematici.gov/ppthead";

struct errors {
  std::string first;
  static void collect(void* self, xmlErrorPtr e) {
    auto* me = static_cast<errors*>(self);
    if (e == nullptr || !me->first.empty()) return;
    me->first = e->message != nullptr ? e->message : "error";
    while (!me->first.empty() && me->first.back() == '\n') me->first.pop_back();
    if (e->line > 0) me->first = "line " + std::to_string(e->line) + ": " + me->first;
  }
};

std::string_view name_of(const xmlNode* n) {
  return reinterpret_cast<const char*>(n->name);
}
std::string_view ns_of(const xmlNode* n) {
  return n->ns != nullptr && n->ns->href != nullptr ? reinterpret_cast<const char*>(n->ns->href)
                                                    : "";
}

xmlNode* first_element(xmlNode* n) {
  for (; n != nullptr; n = n->next)
    if (n->type == XML_ELEMENT_NODE) return n;
  return nullptr;
}

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

namespace {

// Empty when `element` conforms to `schema`, else the first problem.
std::string validate_element(const nodo::xsd_schema& schema, xmlNode* element) {
  auto r = schema.validate_element(element);
  return r ? std::string{} : r.error().message;
}

}  // namespace

std::string soap_contract::check(std::string_view envelope) const {
  errors parse_err;
  xmlSetStructuredErrorFunc(&parse_err, &errors::collect);
  xmlDocPtr doc = xmlReadMemory(envelope.data(), static_cast<int>(envelope.size()), "message.xml",
                                nullptr, XML_PARSE_NONET);
  xmlSetStructuredErrorFunc(nullptr, nullptr);
  if (doc == nullptr) return "not well-formed: " + parse_err.first;
  std::string problem;
  xmlNode* root = xmlDocGetRootElement(doc);
  if (name_of(root) != "Envelope" || ns_of(root) != soap11) {
    problem = "not a SOAP 1.1 envelope";
  } else if (auto e = validate_element(*impl_->envelope, root); !e.empty()) {
    problem = "envelope: " + e;
  } else {
    for (xmlNode* part = first_element(root->children); part != nullptr && problem.empty();
         part = first_element(part->next)) {
      for (xmlNode* el = first_element(part->children); el != nullptr && problem.empty();
           el = first_element(el->next)) {
        const std::string_view ns = ns_of(el);
        const nodo::xsd_schema* schema = nullptr;
        if (ns == pafn_ns) {
          schema = impl_->pa_for_node.get();
        } else if (ns == ppt_ns) {
          schema = impl_->ppt_for(name_of(el));
        } else if (ns == ppthead_ns) {
          schema = impl_->ppthead.get();
        } else if (ns == soap11 && name_of(el) == "Fault") {
          continue;  // envelope.xsd covered it
        } else {
          problem = "element " + std::string(name_of(el)) + " in an unexpected namespace '" +
                    std::string(ns) + "'";
          break;
        }
        if (auto bad = validate_element(*schema, el); !bad.empty())
          problem = std::string(name_of(el)) + ": " + bad;
      }
    }
  }
  xmlFreeDoc(doc);
  return problem;
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
