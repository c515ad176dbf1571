#include "contract_check.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include <mutex>
#include <stdexcept>

namespace pagohub::nodo_sim {

namespace {

constexpr std::string_view soap11 = "http://schemas.xmlsoap.org/soap/envelope/";
constexpr const char* ppt_ns = "http://ws.pagamenti.telematici.gov/";
constexpr const char* ppthead_ns = "http://ws.pagamenti.telematici.gov/ppthead";
constexpr const char* xsd_ns = "http://www.w3.org/2001/XMLSchema";

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

xmlSchemaPtr parse_schema(xmlSchemaParserCtxtPtr ctxt, const std::string& name) {
  errors err;
  xmlSchemaSetParserStructuredErrors(ctxt, &errors::collect, &err);
  xmlSchemaPtr s = xmlSchemaParse(ctxt);
  xmlSchemaFreeParserCtxt(ctxt);
  if (s == nullptr) throw std::runtime_error(name + ": " + err.first);
  return s;
}

// The inline xsd:schema of `wsdl` for `target`, standalone: the WSDL's namespace declarations
// copied onto it, its URL the WSDL's so that relative schemaLocations resolve.
xmlSchemaPtr inline_schema(const std::filesystem::path& wsdl, const std::string& target) {
  xmlDocPtr doc = xmlReadFile(wsdl.c_str(), nullptr, XML_PARSE_NONET);
  if (doc == nullptr) throw std::runtime_error("cannot read " + wsdl.string());
  xmlNode* root = xmlDocGetRootElement(doc);
  xmlNode* found = nullptr;
  for (xmlNode* c = first_element(root->children); c != nullptr; c = first_element(c->next)) {
    if (name_of(c) != "types") continue;
    for (xmlNode* s = first_element(c->children); s != nullptr; s = first_element(s->next)) {
      if (name_of(s) != "schema" || ns_of(s) != xsd_ns) continue;
      xmlChar* tns = xmlGetProp(s, reinterpret_cast<const xmlChar*>("targetNamespace"));
      if (tns != nullptr && target == reinterpret_cast<const char*>(tns)) found = s;
      xmlFree(tns);
    }
  }
  if (found == nullptr) {
    xmlFreeDoc(doc);
    throw std::runtime_error(wsdl.string() + ": no inline schema for " + target);
  }
  xmlDocPtr standalone = xmlNewDoc(reinterpret_cast<const xmlChar*>("1.0"));
  standalone->URL = xmlStrdup(reinterpret_cast<const xmlChar*>(wsdl.c_str()));
  xmlNode* copy = xmlDocCopyNode(found, standalone, 1);
  xmlDocSetRootElement(standalone, copy);
  for (xmlNs* n = root->nsDef; n != nullptr; n = n->next) {
    if (n->prefix == nullptr) continue;
    if (xmlSearchNs(standalone, copy, n->prefix) == nullptr) xmlNewNs(copy, n->href, n->prefix);
  }
  xmlFreeDoc(doc);
  xmlSchemaPtr s =
      parse_schema(xmlSchemaNewDocParserCtxt(standalone), wsdl.string() + " (" + target + ")");
  xmlFreeDoc(standalone);
  return s;
}

std::string validate_element(xmlSchemaPtr schema, xmlNode* element) {
  xmlDocPtr doc = xmlNewDoc(reinterpret_cast<const xmlChar*>("1.0"));
  xmlDocSetRootElement(doc, xmlDocCopyNode(element, doc, 1));
  errors err;
  xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(schema);
  xmlSchemaSetValidStructuredErrors(v, &errors::collect, &err);
  const int rc = xmlSchemaValidateDoc(v, doc);
  xmlSchemaFreeValidCtxt(v);
  xmlFreeDoc(doc);
  return rc == 0 ? std::string{} : (err.first.empty() ? "invalid" : err.first);
}

}  // namespace

struct contract_check::impl {
  xmlSchemaPtr envelope = nullptr, ppthead = nullptr, nodo_per_pa = nullptr, avvisi = nullptr;
  mutable std::mutex mutex;  // libxml2 validation contexts are per call; the lock keeps
                             // the global error handler of the parse below single-threaded
  ~impl() {
    for (auto* s : {envelope, ppthead, nodo_per_pa, avvisi})
      if (s != nullptr) xmlSchemaFree(s);
  }
};

contract_check::contract_check(const std::filesystem::path& dir) : impl_(std::make_unique<impl>()) {
  const auto env = dir / "xsd-common" / "envelope.xsd";
  impl_->envelope = parse_schema(xmlSchemaNewParserCtxt(env.c_str()), env.string());
  const auto nodo = dir / "gad" / "wsdl" / "NodoPerPa.wsdl";
  impl_->ppthead = inline_schema(nodo, ppthead_ns);
  impl_->nodo_per_pa = inline_schema(nodo, ppt_ns);
  const auto avvisi = dir / "legacy-avvisatura" / "NodoPerPaAvvisiDigitali.wsdl";
  if (std::filesystem::exists(avvisi)) impl_->avvisi = inline_schema(avvisi, ppt_ns);
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
  } else if (auto e = validate_element(impl_->envelope, root); !e.empty()) {
    problem = "envelope: " + e;
  } else {
    for (xmlNode* part = first_element(root->children); part != nullptr && problem.empty();
         part = first_element(part->next)) {
      for (xmlNode* el = first_element(part->children); el != nullptr && problem.empty();
           el = first_element(el->next)) {
        xmlSchemaPtr schema = nullptr;
        if (ns_of(el) == ppthead_ns) {
          schema = impl_->ppthead;
        } else if (ns_of(el) == ppt_ns) {
          schema = name_of(el).starts_with("nodoInviaAvvisoDigitale") && impl_->avvisi != nullptr
                       ? impl_->avvisi
                       : impl_->nodo_per_pa;
        } else {
          problem = "element " + std::string(name_of(el)) + " in an unexpected namespace '" +
                    std::string(ns_of(el)) + "'";
          break;
        }
        if (auto bad = validate_element(schema, el); !bad.empty())
          problem = std::string(name_of(el)) + ": " + bad;
      }
    }
  }
  xmlFreeDoc(doc);
  return problem;
}

}  // namespace pagohub::nodo_sim
