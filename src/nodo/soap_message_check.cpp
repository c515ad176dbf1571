#include <pagohub/nodo/soap_message_check.hpp>
#include <pagohub/nodo/xsd_validator.hpp>

#include <libxml/tree.h>

namespace pagohub::nodo {

namespace {

constexpr std::string_view soap11_ns = "http://schemas.xmlsoap.org/soap/envelope/";

// Empty when `element` conforms to `schema`, else its name and the first problem.
std::string check_element(const xsd_schema& schema, const xmlNode* element) {
  auto r = schema.validate_element(element);
  return r ? std::string{} : std::string(local_name(element)) + ": " + r.error().message;
}

}  // namespace

std::string check_soap_message(std::string_view message, const xsd_schema& envelope_schema,
                               const schema_finder& schema_for) {
  auto doc = xml_document::parse(message);
  if (!doc) return doc.error().message;
  xmlNode* root = doc->root();
  if (root == nullptr || local_name(root) != "Envelope" || namespace_of(root) != soap11_ns)
    return "not a SOAP 1.1 envelope";
  if (auto r = envelope_schema.validate_element(root); !r) return "envelope: " + r.error().message;
  // The envelope schema has let through only a Header and a Body: check what they carry.
  for (xmlNode* part = next_element(root->children); part != nullptr;
       part = next_element(part->next)) {
    for (xmlNode* el = next_element(part->children); el != nullptr; el = next_element(el->next)) {
      const std::string_view ns = namespace_of(el);
      if (ns == soap11_ns && local_name(el) == "Fault") continue;
      const xsd_schema* schema = schema_for(ns, local_name(el));
      if (schema == nullptr)
        return "element " + std::string(local_name(el)) + " in an unexpected namespace '" +
               std::string(ns) + "'";
      if (auto problem = check_element(*schema, el); !problem.empty()) return problem;
    }
  }
  return {};
}

}  // namespace pagohub::nodo
