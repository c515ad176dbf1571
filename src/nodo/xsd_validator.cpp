#include <pagohub/nodo/contract.hpp>
#include <pagohub/nodo/xml_guard.hpp>
#include <pagohub/nodo/xsd_validator.hpp>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include <filesystem>
#include <mutex>
#include <stdexcept>

namespace pagohub::nodo {

namespace {

void init_libxml() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

// Collects libxml2's first error instead of letting it print to stderr.
struct first_error {
  std::string text;
  static void collect(void* self, xmlErrorPtr e) {
    auto* me = static_cast<first_error*>(self);
    if (e == nullptr || !me->text.empty()) return;
    std::string msg = e->message != nullptr ? e->message : "error";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    me->text = e->line > 0 ? "line " + std::to_string(e->line) + ": " + msg : msg;
  }
};

// Sets a thread's libxml2 structured error handler for one scope.
class error_scope {
 public:
  explicit error_scope(first_error& sink) {
    xmlSetStructuredErrorFunc(&sink, &first_error::collect);
  }
  ~error_scope() { xmlSetStructuredErrorFunc(nullptr, nullptr); }
  error_scope(const error_scope&) = delete;
  error_scope& operator=(const error_scope&) = delete;
};

// No network, no DTD loading, no entity substitution (XML_PARSE_NOENT is deliberately absent).
constexpr int parse_options = XML_PARSE_NONET | XML_PARSE_NOCDATA;

}  // namespace

std::string_view local_name(const xmlNode* n) {
  return n->name != nullptr ? std::string_view(reinterpret_cast<const char*>(n->name))
                            : std::string_view{};
}

std::string_view namespace_of(const xmlNode* n) {
  return n->ns != nullptr && n->ns->href != nullptr
             ? std::string_view(reinterpret_cast<const char*>(n->ns->href))
             : std::string_view{};
}

xmlNode* next_element(xmlNode* n) {
  for (; n != nullptr; n = n->next)
    if (n->type == XML_ELEMENT_NODE) return n;
  return nullptr;
}

core::result<xml_document> xml_document::parse(std::string_view text) {
  init_libxml();
  if (auto g = guard_xml(text); !g) return core::fail(core::errc::invalid_input, g.reason);
  first_error err;
  error_scope scope(err);
  xmlDoc* doc = xmlReadMemory(text.data(), static_cast<int>(text.size()), "object.xml", nullptr,
                              parse_options);
  if (doc == nullptr) {
    return core::fail(core::errc::invalid_input,
                      "not well-formed XML: " + (err.text.empty() ? "parse error" : err.text));
  }
  // guard_xml refused any DTD already; should one have got past it all the same, the document
  // goes no further than here.
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    xmlFreeDoc(doc);
    return core::fail(core::errc::invalid_input,
                      "document type declarations (DTD) are not allowed");
  }
  return xml_document(doc);
}

xml_document::xml_document(xml_document&& other) noexcept : doc_(other.doc_) {
  other.doc_ = nullptr;
}

xml_document& xml_document::operator=(xml_document&& other) noexcept {
  if (this != &other) {
    if (doc_ != nullptr) xmlFreeDoc(doc_);
    doc_ = other.doc_;
    other.doc_ = nullptr;
  }
  return *this;
}

xml_document::~xml_document() {
  if (doc_ != nullptr) xmlFreeDoc(doc_);
}

xmlNode* xml_document::root() const noexcept {
  return doc_ != nullptr ? xmlDocGetRootElement(doc_) : nullptr;
}

std::string xml_document::root_name() const {
  const xmlNode* r = root();
  return r != nullptr ? std::string(local_name(r)) : std::string{};
}

std::string xml_document::root_namespace() const {
  const xmlNode* r = root();
  return (r != nullptr && r->ns != nullptr && r->ns->href != nullptr)
             ? std::string(reinterpret_cast<const char*>(r->ns->href))
             : std::string{};
}

xmlNode* find_element(xmlNode* from, std::string_view name) {
  for (xmlNode* n = from; n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    if (local_name(n) == name) return n;
    if (xmlNode* found = find_element(n->children, name)) return found;
  }
  return nullptr;
}

std::vector<xmlNode*> child_elements(xmlNode* parent, std::string_view name) {
  std::vector<xmlNode*> out;
  if (parent == nullptr) return out;
  for (xmlNode* n = parent->children; n != nullptr; n = n->next)
    if (n->type == XML_ELEMENT_NODE && local_name(n) == name) out.push_back(n);
  return out;
}

std::optional<std::string> text_of(xmlNode* node) {
  if (node == nullptr) return std::nullopt;
  xmlChar* content = xmlNodeGetContent(node);
  std::string out = content != nullptr ? reinterpret_cast<const char*>(content) : "";
  xmlFree(content);
  return out;
}

std::optional<std::string> find_text(xmlNode* from, std::string_view name) {
  return text_of(find_element(from, name));
}

namespace {

xmlSchemaPtr compile(xmlSchemaParserCtxtPtr parser, const std::string& name, first_error& err) {
  if (parser == nullptr) throw std::runtime_error(name + ": cannot read the schema");
  xmlSchemaPtr schema = xmlSchemaParse(parser);
  xmlSchemaFreeParserCtxt(parser);
  if (schema == nullptr) {
    throw std::runtime_error(
        name + ": not a valid XML schema: " + (err.text.empty() ? "unknown error" : err.text));
  }
  return schema;
}

}  // namespace

