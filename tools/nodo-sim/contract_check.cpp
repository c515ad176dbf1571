#include "contract_check.hpp"

#include <pagohub/nodo/xsd_validator.hpp>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <mutex>
#include <stdexcept>

namespace pagohub::nodo_sim {

namespace {

constexpr std::string_view soap11 = "http://schemas.xmlsoap.org/soap/envelope/";
constexpr const char* ppt_ns = "http://ws.pagamenti.telematici.gov/";
constexpr const char* ppthead_ns = "http://ws.pagamenti.telematici.gov/ppthead";

struct errors {
  std::string first;
  static void collect(void* self, xmlErrorPtr e) {
    auto* me = static_cast<errors*>(self);
    if (e == nullptr || !me->first.empty()) return;
    me->first = e->message != nullptr ? e->message : "error";
    while (!me->first.empty() && me->first.back() == '\n') me->first.pop_back();
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

// Empty when `element` conforms to `schema`, else the first problem.
std::string validate_element(const nodo::xsd_schema& schema, xmlNode* element) {
  auto r = schema.validate_element(element);
  return r ? std::string{} : r.error().message;
}

}  // namespace

struct contract_check::impl {
  std::shared_ptr<const nodo::xsd_schema> envelope, ppthead, nodo_per_pa, avvisi;
  mutable std::mutex mutex;  // keeps the error handler of the parse in check() single-threaded
};

contract_check::contract_check(const std::filesystem::path& dir) : impl_(std::make_unique<impl>()) {
  impl_->envelope = nodo::xsd_schema::from_file(dir / "xsd-common" / "envelope.xsd");
  const auto nodo = dir / "gad" / "wsdl" / "NodoPerPa.wsdl";
  impl_->ppthead = nodo::xsd_schema::from_wsdl(nodo, ppthead_ns);
  impl_->nodo_per_pa = nodo::xsd_schema::from_wsdl(nodo, ppt_ns);
  const auto avvisi = dir / "legacy-avvisatura" / "NodoPerPaAvvisiDigitali.wsdl";
  if (std::filesystem::exists(avvisi)) impl_->avvisi = nodo::xsd_schema::from_wsdl(avvisi, ppt_ns);
}

contract_check::~contract_check() = default;

std::string contract_check::check(std::string_view envelope) const {
  std::lock_guard lock(impl_->mutex);
  errors parse_err;
  xmlSetStructuredErrorFunc(&parse_err, &errors::collect);
  xmlDocPtr doc = xmlReadMemory(envelope.data(), static_cast<int>(envelope.size()), "request.xml",
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
        const nodo::xsd_schema* schema = nullptr;
        if (ns_of(el) == ppthead_ns) {
          schema = impl_->ppthead.get();
        } else if (ns_of(el) == ppt_ns) {
          schema = name_of(el).starts_with("nodoInviaAvvisoDigitale") && impl_->avvisi != nullptr
                       ? impl_->avvisi.get()
                       : impl_->nodo_per_pa.get();
        } else {
          problem = "element " + std::string(name_of(el)) + " in an unexpected namespace '" +
                    std::string(ns_of(el)) + "'";
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

}  // namespace pagohub::nodo_sim
