#pragma once
// SOAP bodies <-> the plain messages of pap/messages.hpp, through the gSOAP bindings of the
// thread's context (nodo/soap_context.hpp). Decoding is strict: gSOAP's SOAP_XML_STRICT
// (unknown elements, occurrences, lengths, enumerations), XSD patterns, a nesting limit, after
// the byte-level guard (no DTD, no entities, no SOAP 1.2).
#include <pagohub/pap/messages.hpp>

#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::pap {

/// Why a request could not be decoded.
struct decode_failure {
  enum class kind {
    syntax,             ///< not valid per the WSDL/XSD: PAA_SINTASSI_EXTRAXSD (when op is known)
    version_mismatch,   ///< a SOAP 1.2 envelope: a SOAP 1.1 VersionMismatch fault
    unknown_operation,  ///< the body is none of our requests: a SOAP Client fault
  } what = kind::syntax;
  std::optional<operation> op;  ///< the operation the body element names, when it got that far
  std::string reason;           ///< for the fault description; never quotes message content
};

/// Decodes one SOAP 1.1 request of any operation. `content_type` is the HTTP header (SOAP 1.2
/// is also recognised by its media type).
std::expected<inbound, decode_failure> decode_request(std::string_view xml,
                                                      std::string_view content_type,
                                                      unsigned max_depth);

/// The response envelopes. Each carries outcome/esito OK when `fault` is empty, else KO and
/// the fault bean.
std::string encode(const verify_response& r);
std::string encode(const get_payment_response& r);
std::string encode(const send_rt_response& r);
std::string encode(const demand_response& r);
/// The old-model answer of `op` (one of the paa* operations).
std::string encode(operation op, const old_model_response& r);

/// The KO answer of `op` with only `fault`: what any operation says when it fails.
std::string encode_fault(operation op, const fault_bean& fault);

}  // namespace pagohub::pap
