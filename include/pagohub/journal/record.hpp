#pragma once
// Recording INTERNO events inside the caller's transaction (ARCHITECTURE §5: a state change and
// its journal event commit together or not at all), and the payload rules every recorder
// applies.
#include <pagohub/config/journal_settings.hpp>
#include <pagohub/journal/canonical.hpp>
#include <pagohub/journal/event.hpp>
#include <pagohub/journal/redaction.hpp>

#include <pqxx/transaction_base>

#include <cstdint>
#include <optional>
#include <vector>

namespace pagohub::journal {

/// Which payloads are kept and how they are stored: the payload policy per exchange kind,
/// redaction, the size limit, compression. Immutable; share one per configuration.
class payload_rules {
 public:
  /// The rules of a [journal] section; journal_settings{} gives the defaults.
  explicit payload_rules(const config::journal_settings& settings);

  /// The stored form of e.message: redacted, compressed, with its digest to put in the event;
  /// nullopt when there is no message or the policy for e.interface keeps none.
  std::optional<stored_payload> prepare(const event& e) const;

  /// Whether prepare() would keep a payload of `e` (its interface and error state), without
  /// doing the work: callers skip copying bodies that would be thrown away.
  bool prepare_would_keep(const event& e) const;

  /// The default rules (journal_settings{}), for callers without a configuration.
  static const payload_rules& defaults();

 private:
  config::journal_settings settings_;
  redactor redactor_;
};

/// Records `e` (any category; normally INTERNO) in the transaction `w`, payload included, and
/// returns its id. Nothing is written until `w` commits, and a rollback removes the event with
/// the state change it describes. One INSERT (two with a payload): cheap enough for every
/// state change. Field values longer than their column are cut; an event time left at the
/// epoch becomes the current time. Throws what libpqxx throws.
std::int64_t record_internal(pqxx::transaction_base& w, const event& e,
                             const payload_rules& rules = payload_rules::defaults());

/// The set-based form for bulk work (an import's N state changes): one COPY for all of
/// `events`, in the transaction `w`. Returns their ids, in order.
std::vector<std::int64_t> record_internal_many(
    pqxx::transaction_base& w, const std::vector<event>& events,
    const payload_rules& rules = payload_rules::defaults());

}  // namespace pagohub::journal
