#pragma once
// One event of the Giornale degli Eventi (SANP2 ch. 6, Tab. 29; DIGEST §7): the SANP minimum
// record plus what pagohub adds to correlate and explain it. docs/journal.md describes every
// field and what is recorded when.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pagohub::journal {

/// categoriaEvento (DIGEST §7).
enum class category {
  interfaccia,  ///< an exchange with another system: each request and each response
  interno,      ///< an internal event, such as a state change
};

/// "INTERFACCIA" / "INTERNO", as SANP spells them.
std::string_view to_string(category c) noexcept;

/// Which kind of exchange an event belongs to: selects the payload policy
/// ([journal.payload_policy]) and is stored with the event.
enum class interface_kind {
  rest,       ///< REST API of the back-offices, operators and admins (inbound)
  soap_pa,    ///< SOAP endpoints pagoPA's Nodo calls (inbound)
  soap_nodo,  ///< SOAP calls to the Nodo (outbound)
  webhook,    ///< calls to back-office webhooks (outbound)
  import,     ///< bulk imports: uploads, validation and load results
  internal,   ///< no exchange: state changes, daemon lifecycle, configuration
};

/// "rest", "soap_pa", "soap_nodo", "webhook", "import", "internal".
std::string_view to_string(interface_kind k) noexcept;

/// Who caused the event. Stored as kind and id ("application" "tari-bo").
struct actor {
  /// "system" (the daemon itself), "application" (a back-office's API key), "operator",
  /// "admin", "nodo" (pagoPA), "citizen", "job" (a scheduled job).
  std::string kind = "system";
  /// Application id, operator login, job name...; never a credential. Up to 128 characters.
  std::string id = "pagohubd";
};

/// A message body as exchanged. The journal redacts secrets and configured personal-data
/// fields, then compresses it, before it is stored ([journal] payload settings).
struct payload {
  std::string content_type;  ///< "application/json", "text/xml; charset=utf-8"...
  /// HTTP headers worth keeping; Authorization, X-API-Key, cookies and the like are masked.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// One event. SANP fields keep their Italian names in comments; all text fields are stored
/// trimmed to their column length (35 characters for most SANP fields).
struct event {
  using time_point = std::chrono::system_clock::time_point;

  /// dataOraEvento, UTC. When left at the epoch, the recorder uses its clock.
  time_point time{};
  category cat = category::interno;    ///< categoriaEvento
  std::string entity_fc;               ///< identificativoDominio (may be empty)
  std::string iuv;                     ///< identificativoUnivocoVersamento
  std::string ccp;                     ///< codiceContestoPagamento (token)
  std::string psp_id;                  ///< identificativoPrestatoreServiziPagamento
  std::string payment_type;            ///< tipoVersamento
  std::string component = "pagohubd";  ///< componente: the module ("positions")
  std::string type;                    ///< tipoEvento ("paSendRT", "positionCreated")
  std::string subtype;                 ///< sottoTipoEvento ("req", "rsp", ...)
  std::string caller_id;               ///< identificativoFruitore
  std::string provider_id;             ///< identificativoErogatore
  std::string station_id;              ///< identificativoStazioneIntermediarioPA
  std::string channel_id;              ///< canalePagamento
  std::string interface_params;        ///< parametriSpecificiInterfaccia (<= 512)
  std::string outcome;                 ///< esito: "OK", "KO", ...
  std::string request_id;              ///< X-Request-Id of the exchange
  std::string notice_number;           ///< 18 digits, or empty
  actor by;                            ///< who caused it
  std::optional<int> duration_ms;      ///< of the exchange (rsp events)
  std::optional<int> http_status;      ///< HTTP status answered or received
  std::string fault_code;              ///< PAA_/PPT_ fault or domain error code
  interface_kind interface = interface_kind::internal;
  std::optional<payload> message;  ///< the request or response body

  /// True when the event reports a failure: an outcome other than OK, an HTTP status of 400
  /// or more, or a fault code. The `on_error` payload policy keeps payloads of these.
  bool is_error() const noexcept;
};

/// The two events of one synchronous exchange, req and rsp (SANP: sottoTipoEvento), sharing
/// the request id and the SANP identifiers. make_events() fills them from this description.
struct exchange {
  category cat = category::interfaccia;
  interface_kind interface = interface_kind::rest;
  std::string component = "api";
  std::string type;  ///< tipoEvento: the SOAP operation or REST action ("createPosition")
  std::string entity_fc, iuv, ccp, psp_id, payment_type, station_id, channel_id;
  std::string notice_number;
  std::string interface_params;
  std::string caller_id;    ///< identificativoFruitore: who sent the request
  std::string provider_id;  ///< identificativoErogatore: who answered
  std::string request_id;
  actor by;
  event::time_point started{};   ///< request received (or sent)
  event::time_point finished{};  ///< response sent (or received)
  std::optional<int> http_status;
  std::string fault_code;
  std::string outcome;  ///< "OK" / "KO"; empty: derived from http_status and fault_code
  std::optional<payload> request;
  std::optional<payload> response;
};

/// The req and rsp events of `x`: the req at `started`, the rsp at `finished` with duration,
/// HTTP status and fault. Both carry the exchange's esito (DIGEST §7 asks for it on requests),
/// so with the `on_error` policy both payloads of a failed exchange are kept.
std::pair<event, event> make_events(exchange x);

}  // namespace pagohub::journal
