#pragma once
// The hash chain that makes the journal tamper-evident (docs/journal.md "Hash chain").
//
// Why a sealer rather than hashing at insert: INTERNO events are inserted by many transactions
// at once (each inside its own state change), and they commit in an order nobody controls.
// Chaining at insert would need one lock held from each insert to its commit, serialising
// every state change of the gateway on the chain head. Instead, events are inserted freely and
// a background job, the sealer, links committed events into each month's chain afterwards, in
// (transaction id, event id) order. It takes only events of transactions older than the
// oldest transaction still running (pg_snapshot_xmin): no transaction can still commit an
// event before them, so the order it writes is final. Cost: events are chained a few seconds
// after their commit (seal_interval), and a long-running transaction delays the chaining (not
// the recording) of everything after it; one journal_chain row per event.
#include <pagohub/journal/canonical.hpp>

#include <pqxx/connection>
#include <pqxx/transaction_base>

#include <compare>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::journal {

/// What one seal() call chained.
struct seal_result {
  std::int64_t sealed = 0;  ///< events linked into their month's chain
  std::int64_t interfaccia = 0;
  std::int64_t interno = 0;
  bool more = false;  ///< the limit was reached: call again
  /// The transaction-id span to start the next call with: sized from the events per
  /// transaction this call met, so that a steady load is read in one slice.
  std::int64_t next_span = 16;
};

/// Links up to `max_events` committed, unchained events into their months' chains, in the
/// transaction `w` (which must be READ COMMITTED or stronger; journal_seal_state's row lock
/// serialises concurrent sealers).
seal_result seal(pqxx::transaction_base& w, std::int64_t max_events = 50'000,
                 std::int64_t first_span = 16);

/// A month of the journal, 1..12.
struct year_month {
  int year = 0;
  unsigned month = 0;
  auto operator<=>(const year_month&) const = default;
};

/// "2024-05" -> {2024, 5}; nullopt when malformed.
std::optional<year_month> parse_year_month(std::string_view text);

/// The verdict on one month's chain.
struct month_report {
  year_month month;
  bool ok = true;
  std::int64_t chained = 0;   ///< links checked
  std::int64_t unsealed = 0;  ///< events not chained yet (newer than the sealer's position)
  std::int64_t payloads_checked = 0;
  std::string problem;  ///< the first broken link, for people; empty when ok
};

/// Recomputes the chains of the months from..to (inclusive) from the stored events: every
/// link's hash, the continuity of the sequence, that each chained event still exists, that
/// the chain ends where the head says, that no event the sealer has passed is missing from
/// the chain, and that each stored payload still matches its digest. Reads in one REPEATABLE
/// READ, read-only transaction on `c`; prints one line per month to `out` as it goes.
std::vector<month_report> verify(pqxx::connection_base& c, year_month from, year_month to,
                                 std::ostream& out);

/// `pagohubd journal verify --from YYYY-MM [--to YYYY-MM]` (and `journal help`): the exit code
/// (0 every month OK, 1 a broken link, 2 bad arguments). `args` are the words after
/// "journal".
int run_command(const std::string& conninfo, const std::vector<std::string>& args,
                std::ostream& out, std::ostream& err);

}  // namespace pagohub::journal
