#include "outbox_purge_job.hpp"

#include <pagohub/integration/outbox.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <string>

namespace pagohub::app {

namespace {
// Messages per transaction: short ones, that delivery's claims never wait long behind.
constexpr int batch_rows = 5000;
// A run that has not caught up by then (the first after retention is turned on, over years of
// messages) leaves the rest to the next day's, and the lease stays short.
constexpr auto run_budget = std::chrono::minutes(10);
}  // namespace

jobs::job_spec outbox_purge_job(db::executor& db, const core::clock& clock, int retention_days) {
  // 03:15 UTC: a quiet hour for the back-offices, away from the journal's retention (02:30).
  return {"integration.outbox-purge", jobs::schedule::daily_at(3, 15),
          [&db, &clock,
           retention_days](jobs::run_context) -> boost::asio::awaitable<core::result<std::string>> {
            const auto before = clock.now() - std::chrono::days(retention_days);
            const auto until = std::chrono::steady_clock::now() + run_budget;
            std::int64_t total = 0;
            for (;;) {
              const auto n = co_await db.transact([&](pqxx::work& w) {
                return integration::purge_finished(w, before, batch_rows);
              });
              total += n;
              if (n < batch_rows || std::chrono::steady_clock::now() > until) break;
            }
            co_return "purged " + std::to_string(total) + " messages that ended more than " +
                std::to_string(retention_days) + " days ago";
          },
          std::chrono::minutes(15)};
}

}  // namespace pagohub::app
