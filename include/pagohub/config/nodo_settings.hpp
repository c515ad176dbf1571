#pragma once
// The [nodo] section: how pagohubd calls pagoPA's Nodo (the PA->Nodo primitives, DIGEST §1.5,
// §2.2) and the old-model RPT push after paaAttivaRPT (docs/config-reference.md, docs/pagopa.md).
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace pagohub::config {

struct nodo_settings {
  /// Base URL of the NodoPerPa service (nodoInviaRPT, nodoChiediCopiaRT, nodoInviaRichiestaStorno,
  /// nodoChiediInformativaPSP). Empty = those calls are not made (the RPT push waits).
  std::string nodo_per_pa_url{};
  /// Base URL of the nodeForPa service (nodoChiediElencoFlussiRendicontazione,
  /// nodoChiediFlussoRendicontazione). Empty = not configured.
  std::string node_for_pa_url{};
  /// Base URL of the digital notices service (nodoInviaAvvisoDigitale). Empty = not configured.
  std::string avvisi_digitali_url{};
  /// TLS: the CA bundle that signs the Nodo's certificate (empty = the system trust store) and
  /// the station's client certificate and key (pagoPA requires mTLS toward the Nodo).
  std::string ca_file{};
  std::string cert_file{};
  std::string key_file{};
  /// The station's password (stPassword, 8..15 characters) of the old-model primitives: the
  /// password of every station without a `[[nodo.station]]` entry of its own. Secret: from
  /// `password_file` or `password_env` in production.
  std::string password{};
  /// `[[nodo.station]]`: station id -> that station's own password. pagoPA gives each station
  /// a password of its own, and an entity may be served by a station other than [daemon]'s.
  std::map<std::string, std::string, std::less<>> station_passwords{};
  /// API-Management subscription key sent as `subscription_key_header`; empty = none. Secret.
  std::string subscription_key{};
  std::string subscription_key_header = "Ocp-Apim-Subscription-Key";
  std::chrono::milliseconds connect_timeout{5'000};
  /// Whole exchange (connect, send, read) deadline of one call.
  std::chrono::milliseconds request_timeout{30'000};
  /// Idle keep-alive connections kept per service.
  std::size_t max_idle_connections = 4;
  /// Largest response body accepted (a reporting flow can be large).
  std::size_t max_response_bytes = std::size_t{32} << 20;

  /// The RPT push (paaAttivaRPT -> nodoInviaRPT): on by default when nodo_per_pa_url is set.
  bool rpt_push = true;
  /// How often the push looks for activations due.
  std::chrono::milliseconds rpt_poll_interval{1'000};
  /// Attempts before an activation's push is given up (push_state FAILED).
  int rpt_max_attempts = 10;
  /// Backoff between attempts: base * 2^(attempt-1), at most rpt_retry_max.
  std::chrono::milliseconds rpt_retry_base{5'000};
  std::chrono::milliseconds rpt_retry_max{600'000};

  /// The password sent for `station_id`: its `[[nodo.station]]` entry, else `password`. Empty
  /// when neither is set.
  const std::string& password_for(std::string_view station_id) const {
    const auto it = station_passwords.find(station_id);
    return it == station_passwords.end() ? password : it->second;
  }
};

}  // namespace pagohub::config
