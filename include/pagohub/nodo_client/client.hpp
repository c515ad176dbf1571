#pragma once
// The SOAP client toward pagoPA's Nodo (ARCHITECTURE §2 `nodo/`, §4 "outbound HTTP"): async
// Beast over HTTP or HTTPS with the station's client certificate (mTLS), keep-alive connections
// per service, a deadline per call; requests serialized and answers read by the codec. Every
// call returns its exchange (bodies, status, times) next to the result, so callers journal it
// (INTERFACCIA req/rsp, interface soap_nodo) in the transaction that records the outcome.
#include <pagohub/config/nodo_settings.hpp>
#include <pagohub/core/error.hpp>
#include <pagohub/nodo_client/messages.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::nodo_client {

/// One exchange as it happened, for the journal. The station password inside `request_body`
/// is masked by the journal's redaction rules (the `password` element).
struct exchange_trace {
  operation op{};
  std::string url;
  std::string request_body;
  std::optional<unsigned> http_status;  ///< absent when no answer was read
  std::string response_body;
  std::chrono::system_clock::time_point started{}, finished{};
  /// Why no answer was read (unreachable, deadline passed, service not configured).
  std::optional<core::error> transport_error;
};

/// A call's result and its exchange. `value` fails with errc::unavailable or errc::timeout
/// when the Nodo could not be reached or did not answer in time, errc::invalid_input when the
/// answer could not be read, errc::invalid_input "not configured" when the service has no URL.
/// A faultBean is a value: the response's `fault`.
template <class T>
struct reply {
  core::result<T> value;
  exchange_trace trace;
};

/// The credentials of a call made for `station_id` and `broker_id` (an entity served by a
/// station of its own): `own` when `station_id` is empty or `own`'s; otherwise that station,
/// with its password from `settings` (nodo_settings::password_for: its `[[nodo.station]]`
/// entry, else `[nodo] password`). An empty `broker_id` keeps `own`'s broker.
station_credentials credentials_for(const config::nodo_settings& settings,
                                    const station_credentials& own, std::string_view station_id,
                                    std::string_view broker_id);

class client {
 public:
  /// `station` is who calls when a request names no station of its own; its password is
  /// normally `settings.password_for(station.station_id)`. Throws std::invalid_argument when a
  /// URL is malformed or a TLS file cannot be loaded.
  client(boost::asio::any_io_executor ex, config::nodo_settings settings,
         station_credentials station);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Whether the service answering `op` has a URL.
  bool configured(operation op) const noexcept;

  boost::asio::awaitable<reply<invia_rpt_response>> invia_rpt(invia_rpt_request rq);
  boost::asio::awaitable<reply<chiedi_copia_rt_response>> chiedi_copia_rt(
      chiedi_copia_rt_request rq);
  boost::asio::awaitable<reply<esito_response>> invia_richiesta_storno(
      invia_richiesta_storno_request rq);
  boost::asio::awaitable<reply<elenco_flussi_response>> chiedi_elenco_flussi(
      elenco_flussi_request rq);
  boost::asio::awaitable<reply<flusso_response>> chiedi_flusso(flusso_request rq);

  /// The raw exchange behind the typed calls: POSTs `envelope` with SOAPAction `op` to its
  /// service. `trace.http_status` is set when an answer was read (any status).
  boost::asio::awaitable<exchange_trace> post(operation op, std::string envelope);

  const station_credentials& station() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace pagohub::nodo_client
