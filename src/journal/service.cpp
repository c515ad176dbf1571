#include <pagohub/journal/service.hpp>

#include <pagohub/journal/chain.hpp>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include <optional>
#include <string_view>
#include <type_traits>

#include "storage.hpp"

namespace pagohub::journal {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::string at_literal(std::chrono::system_clock::time_point at) {
  return detail::timestamptz_literal(
      std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count());
}

// lock_timeout for the rest of the transaction only: the pooled session keeps its default.
void limit_lock_wait(pqxx::transaction_base& w) {
  w.exec("SET LOCAL lock_timeout = '" + std::to_string(maintenance_lock_timeout.count()) + "ms'");
}

// 55P03 lock_not_available: lock_timeout expired (or NOWAIT found the lock taken).
bool lock_not_available(const pqxx::sql_error& e) {
  return e.sqlstate() == "55P03";
}

std::string lock_refusal(std::string_view what) {
  return std::string(what) + " postponed: the journal tables stayed locked for more than " +
         std::to_string(maintenance_lock_timeout.count()) +
         " ms (a long transaction on the journal); trying again at the next run";
}

// `fn` in a transaction whose lock waits are bounded (limit_lock_wait); nullopt when a lock was
// not had in time, for the next run to try again.
template <class F>
asio::awaitable<std::optional<std::invoke_result_t<F&, pqxx::work&>>> giving_way(db::executor& db,
                                                                                 F fn) {
  try {
    co_return co_await db.transact([&](pqxx::work& w) {
      limit_lock_wait(w);
      return fn(w);
    });
  } catch (const pqxx::sql_error& e) {
    if (!lock_not_available(e)) throw;
  }
  co_return std::nullopt;
}

}  // namespace

int ensure_partitions(pqxx::transaction_base& w, int months_ahead,
                      std::chrono::system_clock::time_point at) {
  return w
      .exec_params1("SELECT journal_ensure_partitions($1, $2::timestamptz)", months_ahead,
                    at_literal(at))[0]
      .as<int>();
}

std::vector<std::string> apply_retention(pqxx::transaction_base& w, int event_months,
                                         int payload_months,
                                         std::optional<std::chrono::system_clock::time_point> at) {
  std::vector<std::string> dropped;
  const std::optional<std::string> literal =
      at ? std::optional<std::string>(at_literal(*at)) : std::nullopt;
  for (const auto& r :
       w.exec_params("SELECT journal_apply_retention($1, $2, coalesce($3::timestamptz, now()))",
                     event_months, payload_months, literal))
    dropped.push_back(r[0].as<std::string>());
  return dropped;
}

service::service(db::executor& db, const config::journal_settings& settings,
                 const core::clock& clock, db::executor* writer_db)
    : db_(db),
      settings_(settings),
      clock_(clock),
      rules_(settings),
      writer_(writer_db != nullptr ? *writer_db : db, settings_, rules_, clock) {}

void service::prepare_storage() {
  const auto now = clock_.now();
  const int ahead = settings_.months_ahead;
  try {
    const int created = db_.transact_sync([&](pqxx::work& w) {
      limit_lock_wait(w);
      return ensure_partitions(w, ahead, now);
    });
    if (created > 0) spdlog::info("journal: created {} monthly partitions", created);
  } catch (const pqxx::sql_error& e) {
    if (!lock_not_available(e)) throw;
    // Not a reason to stay down: the DEFAULT partitions take the events of missing months.
    spdlog::warn("journal: {}", lock_refusal("creating partitions"));
  }
}

asio::awaitable<core::result<std::string>> service::maintain_partitions() {
  const auto now = clock_.now();
  const int ahead = settings_.months_ahead;
  const auto created =
      co_await giving_way(db_, [&](pqxx::work& w) { return ensure_partitions(w, ahead, now); });
  if (!created) co_return core::fail(core::errc::unavailable, lock_refusal("creating partitions"));
  co_return "created " + std::to_string(*created) + " partitions";
}

