#pragma once
// Exceptions the DB executor adds to libpqxx's own. They derive from the libpqxx classes they
// refine, so code that already handles pqxx::broken_connection or pqxx::in_doubt_error keeps
// working, while a handler boundary can map them precisely (errc::unavailable, HTTP 503).
#include <pqxx/except>

#include <exception>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::db {

/// The database could not be reached within the executor's retry budget, or the executor is
/// stopping. Nothing was committed. Handlers map it to errc::unavailable.
class unavailable_error : public pqxx::broken_connection {
 public:
  explicit unavailable_error(const std::string& what) : pqxx::broken_connection(what) {}
};

/// executor::transact_until: no worker took the transaction before its deadline, so it was
/// withdrawn from the queue and never ran; or executor::transact_within: its body was still
/// running at the deadline, and the transaction was cancelled and rolled back. Nothing was
/// committed.
class deadline_error : public unavailable_error {
 public:
  explicit deadline_error(const std::string& what) : unavailable_error(what) {}
};

/// The connection was lost while COMMIT was in flight: the transaction may or may not have
/// been applied. The executor never retries this blindly, since running the work again could
/// apply it twice; callers re-read the state (idempotency keys make that safe) or report it.
class commit_unknown_error : public pqxx::in_doubt_error {
 public:
  explicit commit_unknown_error(const std::string& what) : pqxx::in_doubt_error(what) {}
};

/// Thrown by a transaction body to roll its work back on purpose: an expected refusal found
/// after some writes (an upload that found its application's queue full, a looked-up position
/// the domain refuses to store). The executor rolls back, does not retry, hands it to the caller,
/// and counts it in pool_stats::rollbacks, not in failures, which alerts watch for the
/// database's and the code's own failures. Derive the refusal's type from it.
class rollback : public std::exception {
 public:
  const char* what() const noexcept override { return "rolled back on purpose"; }
};

/// Why a transaction failed for want of the database rather than for a defect, in words for a
/// 503 answer: "the database is not reachable" (a lost connection, a database down, the executor
/// stopping); "the database did not finish the request in time" (SQLSTATE 57014 or 55P03: the
/// statement or lock timeout ran out, most often waiting for a row another transaction holds,
/// or on a database under strain); "the database accepts no changes now" (25006: a standby, or
/// a failover under way); "the database is short of resources" (class 53: disk full, out of
/// memory, too many connections); "the request met concurrent changes too often" (class 40,
/// after the executor's retries); "the database could not read or write its storage" (class
/// 58). Either way the transaction rolled back. nullopt for anything else (a commit whose
/// outcome is unknown included), which callers let reach their handler boundary.
std::optional<std::string_view> unavailable_reason(const std::exception& e) noexcept;

/// The message of a failure, for logs and error answers: what() without the line break that
/// libpqxx and libpq end theirs with; "unknown error" for anything not a std::exception.
std::string describe(const std::exception_ptr& failure);

}  // namespace pagohub::db
