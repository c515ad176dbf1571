#include "held_receipts_job.hpp"

#include <pagohub/pap/receipts.hpp>
#include <pqxx/pqxx>

#include <string>

namespace pagohub::app {

namespace {
// Receipts per transaction: each holds its position's lock until the commit.
constexpr int batch_rows = 50;
}  // namespace

jobs::job_spec held_receipts_job(db::executor& db, const journal::payload_rules& rules,
                                 const core::clock& clock) {
  // Every 30 s: a held receipt is applied soon after the transaction that locked its position
  // ends, and a run that finds none costs one index probe.
  return {"pap.held-receipts", jobs::schedule::every(std::chrono::seconds(30)),
          [&db, &rules,
           &clock](jobs::run_context) -> boost::asio::awaitable<core::result<std::string>> {
            pap::held_receipts total;
            for (;;) {
              const auto now = clock.now();
              const auto done = co_await db.transact([&](pqxx::work& w) {
                return pap::apply_held_receipts(w, rules, now, batch_rows);
              });
              total.applied += done.applied;
              total.stored += done.stored;
              total.still_held += done.still_held;
              if (done.still_held > 0 || done.applied + done.stored < batch_rows) break;
            }
            co_return "applied " + std::to_string(total.applied) + ", stored " +
                std::to_string(total.stored) + ", still held " + std::to_string(total.still_held);
          },
          std::chrono::seconds(120)};
}

}  // namespace pagohub::app