asio::awaitable<core::result<std::string>> service::apply_retention_now() {
  // By the database server's clock, not this daemon's: a daemon whose clock jumped months
  // ahead (a bad RTC, a wrong NTP answer) would otherwise drop every payload, or the whole
  // journal, at its next run, and a drop cannot be undone. Partitions are made ahead by the
  // daemon's clock (maintain_partitions), which only ever adds tables.
  const int keep = settings_.retention_months;
  const int keep_payloads = settings_.payload_retention_months;
  const auto dropped = co_await giving_way(
      db_, [&](pqxx::work& w) { return apply_retention(w, keep, keep_payloads); });
  if (!dropped)
    co_return core::fail(core::errc::unavailable,
                         lock_refusal("dropping partitions past retention"));
  std::string detail = "dropped " + std::to_string(dropped->size()) + " partitions";
  for (std::size_t i = 0; i < dropped->size(); ++i)
    detail += (i == 0 ? ": " : ", ") + (*dropped)[i];
  if (!dropped->empty()) spdlog::info("journal retention: {}", detail);
  co_return detail;
}

void service::start() {
  writer_.start();
}

void service::stop() {
  writer_.stop();
}

asio::awaitable<std::int64_t> service::seal_all() {
  std::int64_t total = 0;
  const auto until = std::chrono::steady_clock::now() + 60s;
  // The pages written since the last run are summarized into the transaction-id BRIN index
  // first, in a short transaction of their own: unsummarized ranges match every slice the
  // sealer reads (sql/0021). Failing that, sealing still works, only slower.
  try {
    co_await db_.transact([](pqxx::work& w) { w.exec_params1("SELECT journal_summarize_txid()"); });
  } catch (const pqxx::sql_error& e) {
    spdlog::warn("journal: could not summarize the sealer's index: {}", e.what());
  }
  for (;;) {
    const std::int64_t first_span = seal_span_.load(std::memory_order_relaxed);
    const auto r =
        co_await db_.transact([first_span](pqxx::work& w) { return seal(w, 50'000, first_span); });
    seal_span_.store(r.next_span, std::memory_order_relaxed);
    sealed_interfaccia_.fetch_add(static_cast<std::uint64_t>(r.interfaccia),
                                  std::memory_order_relaxed);
    sealed_interno_.fetch_add(static_cast<std::uint64_t>(r.interno), std::memory_order_relaxed);
    total += r.sealed;
    // A backlog (after an outage or a bulk load) is worked off in bounded runs, so that the
    // lease stays short and other jobs get the pool too.
    if (!r.more || std::chrono::steady_clock::now() > until) break;
  }
  co_return total;
}

void service::register_jobs(jobs::scheduler& s) {
  // A lock not obtained fails the run (job_runs says why, logged at warn by the scheduler);
  // the next slot tries again, long before the partitions made ahead run out.
  s.add({"journal.partitions", jobs::schedule::every(6h),
         [this](jobs::run_context) { return maintain_partitions(); }, std::chrono::seconds(300)});
  s.add({"journal.retention", jobs::schedule::daily_at(2, 30),
         [this](jobs::run_context) { return apply_retention_now(); }, std::chrono::seconds(600)});
  s.add({"journal.seal", jobs::schedule::every(settings_.seal_interval),
         [this](jobs::run_context) -> asio::awaitable<core::result<std::string>> {
           const auto n = co_await seal_all();
           co_return "chained " + std::to_string(n) + " events";
         },
         std::chrono::seconds(120)});
}

void service::append_metrics(std::string& out) const {
  writer_.append_metrics(out);
  out +=
      "# HELP pagohub_journal_events_sealed_total Committed journal events linked into the hash "
      "chain by this daemon's sealer, by category.\n";
  out += "# TYPE pagohub_journal_events_sealed_total counter\n";
  out += "pagohub_journal_events_sealed_total{category=\"INTERFACCIA\"} " +
         std::to_string(sealed_interfaccia_.load()) + "\n";
  out += "pagohub_journal_events_sealed_total{category=\"INTERNO\"} " +
         std::to_string(sealed_interno_.load()) + "\n";
}

}  // namespace pagohub::journal
