#pragma once
// Creates of debt positions that arrive together, written together: one transaction and one
// statement (positions::create_many) for many PUT and POST /positions requests, whose cost in
// PostgreSQL is mostly per statement and per commit (docs/positions.md "Performance").
//
// There is no waiting for a batch to fill: a create that finds no batch running starts one at
// once, with whatever else is queued then; the others queue while it runs, and the next batch
// takes them. At low load every batch holds one create; under load batches grow and the
// database does less per create. More batches (up to `in_flight`) run side by side only while
// a quarter of max_batch creates wait: a transaction costs about a millisecond of database time
// whatever it holds, and two running at once with a few creates each cost a third more per
// create than one running with all of them.
#include <pagohub/db/executor.hpp>
#include <pagohub/positions/store.hpp>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace pagohub::api {

class create_batcher : public std::enable_shared_from_this<create_batcher> {
 public:
  struct settings {
    std::size_t max_batch = 64;  ///< creates per transaction; 1 turns batching off
    std::size_t in_flight = 2;   ///< batches running at once (each holds a DB connection)
  };

  create_batcher(db::executor& db, settings s);

  /// What became of a create.
  struct answer {
    /// The position as created; empty when the caller writes it in a transaction of its own.
    std::optional<positions::upsert_outcome> created;
    /// Not created because its key is taken (a PUT then replaces: positions::upsert_existing).
    /// When neither, the batch's transaction failed (a unique violation, a lost connection...):
    /// nothing of it is stored, and one create's trouble must not answer for the others.
    bool exists = false;
  };

  /// Creates `item` in the next batch.
  boost::asio::awaitable<answer> create(positions::new_position item);

  /// True when create() is worth calling: batching is on.
  bool enabled() const noexcept { return settings_.max_batch > 1; }

  /// pagohub_api_create_batches_total, pagohub_api_batched_creates_total{outcome}.
  void append_metrics(std::string& out) const;

 private:
  struct slot;
  boost::asio::awaitable<void> run(std::shared_ptr<create_batcher> self);
  /// Under mutex_: whether one more batch may start now. One always may, when none runs; more
  /// (up to in_flight) only when parallel_minimum() creates wait, so that batches running side
  /// by side are worth their fixed cost.
  bool may_run_another() const;
  std::size_t parallel_minimum() const;

  db::executor& db_;
  const settings settings_;
  std::mutex mutex_;
  std::deque<std::shared_ptr<slot>> queue_;
  std::size_t running_ = 0;
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> created_{0};
  std::atomic<std::uint64_t> existing_{0};
  std::atomic<std::uint64_t> failed_{0};
};

}  // namespace pagohub::api
