#pragma once
// XML objects carried inside SOAP fields (the base64 RT of paaInviaRT, a service's
// datiSpecificiServizio) are parsed with libxml2 and validated against their XSD: a failure is
// PAA_SINTASSI_XSD, not PAA_SINTASSI_EXTRAXSD (DIGEST §0). Parsing never loads a DTD, never
// expands an entity and never touches the network.
#include <pagohub/core/error.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

typedef struct _xmlDoc xmlDoc;
typedef struct _xmlNode xmlNode;
typedef struct _xmlSchema xmlSchema;

namespace pagohub::nodo {

/// A parsed XML document (libxml2), movable, freed with the object.
class xml_document {
 public:
  /// Parses `text` after the checks of guard_xml (no DTD, no entities). errc::invalid_input
  /// with libxml2's first message (line included) when it is not well-formed.
  static core::result<xml_document> parse(std::string_view text);

  xml_document(xml_document&& other) noexcept;
  xml_document& operator=(xml_document&& other) noexcept;
  ~xml_document();

  xmlDoc* get() const noexcept { return doc_; }
  xmlNode* root() const noexcept;

  /// Local name and namespace URI of the root element.
  std::string root_name() const;
  std::string root_namespace() const;

 private:
  explicit xml_document(xmlDoc* doc) : doc_(doc) {}
  xmlDoc* doc_ = nullptr;
};

/// The local name of `node`.
std::string_view local_name(const xmlNode* node);

/// The namespace URI of `node`; empty when it has none.
std::string_view namespace_of(const xmlNode* node);

/// `node` itself when it is an element, else the first element among the siblings after it;
/// null when there is none.
xmlNode* next_element(xmlNode* node);

/// The first element named `local_name` (any namespace) under `from`, depth first; null when
/// there is none. `from` null means none.
xmlNode* find_element(xmlNode* from, std::string_view local_name);

/// The direct children of `parent` named `local_name`, in document order.
std::vector<xmlNode*> child_elements(xmlNode* parent, std::string_view local_name);

/// The text content of `node`, or nullopt for a null node.
std::optional<std::string> text_of(xmlNode* node);

/// The text of the first element named `local_name` under `from` (find_element).
std::optional<std::string> find_text(xmlNode* from, std::string_view local_name);

/// A compiled XML schema; immutable, shared by every thread that validates against it.
class xsd_schema {
 public:
  /// Compiles a self-contained schema text (no imports); `base` names it in messages. Throws
  /// std::runtime_error when the schema itself is broken (a start-up or configuration error).
  static std::shared_ptr<const xsd_schema> from_text(std::string_view xsd, std::string base);

  /// Compiles the schema file at `path` (imports resolved next to it). Throws
  /// std::runtime_error naming the file when it is unreadable or not a valid schema.
  static std::shared_ptr<const xsd_schema> from_file(const std::filesystem::path& path);

  /// The embedded contract schema at `contract_path` ("gad/xsd/PagInf_RPT_RT_6_2_0.xsd"), which
  /// must be self-contained. Throws std::runtime_error when there is no such file.
  static std::shared_ptr<const xsd_schema> from_contract(std::string_view contract_path);

  /// Compiles the inline `xsd:schema` of the WSDL file `wsdl` whose targetNamespace is
  /// `target_namespace`, as a standalone schema: the WSDL's namespace declarations are copied
  /// onto it (QName values in attributes refer to them) and relative schemaLocations resolve
  /// next to the WSDL. Throws std::runtime_error when the file or that schema is missing or
  /// broken.
  static std::shared_ptr<const xsd_schema> from_wsdl(const std::filesystem::path& wsdl,
                                                     std::string_view target_namespace);

  ~xsd_schema();
  xsd_schema(const xsd_schema&) = delete;
  xsd_schema& operator=(const xsd_schema&) = delete;

  /// Validates `doc`: errc::invalid_input with the first problem (line and message) when it
  /// does not conform. Thread-safe.
  core::result<void> validate(const xml_document& doc) const;

  /// Validates `element` (a body part of a SOAP envelope, say) as the root of a document of its
  /// own; same answers as validate(). Thread-safe.
  core::result<void> validate_element(const xmlNode* element) const;

  /// The schema's name as given at load.
  const std::string& name() const noexcept { return name_; }

 private:
  xsd_schema(xmlSchema* schema, std::string name) : schema_(schema), name_(std::move(name)) {}
  core::result<void> validate(xmlDoc* doc) const;
  xmlSchema* schema_;
  std::string name_;
};

/// Decodes standard base64 (RFC 4648, with padding; whitespace between groups is skipped,
/// as XML Schema's base64Binary allows). nullopt for anything else.
std::optional<std::string> base64_decode(std::string_view text);

/// Encodes standard base64 with padding, no line breaks.
std::string base64_encode(std::string_view bytes);

}  // namespace pagohub::nodo