std::shared_ptr<const xsd_schema> xsd_schema::from_text(std::string_view xsd, std::string base) {
  init_libxml();
  first_error err;
  error_scope scope(err);
  xmlSchemaPtr schema =
      compile(xmlSchemaNewMemParserCtxt(xsd.data(), static_cast<int>(xsd.size())), base, err);
  return std::shared_ptr<const xsd_schema>(new xsd_schema(schema, std::move(base)));
}

std::shared_ptr<const xsd_schema> xsd_schema::from_file(const std::filesystem::path& path) {
  init_libxml();
  first_error err;
  error_scope scope(err);
  xmlSchemaPtr schema = compile(xmlSchemaNewParserCtxt(path.c_str()), path.string(), err);
  return std::shared_ptr<const xsd_schema>(new xsd_schema(schema, path.string()));
}

std::shared_ptr<const xsd_schema> xsd_schema::from_contract(std::string_view contract_path) {
  auto text = contract_text(contract_path);
  if (!text) throw std::runtime_error("no embedded contract file " + std::string(contract_path));
  return from_text(*text, std::string(contract_path));
}

namespace {

constexpr std::string_view xsd_namespace = "http://www.w3.org/2001/XMLSchema";

}  // namespace

std::shared_ptr<const xsd_schema> xsd_schema::from_wsdl(const std::filesystem::path& wsdl,
                                                        std::string_view target_namespace) {
  init_libxml();
  first_error err;
  error_scope scope(err);
  const std::string name = wsdl.string() + " (" + std::string(target_namespace) + ")";
  xmlDocPtr doc = xmlReadFile(wsdl.c_str(), nullptr, parse_options);
  if (doc == nullptr) throw std::runtime_error("cannot read " + wsdl.string() + ": " + err.text);
  xmlNode* root = xmlDocGetRootElement(doc);
  xmlNode* found = nullptr;
  for (xmlNode* c = root != nullptr ? next_element(root->children) : nullptr; c != nullptr;
       c = next_element(c->next)) {
    if (local_name(c) != "types") continue;
    for (xmlNode* t = next_element(c->children); t != nullptr; t = next_element(t->next)) {
      if (local_name(t) != "schema" || namespace_of(t) != xsd_namespace) continue;
      xmlChar* tns = xmlGetProp(t, reinterpret_cast<const xmlChar*>("targetNamespace"));
      if (tns != nullptr && target_namespace == reinterpret_cast<const char*>(tns)) found = t;
      xmlFree(tns);
    }
  }
  if (found == nullptr) {
    xmlFreeDoc(doc);
    throw std::runtime_error(wsdl.string() + ": no inline schema for " +
                             std::string(target_namespace));
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
  xmlSchemaPtr schema = nullptr;
  try {
    schema = compile(xmlSchemaNewDocParserCtxt(standalone), name, err);
  } catch (...) {
    xmlFreeDoc(standalone);
    throw;
  }
  // The compiled schema keeps no pointer into the document.
  xmlFreeDoc(standalone);
  return std::shared_ptr<const xsd_schema>(new xsd_schema(schema, name));
}

xsd_schema::~xsd_schema() {
  xmlSchemaFree(schema_);
}

core::result<void> xsd_schema::validate_element(const xmlNode* element) const {
  xmlDocPtr doc = xmlNewDoc(reinterpret_cast<const xmlChar*>("1.0"));
  xmlDocSetRootElement(doc, xmlDocCopyNode(const_cast<xmlNode*>(element), doc, 1));
  auto r = validate(doc);
  xmlFreeDoc(doc);
  return r;
}

core::result<void> xsd_schema::validate(const xml_document& doc) const {
  return validate(doc.get());
}

core::result<void> xsd_schema::validate(xmlDoc* doc) const {
  first_error err;
  error_scope scope(err);
  xmlSchemaValidCtxtPtr ctxt = xmlSchemaNewValidCtxt(schema_);
  if (ctxt == nullptr)
    return core::fail(core::errc::internal, "cannot create a validation context");
  xmlSchemaSetValidStructuredErrors(ctxt, &first_error::collect, &err);
  const int rc = xmlSchemaValidateDoc(ctxt, doc);
  xmlSchemaFreeValidCtxt(ctxt);
  if (rc != 0) {
    // The file's name, not its path: the text reaches the caller (a fault description), and
    // where the daemon keeps its files is none of the caller's business.
    return core::fail(core::errc::invalid_input,
                      "does not conform to " + std::filesystem::path(name_).filename().string() +
                          ": " + (err.text.empty() ? "validation failed" : err.text));
  }
  return {};
}

namespace {

int base64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  int padding = 0;
  std::size_t symbols = 0;
  for (unsigned char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      ++symbols;
      continue;
    }
    if (padding > 0) return std::nullopt;  // data after padding
    const int v = base64_value(c);
    if (v < 0) return std::nullopt;
    ++symbols;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  if (symbols % 4 != 0 || padding > 2) return std::nullopt;
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (i < bytes.size()) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace pagohub::nodo
