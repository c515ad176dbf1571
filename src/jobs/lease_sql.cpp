#include "lease_sql.hpp"

#include <pagohub/core/text.hpp>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <cmath>

namespace pagohub::jobs::detail {

claim_result claim_lease(pqxx::work& w, const lease_request& r) {
  // A slot that has not begun by the database server's clock comes from a daemon whose clock
  // is ahead. Run, it would record that slot done, and every daemon would then skip the job
  // until real time caught up with it: a day, or a year, of no sealing and no retention. The
  // daemon waits instead, and says why.
  if (w.exec_params1("SELECT to_timestamp($1::bigint) > now() + interval '5 minutes'",
                     r.slot_unix)[0]
          .as<bool>()) {
    spdlog::warn(
        "jobs: {}: this daemon's clock is more than five minutes ahead of the database "
        "server's; the job waits for the database's time (check the clocks' synchronisation)",
        r.name);
    return {claim_kind::busy, 0, std::chrono::minutes(1)};
  }
  // One statement decides, so two daemons racing for the row are serialised by its lock: the
  // loser's WHERE sees the winner's running_slot and expires_at, and takes nothing.
  const auto claimed = w.exec_params(
      R"(INSERT INTO job_leases AS l (name, holder, expires_at, ttl, running_slot)
         VALUES ($1, $2, now() + $4::bigint * interval '1 millisecond',
                 $4::bigint * interval '1 millisecond', to_timestamp($3::bigint))
         ON CONFLICT (name) DO UPDATE
            SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, ttl = EXCLUDED.ttl,
                running_slot = EXCLUDED.running_slot, updated_at = now()
          WHERE (l.done_slot IS NULL OR l.done_slot < EXCLUDED.running_slot)
            AND (l.expires_at <= now()
                 OR l.holder IS NULL
                 OR l.holder = EXCLUDED.holder
                 OR NOT EXISTS (SELECT 1 FROM daemon_instances d
                                 WHERE d.id = l.holder
                                   AND d.last_seen > now() - $5::bigint * interval '1 millisecond'))
         RETURNING 1)",
      r.name, r.instance_id, r.slot_unix, r.ttl_ms, r.stale_after_ms);
  if (!claimed.empty()) {
    // A run still 'running' lost its lease before its end was recorded: its daemon died, or
    // (when it was this daemon's) recording its outcome failed.
    w.exec_params0(
        R"(UPDATE job_runs SET outcome = 'abandoned', finished_at = now(),
                  detail = CASE WHEN instance_id = $2
                                THEN 'the end of this run could not be recorded'
                                ELSE 'the lease was taken over before the run was recorded as finished'
                           END
            WHERE name = $1 AND outcome = 'running')",
        r.name, r.instance_id);
    const auto run = w.exec_params1(
        "INSERT INTO job_runs (name, instance_id, slot) VALUES ($1, $2, to_timestamp($3::bigint)) "
        "RETURNING id",
        r.name, r.instance_id, r.slot_unix);
    return {claim_kind::acquired, run[0].as<std::int64_t>(), {}};
  }
  const auto row = w.exec_params1(
      "SELECT coalesce(extract(epoch FROM done_slot)::bigint, -1) >= $2::bigint, "
      "       greatest(extract(epoch FROM (expires_at - now())) * 1000, 0)::bigint "
      "  FROM job_leases WHERE name = $1",
      r.name, r.slot_unix);
  if (row[0].as<bool>()) return {claim_kind::done, 0, {}};
  return {claim_kind::busy, 0, std::chrono::milliseconds(row[1].as<std::int64_t>())};
}

bool finish_run(pqxx::work& w, const lease_request& r, const run_finish& f) {
  // Cut on a character boundary, without NUL: PostgreSQL would refuse the statement, and the
  // outcome would never be recorded.
  const std::string detail = core::utf8_cut(f.detail, 2000);
  w.exec_params0("UPDATE job_runs SET finished_at = now(), outcome = $2, detail = $3 WHERE id = $1",
                 f.run_id, f.ok ? "ok" : "failed", detail);
  const auto kept = w.exec_params(
      "UPDATE job_leases SET done_slot = greatest(done_slot, running_slot), running_slot = NULL, "
      "       expires_at = now(), updated_at = now() "
      " WHERE name = $1 AND holder = $2 "
      "   AND (running_slot = to_timestamp($3::bigint) "
      // An earlier try that committed without hearing so (connection lost during COMMIT)
      // released it already: the lease was kept all the same.
      "        OR (running_slot IS NULL AND done_slot >= to_timestamp($3::bigint)))",
      r.name, r.instance_id, r.slot_unix);
  return kept.affected_rows() == 1;
}

void register_instance(pqxx::work& w, const instance_info& i) {
  w.exec0("DELETE FROM daemon_instances WHERE last_seen < now() - interval '7 days'");
  w.exec_params0(
      "INSERT INTO daemon_instances (id, hostname, pid, version) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (id) DO UPDATE SET last_seen = now()",
      i.id, i.hostname, i.pid, i.version);
}

void heartbeat(pqxx::work& w, const instance_info& i) {
  const auto seen =
      w.exec_params("UPDATE daemon_instances SET last_seen = now() WHERE id = $1", i.id);
  if (seen.affected_rows() == 0) register_instance(w, i);
  w.exec_params0(
      "UPDATE job_leases SET expires_at = now() + ttl, updated_at = now() "
      " WHERE holder = $1 AND running_slot IS NOT NULL",
      i.id);
}

void unregister_instance(pqxx::work& w, const std::string& instance_id) {
  w.exec_params0(
      "UPDATE job_runs SET outcome = 'abandoned', finished_at = now(), "
      "       detail = 'the daemon stopped before the run ended' "
      " WHERE instance_id = $1 AND outcome = 'running'",
      instance_id);
  w.exec_params0(
      "UPDATE job_leases SET running_slot = NULL, expires_at = now(), updated_at = now() "
      " WHERE holder = $1",
      instance_id);
  w.exec_params0("DELETE FROM daemon_instances WHERE id = $1", instance_id);
}

}  // namespace pagohub::jobs::detail
