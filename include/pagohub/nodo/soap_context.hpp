#pragma once
// gSOAP contexts that never touch a socket (ARCHITECTURE §4): Beast receives the bytes, gSOAP
// parses them from memory and serializes the answer into a string. One reusable context per
// thread, reset after each message, in strict mode with XSD pattern checks and a nesting limit.
//
// A lease must never live across a co_await: a suspended coroutine would leave the thread's
// context to the next coroutine the thread runs. Codecs therefore decode into plain structs,
// give the context back, and lease it again to encode the answer.
#include <stdsoap2.h>

#include <istream>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <string>
#include <string_view>

namespace pagohub::nodo {

/// Which bindings a message belongs to; selects the namespace table used to read it.
enum class vocabulary {
  pa_side,    ///< what the Nodo sends the station: paForNode, PaPerNodo* (soapcpp2 run "pa")
  nodo_side,  ///< what the station sends the Nodo: nodeForPa, NodoPerPa (run "nodo_soap")
};

/// The namespace table for reading messages of `v`: SOAP 1.1 only (no SOAP 1.2 envelope
/// pattern, so a SOAP 1.2 envelope fails on its first element).
const Namespace* input_namespaces(vocabulary v) noexcept;

/// Limits applied to every message parsed.
struct parse_limits {
  unsigned max_depth = 32;  ///< element nesting; pagoPA messages need fewer than 12
};

/// This thread's gSOAP context, leased for one message and reset (everything the message
/// allocated freed) when the lease ends. Nested leases on one thread get a fresh context.
class soap_lease {
 public:
  explicit soap_lease(vocabulary v = vocabulary::pa_side, parse_limits limits = {});
  ~soap_lease();
  soap_lease(const soap_lease&) = delete;
  soap_lease& operator=(const soap_lease&) = delete;

  struct soap* get() const noexcept {
    return ctx_;
  }
  struct soap* operator->() const noexcept {
    return ctx_;
  }

  /// gSOAP's description of the last error ("Validation constraint violation: ... in element
  /// 'noticeNumber'"), for fault descriptions. Never contains message content.
  std::string error_text() const;

 private:
  struct soap* ctx_;
  bool owned_;
};

/// A read-only stream over text that outlives it (no copy of the request body).
class view_istream : private std::streambuf, public std::istream {
 public:
  explicit view_istream(std::string_view text);
};

/// Reads the envelope and the SOAP header (the PA-side header, intestazionePPT; the Nodo client
/// will add the reading of its own), then peeks at the first body element: on SOAP_OK
/// `s->tag` holds its qualified name with the prefix of the namespace table ("pafn:..."), or
/// an unprefixed or foreign prefix when its namespace is not in the table.
int read_to_body(struct soap* s, std::istream& in);

/// Reads what follows the body element: the end of the body and of the envelope, nothing else.
int finish_read(struct soap* s);

/// Writes a SOAP 1.1 envelope around `body` (element `tag`, e.g. "pafn:paVerifyPaymentNoticeRes")
/// into a string, declaring only the namespaces in `ns` (a table ending with a null entry).
template <class T>
std::string write_message(struct soap* s, const T& body, const char* tag, const Namespace* ns);

namespace detail {
int begin_write(struct soap* s, std::ostream& out, const Namespace* ns);
int end_write(struct soap* s);
}  // namespace detail

template <class T>
std::string write_message(struct soap* s, const T& body, const char* tag, const Namespace* ns) {
  std::ostringstream out;
  if (detail::begin_write(s, out, ns) != SOAP_OK || body.soap_put(s, tag, "") != SOAP_OK ||
      detail::end_write(s) != SOAP_OK) {
    return {};
  }
  return std::move(out).str();
}

}  // namespace pagohub::nodo
