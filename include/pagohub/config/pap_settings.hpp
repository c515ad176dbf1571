#pragma once
// The [pap] section: the SOAP endpoints pagoPA's Nodo calls (docs/config-reference.md,
// docs/pagopa.md).
#include <cstddef>
#include <string>
#include <vector>

namespace pagohub::config {

struct pap_settings {
  /// Client certificate subjects (RFC 2253, exact) allowed to call the SOAP endpoints; empty =
  /// no subject check here (the listener's own allow-list still applies). Needs an mTLS listener.
  std::vector<std::string> allowed_client_subjects{};
  /// Shared secret the Nodo sends in `shared_secret_header`; empty = not checked. Secret.
  std::string shared_secret{};
  std::string shared_secret_header = "Ocp-Apim-Subscription-Key";
  /// Serve the SOAP endpoints to anyone on a listener that is neither loopback nor mTLS, with
  /// neither subjects nor a shared secret here. Refused at load unless set: whoever reaches
  /// such a listener could deliver receipts that mark positions paid.
  bool allow_unauthenticated = false;
  /// How a re-delivered receipt (same entity and receiptId) is answered: false = OK (default),
  /// true = KO with PAA_RECEIPT_DUPLICATA. Either way nothing changes.
  bool duplicate_receipt_fault = false;
  /// Largest SOAP request body accepted (HTTP 413 above it).
  std::size_t max_body_bytes = std::size_t{1} << 20;
  /// Deepest element nesting accepted in a SOAP request.
  unsigned max_depth = 32;
  /// Days from today (Europe/Rome) to the due date of a position created on demand
  /// (paDemandPaymentNotice, paaChiediNumeroAvviso).
  int demand_due_days = 30;
  /// Minutes a 2018-model payment (paaAttivaRPT) holds its notice against other PSPs, unless
  /// its RT comes first: meanwhile their paaVerificaRPT and paaAttivaRPT get
  /// PAA_PAGAMENTO_IN_CORSO. 0 = no lock.
  int rpt_lock_minutes = 30;
  /// Database connections of the endpoints' own, besides [db] pool_size: the Nodo's calls
  /// never wait behind the back-offices' requests, imports or jobs for a connection.
  int connections = 4;
};

}  // namespace pagohub::config
