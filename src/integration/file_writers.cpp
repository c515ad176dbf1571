#include "file_writers.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "file_drop.hpp"

namespace pagohub::integration::detail {

namespace asio = boost::asio;
using asio::experimental::awaitable_operators::operator||;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// One batch's files, shared by the writing thread and the batch, which may stop waiting first.
struct batch_state {
  batch_state(const asio::any_io_executor& ex, std::size_t n) : done(ex, 1), results(n) {}
  asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
  std::mutex mutex;
  std::vector<file_result> results;
  bool abandoned = false;  // the batch stopped waiting: start nothing more
  bool stuck = false;      // ... with a write under way: its queue is stuck until it ends
  std::chrono::steady_clock::time_point stuck_since{};  // when that write began
};

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

file_writers::file_writers(std::size_t threads,
                           std::function<void(const std::string& integration)> before_write)
    : threads_(std::max<std::size_t>(threads, 1)), before_write_(std::move(before_write)) {}

file_writers::~file_writers() {
  join();
}

void file_writers::join() {
  std::lock_guard lock(mutex_);
  if (pool_) pool_->join();
}

std::shared_ptr<file_writers::queue> file_writers::make_queue() {
  std::lock_guard lock(mutex_);
  // Made with the first file integration: a daemon without any has no threads for them.
  if (!pool_) pool_.emplace(threads_);
  return std::shared_ptr<queue>(new queue(asio::make_strand(pool_->get_executor())));
}

asio::awaitable<std::vector<file_result>> file_writers::write(
    std::shared_ptr<queue> q, std::string integration, std::string directory,
    std::vector<file_job> files, steady::time_point start_by, steady::time_point give_up_at) {
  const auto ex = co_await asio::this_coro::executor;
  auto s = std::make_shared<batch_state>(ex, files.size());
  asio::post(q->strand_, [s, q, integration, directory, files = std::move(files), start_by,
                          hook = before_write_]() {
    for (std::size_t i = 0; i < files.size(); ++i) {
      {
        std::lock_guard lock(s->mutex);
        if (s->abandoned || steady::now() >= start_by) break;
        s->results[i].outcome = file_result::state::running;
        s->results[i].started = steady::now();
      }
      std::optional<std::string> error;
      try {
        if (hook) hook(integration);
        const auto& f = files[i];
        auto w = write_file_atomically(directory, f.entity_fc, f.name, f.content);
        if (!w) error = w.error().message;
      } catch (const std::exception& e) {
        error = std::string("internal error while writing: ") + e.what();
      } catch (...) {
        error = "internal error while writing";
      }
      std::lock_guard lock(s->mutex);
      auto& r = s->results[i];
      r.duration = steady::now() - r.started;
      r.outcome = error ? file_result::state::failed : file_result::state::written;
      if (error) r.error = std::move(*error);
    }
    std::optional<steady::time_point> since;
    {
      std::lock_guard lock(s->mutex);
      if (s->stuck) since = s->stuck_since;
    }
    if (since) {
      q->stuck_.fetch_sub(1);
      spdlog::info(
          "delivery: integration {}: the file write in {} its batch stopped waiting for ended "
          "after {:.1f} s: claiming again",
          integration, directory, seconds(steady::now() - *since));
    }
    s->done.try_send(boost::system::error_code{});
  });

  asio::steady_timer timer(ex, give_up_at);
  co_await (s->done.async_receive(use_nothrow) || timer.async_wait(use_nothrow));
  std::lock_guard lock(s->mutex);
  s->abandoned = true;
  for (const auto& r : s->results) {
    if (r.outcome != file_result::state::running) continue;
    // Nothing can interrupt a write the kernel holds (a share that stopped answering): it goes
    // on, on its own, and the batch is recorded without it.
    s->stuck = true;
    s->stuck_since = r.started;
    q->stuck_.fetch_add(1);
    spdlog::warn(
        "delivery: integration {}: a file write in {} has not ended {:.1f} s after it began: "
        "its batch is recorded without it, and the integration claims no more messages until it "
        "ends",
        integration, directory, seconds(steady::now() - r.started));
    break;
  }
  co_return s->results;
}

}  // namespace pagohub::integration::detail
