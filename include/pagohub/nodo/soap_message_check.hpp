#pragma once
// The check of a whole SOAP 1.1 message against the official contract, as the tests apply it to
// every message they see and nodo-sim to every request a station sends it: the envelope
// against envelope.xsd, then each element of its Header and Body against the schema that
// declares it.
#include <functional>
#include <string>
#include <string_view>

namespace pagohub::nodo {

class xsd_schema;

/// The schema that declares an element of a Header or Body, given its namespace URI and local
/// name; null when no schema of the contract declares that namespace.
using schema_finder =
    std::function<const xsd_schema*(std::string_view namespace_uri, std::string_view name)>;

/// Empty when `message` is a well-formed SOAP 1.1 envelope (parsed as xml_document::parse does:
/// no DTD, no entities) that conforms to `envelope_schema`, and every element of its Header and
/// Body conforms to the schema `schema_for` names for it; else the first problem. A SOAP 1.1
/// Fault in the Body is the envelope schema's to check. Thread-safe when `schema_for` is.
std::string check_soap_message(std::string_view message, const xsd_schema& envelope_schema,
                               const schema_finder& schema_for);

}  // namespace pagohub::nodo
