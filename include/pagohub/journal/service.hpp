#pragma once
// The journal as the daemon runs it: the writer, the payload rules, and the jobs that keep the
// storage in shape (partitions ahead, retention, the sealer). app/ builds one and wires it.
#include <pagohub/config/journal_settings.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/core/error.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/jobs/scheduler.hpp>
#include <pagohub/journal/record.hpp>
#include <pagohub/journal/writer.hpp>

#include <boost/asio/awaitable.hpp>
#include <pqxx/transaction_base>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagohub::journal {

/// Creates the monthly partitions of journal_events, journal_payloads and journal_chain from
/// the month of `at` to `months_ahead` months later; returns how many tables it created.
int ensure_partitions(pqxx::transaction_base& w, int months_ahead,
                      std::chrono::system_clock::time_point at);

/// Drops the monthly partitions past retention (events and chain: `event_months` full months
/// before the month of `at`, the database server's clock when not given; payloads:
/// `payload_months`). Returns the tables dropped.
std::vector<std::string> apply_retention(
    pqxx::transaction_base& w, int event_months, int payload_months,
    std::optional<std::chrono::system_clock::time_point> at = std::nullopt);

/// How long partition maintenance waits for its locks. Creating or dropping a partition takes
/// an ACCESS EXCLUSIVE lock on its journal table, and every insert into that table (the events
/// of state changes among them) queues behind the waiting request: behind a long transaction
/// on the journal (a verify, a bulk import) it must give way instead, and try again later.
inline constexpr std::chrono::milliseconds maintenance_lock_timeout{2000};

class service {
 public:
  /// `writer_db`, when given, is the writer's own pool (one connection is all it uses): its
  /// batches then never wait behind the work of `db`, which the jobs use. Null: `db`.
  service(db::executor& db, const config::journal_settings& settings, const core::clock& clock,
          db::executor* writer_db = nullptr);
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  /// Before serving: creates the partitions months_ahead ahead (blocking, through the
  /// executor), so the first events land in their month's partition. Locks not obtained
  /// within maintenance_lock_timeout are logged and left to the journal.partitions job: the
  /// DEFAULT partitions take the events meanwhile.
  void prepare_storage();

  /// What the journal.partitions job runs: partitions months_ahead ahead of the clock's now.
  /// "created N partitions", or errc::unavailable when a lock was not obtained within
  /// maintenance_lock_timeout (the next run tries again). Database failures throw.
  boost::asio::awaitable<core::result<std::string>> maintain_partitions();

  /// What the journal.retention job runs: drops the partitions past retention, counted from the
  /// database server's clock. "dropped N partitions: names...", or errc::unavailable as
  /// maintain_partitions().
  boost::asio::awaitable<core::result<std::string>> apply_retention_now();

  /// Registers the journal's jobs: journal.partitions (every 6 hours), journal.retention
  /// (daily at 02:30 UTC) and journal.seal (every seal_interval).
  void register_jobs(jobs::scheduler& s);

  /// Starts the writer.
  void start();
  /// Drains and stops the writer (blocking; after the I/O threads are done).
  void stop();

  /// Where INTERFACCIA events go.
  journal::writer& events() noexcept { return writer_; }
  /// The payload rules of this configuration, for record_internal().
  const payload_rules& rules() const noexcept { return rules_; }

  /// One sealer pass over everything committed (several transactions of up to 50,000 events):
  /// what the journal.seal job runs. Returns the events chained.
  boost::asio::awaitable<std::int64_t> seal_all();

  /// The writer's metrics plus pagohub_journal_events_sealed_total{category}: every committed
  /// event, whichever path wrote it, counted once when the sealer chains it.
  void append_metrics(std::string& out) const;

 private:
  db::executor& db_;
  config::journal_settings settings_;
  const core::clock& clock_;
  payload_rules rules_;
  writer writer_;
  std::atomic<std::uint64_t> sealed_interfaccia_{0};
  std::atomic<std::uint64_t> sealed_interno_{0};
  /// The sealer's first slice span, carried from one run to the next (seal_result::next_span).
  std::atomic<std::int64_t> seal_span_{16};
};

}  // namespace pagohub::journal
