#include "lifecycle_job.hpp"

#include <pagohub/positions/store.hpp>
#include <pqxx/pqxx>

#include <string>
#include <vector>

namespace pagohub::app {

namespace {
// Rows moved per transaction: a backlog (a long outage, the first run after turning expiry on)
// is worked through in short transactions instead of one that locks everything it moves.
constexpr int batch_rows = 5000;
}  // namespace

jobs::job_spec lifecycle_job(db::executor& db, const config::registry_holder& registry,
                             const core::clock& clock) {
  return {"positions.lifecycle", jobs::schedule::every(std::chrono::minutes(5)),
          [&db, &registry,
           &clock](jobs::run_context) -> boost::asio::awaitable<core::result<std::string>> {
            std::vector<positions::expiring_service> expiring;
            // Held for the loop: the range-for keeps the vector's reference, not the
            // snapshot's owner, and a reload may drop the holder's at any time.
            const auto snapshot = registry.get();
            for (const auto& e : snapshot->all()) {
              if (!e.enabled) continue;
              for (const auto& s : e.services)
                if (s.expires_after_due_date) expiring.push_back({e.fiscal_code.str(), s.code});
            }
            positions::lifecycle_counts total;
            for (;;) {
              const auto now = clock.now();
              const auto moved = co_await db.transact([&](pqxx::work& w) {
                return positions::advance_lifecycle(w, now, expiring, batch_rows);
              });
              total.validated += moved.validated;
              total.expired += moved.expired;
              if (moved.validated < batch_rows && moved.expired < batch_rows) break;
            }
            co_return "validated " + std::to_string(total.validated) + ", expired " +
                std::to_string(total.expired);
          },
          std::chrono::seconds(300)};
}

}  // namespace pagohub::app
