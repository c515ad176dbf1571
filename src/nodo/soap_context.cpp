#include <pagohub/nodo/soap_context.hpp>
#include <pagohub/nodo/xsd_pattern.hpp>

#include <optional>
#include <regex>
#include <unordered_map>

#include "soapH.h"

// The global namespace table the gSOAP runtime library refers to. pagohub never relies on it:
// every context gets its own table (input_namespaces below, the output tables of pap/).
SOAP_NMAC struct Namespace namespaces[] = {
    {"SOAP-ENV", "http://schemas.xmlsoap.org/soap/envelope/", nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr}};

namespace pagohub::nodo {

namespace {

// Every namespace a message of the PA-side bindings may use. The envelope entry has no
// pattern: gSOAP's default table also matches SOAP 1.2 (http://www.w3.org/*/soap-envelope),
// and pagoPA speaks SOAP 1.1 only (DIGEST §0).
const Namespace pa_input[] = {
    {"SOAP-ENV", "http://schemas.xmlsoap.org/soap/envelope/", nullptr, nullptr},
    {"xsi", "http://www.w3.org/2001/XMLSchema-instance", nullptr, nullptr},
    {"xsd", "http://www.w3.org/2001/XMLSchema", nullptr, nullptr},
    {"pafn", "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd", nullptr, nullptr},
    {"common", "http://pagopa-api.pagopa.gov.it/xsd/common-types/v1.0.0/", nullptr, nullptr},
    {"ppt", "http://ws.pagamenti.telematici.gov/", nullptr, nullptr},
    {"ppthead", "http://ws.pagamenti.telematici.gov/ppthead", nullptr, nullptr},
    {"payi", "http://www.digitpa.gov.it/schemas/2011/Pagamenti/", nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr}};

const Namespace nodo_input[] = {
    {"SOAP-ENV", "http://schemas.xmlsoap.org/soap/envelope/", nullptr, nullptr},
    {"xsi", "http://www.w3.org/2001/XMLSchema-instance", nullptr, nullptr},
    {"xsd", "http://www.w3.org/2001/XMLSchema", nullptr, nullptr},
    {"ppt", "http://ws.pagamenti.telematici.gov/", nullptr, nullptr},
    {"ppthead", "http://ws.pagamenti.telematici.gov/ppthead", nullptr, nullptr},
    {"common", "http://pagopa-api.pagopa.gov.it/xsd/common-types/v1.0.0/", nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr}};

// XSD pattern facets (`\d+\.\d{2}`, `[0-9]{18}`...): gSOAP hands them to fsvalidate and
// accepts anything without one. Each pattern is compiled once per thread into xsd_pattern (a
// linear-time matcher, no std::regex on the request path: it cost more than the rest of the
// parse). The generated code passes string literals, so the pointer identifies the pattern.
// A pattern outside xsd_pattern's subset falls back to ECMAScript std::regex (every pattern of
// the pagoPA schemas is also valid ECMAScript; XSD patterns are anchored, hence regex_match).
struct compiled_pattern {
  std::optional<xsd_pattern> fast;
  std::optional<std::regex> slow;
};

int validate_pattern(struct soap*, const char* pattern, const char* value) {
  thread_local std::unordered_map<const char*, compiled_pattern> cache;
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    compiled_pattern c;
    c.fast = xsd_pattern::compile(pattern);
    if (!c.fast) {
      try {
        c.slow.emplace(pattern, std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error&) {
        // Not expressible in ECMAScript either: the other facets still apply; the value is
        // not refused for a pattern this code cannot read.
      }
    }
    it = cache.emplace(pattern, std::move(c)).first;
  }
  const compiled_pattern& c = it->second;
  if (c.fast) return c.fast->matches(value) ? SOAP_OK : SOAP_TYPE;
  if (c.slow) return std::regex_match(value, *c.slow) ? SOAP_OK : SOAP_TYPE;
  return SOAP_OK;
}

struct soap* make_context() {
  struct soap* s = soap_new();
  soap_set_namespaces(s, namespaces);
  s->fsvalidate = validate_pattern;
  return s;
}

// One context per thread, created on first use and kept for the thread's life.
struct thread_context {
  struct soap* ctx = make_context();
  bool busy = false;
  ~thread_context() {
    soap_destroy(ctx);
    soap_end(ctx);
    soap_free(ctx);
  }
};

thread_local thread_context this_thread;

}  // namespace

const Namespace* input_namespaces(vocabulary v) noexcept {
  return v == vocabulary::pa_side ? pa_input : nodo_input;
}

soap_lease::soap_lease(vocabulary v, parse_limits limits) {
  owned_ = this_thread.busy;
  ctx_ = owned_ ? make_context() : this_thread.ctx;
  this_thread.busy = true;
  // Input: strict validation (unknown elements, occurrences, facets), UTF-8 text kept as is,
  // no id/href graphs. Output: no xsi:type, no id/href.
  soap_imode(ctx_, SOAP_XML_STRICT | SOAP_C_UTFSTRING | SOAP_XML_TREE);
  soap_omode(ctx_, SOAP_XML_NOTYPE | SOAP_C_UTFSTRING | SOAP_XML_TREE | SOAP_IO_BUFFER);
  ctx_->mode = ctx_->imode;
  ctx_->maxlevel = limits.max_depth;
  ctx_->version = 1;
  soap_set_namespaces(ctx_, input_namespaces(v));
}

soap_lease::~soap_lease() {
  soap_destroy(ctx_);
  soap_end(ctx_);
  ctx_->is = nullptr;
  ctx_->os = nullptr;
  ctx_->header = nullptr;
  if (owned_) {
    soap_free(ctx_);
  } else {
    this_thread.busy = false;
  }
}

std::string soap_lease::error_text() const {
  if (ctx_->error == SOAP_OK) return {};
  soap_set_fault(ctx_);
  const char** text = soap_faultstring(ctx_);
  std::string out = (text != nullptr && *text != nullptr) ? *text : "malformed message";
  const char** detail = soap_faultdetail(ctx_);
  if (detail != nullptr && *detail != nullptr && **detail != '\0') {
    out += ": ";
    out += *detail;
  }
  return out;
}

view_istream::view_istream(std::string_view text)
    : std::istream(static_cast<std::streambuf*>(this)) {
  // std::streambuf's get area is char*, though it is only read here.
  char* begin = const_cast<char*>(text.data());
  setg(begin, begin, begin + text.size());
}

int read_to_body(struct soap* s, std::istream& in) {
  s->is = &in;
  if (soap_begin_recv(s) != SOAP_OK || soap_envelope_begin_in(s) != SOAP_OK ||
      soap_recv_header(s) != SOAP_OK || soap_body_begin_in(s) != SOAP_OK ||
      soap_peek_element(s) != SOAP_OK) {
    return s->error;
  }
  return SOAP_OK;
}

int finish_read(struct soap* s) {
  if (soap_body_end_in(s) != SOAP_OK || soap_envelope_end_in(s) != SOAP_OK ||
      soap_end_recv(s) != SOAP_OK) {
    return s->error;
  }
  return SOAP_OK;
}

namespace detail {

int begin_write(struct soap* s, std::ostream& out, const Namespace* ns) {
  soap_set_namespaces(s, ns);
  s->os = &out;
  s->mode = s->omode;
  s->encodingStyle = nullptr;  // document/literal
  s->header = nullptr;
  if (soap_begin_send(s) != SOAP_OK || soap_envelope_begin_out(s) != SOAP_OK ||
      soap_body_begin_out(s) != SOAP_OK) {
    return s->error;
  }
  return SOAP_OK;
}

int end_write(struct soap* s) {
  if (soap_body_end_out(s) != SOAP_OK || soap_envelope_end_out(s) != SOAP_OK ||
      soap_end_send(s) != SOAP_OK) {
    return s->error;
  }
  return SOAP_OK;
}

}  // namespace detail

}  // namespace pagohub::nodo
