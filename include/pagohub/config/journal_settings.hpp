#pragma once
// The [journal] section: the event journal's queue, retention and payload rules
// (docs/config-reference.md, docs/journal.md).
#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::config {

/// When an event's message body is stored ([journal.payload_policy]).
enum class payload_policy {
  always,    ///< every event's payload
  on_error,  ///< only for exchanges that failed (outcome KO, HTTP >= 400, a fault)
  never,     ///< none: only the event's fields
};

/// "always", "on_error", "never".
std::string_view to_string(payload_policy p) noexcept;

/// The exchange kinds a payload policy can be set for (journal::interface_kind's names).
inline constexpr std::string_view journal_interfaces[] = {"rest",    "soap_pa", "soap_nodo",
                                                          "webhook", "import",  "internal"};

struct journal_settings {
  /// Record INTERFACCIA events (requests and responses). Off only to measure its cost: pagoPA
  /// requires them (DIGEST §7). INTERNO events are always recorded.
  bool enabled_interfaccia = true;
  /// Events waiting to be written; when full, events of exchanges that changed nothing are
  /// dropped (counted and logged), others wait for room.
  std::size_t queue_capacity = 10000;
  /// Bytes of payloads waiting to be written; past it the queue counts as full.
  std::size_t queue_max_bytes = std::size_t{64} << 20;
  /// An event waits at most this long before its batch is written.
  std::chrono::milliseconds flush_interval{200};
  /// Events per write (one COPY).
  std::size_t batch_size = 500;
  /// Full months of events kept before the current one; older monthly partitions are dropped.
  int retention_months = 120;
  /// Full months of payloads kept (at most retention_months): payloads go first.
  int payload_retention_months = 13;
  /// Monthly partitions created ahead of the current month.
  int months_ahead = 3;
  /// Larger message bodies are not stored (the event notes their size).
  std::size_t payload_max_bytes = std::size_t{1} << 20;
  /// How often committed events are linked into the hash chain.
  std::chrono::seconds seal_interval{5};
  /// Payload policy per exchange kind; kinds not listed use "default".
  std::map<std::string, payload_policy, std::less<>> payload_policies = {
      {"default", payload_policy::on_error}, {"rest", payload_policy::on_error},
      {"soap_pa", payload_policy::always},   {"soap_nodo", payload_policy::always},
      {"webhook", payload_policy::on_error}, {"import", payload_policy::never},
      {"internal", payload_policy::always}};
  /// Personal-data field names (JSON keys, XML element names, form fields; case-insensitive)
  /// whose values are masked in stored payloads, besides the secrets always masked.
  std::vector<std::string> personal_data_fields = {"fullName",
                                                   "full_name",
                                                   "name",
                                                   "surname",
                                                   "debtor",
                                                   "payer",
                                                   "fiscalCode",
                                                   "uniqueIdentifierValue",
                                                   "entityUniqueIdentifierValue",
                                                   "email",
                                                   "e-mail",
                                                   "phone",
                                                   "streetName",
                                                   "civicNumber",
                                                   "postalCode",
                                                   "city",
                                                   "address",
                                                   "anagraficaPagatore",
                                                   "anagraficaVersante",
                                                   "codiceIdentificativoUnivoco",
                                                   "indirizzoPagatore",
                                                   "e-mailPagatore",
                                                   "soggettoPagatore",
                                                   "soggettoVersante"};

  /// The policy for an exchange kind.
  payload_policy policy_for(std::string_view interface) const;
};

}  // namespace pagohub::config
