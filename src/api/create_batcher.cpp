#include "create_batcher.hpp"

#include <spdlog/spdlog.h>
#include <pagohub/http/metrics.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <set>
#include <tuple>
#include <utility>
#include <vector>

namespace pagohub::api {

namespace asio = boost::asio;

// One queued create: its input, its answer, and the channel its request waits on (thread-safe:
// the batch completes it from whichever thread resumed the batch).
struct create_batcher::slot {
  slot(asio::any_io_executor ex, positions::new_position i)
      : item(std::move(i)), done(std::move(ex), 1) {}
  positions::new_position item;
  answer result;
  asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
};

namespace {
create_batcher::settings sane(create_batcher::settings s) {
  if (s.max_batch == 0) s.max_batch = 1;
  if (s.in_flight == 0) s.in_flight = 1;
  return s;
}
}  // namespace

create_batcher::create_batcher(db::executor& db, settings s) : db_(db), settings_(sane(s)) {}

asio::awaitable<create_batcher::answer> create_batcher::create(positions::new_position item) {
  const auto ex = co_await asio::this_coro::executor;
  auto s = std::make_shared<slot>(ex, std::move(item));
  bool start = false;
  {
    const std::lock_guard lock(mutex_);
    queue_.push_back(s);
    if (may_run_another()) {
      ++running_;
      start = true;
    }
  }
  if (start) asio::co_spawn(ex, run(shared_from_this()), asio::detached);
  co_await s->done.async_receive(asio::use_awaitable);
  co_return std::move(s->result);
}

// `self` keeps the batcher alive while a batch runs (the coroutine frame holds it).
asio::awaitable<void> create_batcher::run([[maybe_unused]] std::shared_ptr<create_batcher> self) {
  for (;;) {
    std::vector<std::shared_ptr<slot>> batch;
    {
      const std::lock_guard lock(mutex_);
      // A batch that runs beside others waits until enough creates queue for it (see
      // may_run_another); the last one running takes whatever is left.
      --running_;
      if (queue_.empty() || !may_run_another()) co_return;
      ++running_;
      // create_many() wants distinct keys: a second create of one key waits for the next batch,
      // which then finds the first one's position (and its PUT replaces it, in order).
      std::set<std::tuple<std::string_view, std::string_view, std::string_view>> keys;
      for (auto it = queue_.begin(); it != queue_.end() && batch.size() < settings_.max_batch;) {
        const positions::position& p = (*it)->item.p;
        if (keys.emplace(p.entity_fiscal_code, p.application_id, p.external_id).second) {
          batch.push_back(std::move(*it));
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
    }
    std::vector<std::optional<positions::upsert_outcome>> results;
    bool failed = false;
    try {
      results = co_await db_.transact([&](pqxx::work& w) {
        // Copies: a transaction the executor runs again starts from the input again.
        std::vector<positions::new_position> items;
        items.reserve(batch.size());
        for (const auto& s : batch) items.push_back(s->item);
        return positions::create_many(w, std::move(items));
      });
      batches_.fetch_add(1, std::memory_order_relaxed);
    } catch (const std::exception& e) {
      // Each create runs again alone, where its own error (if any) is its own.
      failed_.fetch_add(batch.size(), std::memory_order_relaxed);
      spdlog::debug("a batch of {} creates failed, each runs alone: {}", batch.size(), e.what());
      results.assign(batch.size(), std::nullopt);
      failed = true;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (results[i]) {
        created_.fetch_add(1, std::memory_order_relaxed);
      } else if (!failed) {
        existing_.fetch_add(1, std::memory_order_relaxed);
      }
      batch[i]->result = answer{std::move(results[i]), !failed && !results[i]};
      batch[i]->done.try_send(boost::system::error_code{});
    }
  }
}

bool create_batcher::may_run_another() const {
  if (running_ == 0) return true;
  return running_ < settings_.in_flight && queue_.size() >= parallel_minimum();
}

std::size_t create_batcher::parallel_minimum() const {
  return std::max<std::size_t>(settings_.max_batch / 4, 2);
}

void create_batcher::append_metrics(std::string& out) const {
  const auto n = [](const std::atomic<std::uint64_t>& a) {
    return a.load(std::memory_order_relaxed);
  };
  http::append_counter(out, "pagohub_api_create_batches_total",
                       "Transactions that created positions for PUT and POST /positions.",
                       n(batches_));
  http::append_counter(
      out, "pagohub_api_batched_creates_total",
      "Creates passed through the batches: created, or handed back to run alone "
      "(key exists, batch failed).",
      "outcome",
      {{"created", n(created_)}, {"exists", n(existing_)}, {"batch_failed", n(failed_)}});
}

}  // namespace pagohub::api
