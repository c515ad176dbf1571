#pragma once
// The SQL behind the scheduler: lease claims, run records, the instance heartbeat. Each
// function runs inside the caller's executor transaction.
#include <pqxx/transaction>

#include <chrono>
#include <cstdint>
#include <string>

namespace pagohub::jobs::detail {

struct lease_request {
  const std::string& name;
  const std::string& instance_id;
  std::int64_t slot_unix;  ///< the slot's start, Unix seconds
  std::int64_t ttl_ms;
  std::int64_t stale_after_ms;
};

enum class claim_kind { acquired, done, busy };

struct claim_result {
  claim_kind kind = claim_kind::busy;
  std::int64_t run_id = 0;                ///< acquired: the job_runs row
  std::chrono::milliseconds busy_for{0};  ///< busy: until the holder's lease runs out
};

/// Takes the lease for the slot when it is free (expired, released, or held by a daemon whose
/// heartbeat is stale) and the slot is not done yet; records the run as started. Runs of the
/// job still 'running' then (their lease was lost, or their end could not be recorded) become
/// 'abandoned'.
claim_result claim_lease(pqxx::work& w, const lease_request& r);

struct run_finish {
  std::int64_t run_id;
  bool ok;
  std::string detail;
};

/// Records the run's outcome and releases the lease, marking the slot done. False when the
/// lease had meanwhile passed to another daemon (the outcome is still recorded). Safe to
/// repeat after a try whose COMMIT was lost.
bool finish_run(pqxx::work& w, const lease_request& r, const run_finish& f);

struct instance_info {
  const std::string& id;
  const std::string& hostname;
  int pid;
  const std::string& version;
};

/// Inserts (or refreshes) the daemon_instances row; forgets instances silent for a week.
void register_instance(pqxx::work& w, const instance_info& i);

/// Refreshes last_seen (re-inserting the row if someone removed it) and renews the leases of
/// runs in flight.
void heartbeat(pqxx::work& w, const instance_info& i);

/// At stop: unfinished runs become 'abandoned', leases are freed, the instance row goes.
void unregister_instance(pqxx::work& w, const std::string& instance_id);

}  // namespace pagohub::jobs::detail
