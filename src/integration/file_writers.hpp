#pragma once
// File mode's writes, off the I/O threads: each write is open, write, fsync, rename and a
// directory fsync (file_drop.hpp), and blocks. A directory on a share that hangs (NFS) or crawls
// must hold neither the other file integrations nor its own batch past its claim's lease:
//  - each integration writes on a queue of its own (a strand of a small pool), one file at a
//    time, so that a hung directory holds one thread and its own integration only;
//  - a batch starts no write after its sending window, and waits for the one under way a grace
//    at most: then the batch is recorded (that file's outcome unknown, the files not started
//    handed back unsent) while the write goes on, and the integration claims nothing more until
//    it ends. docs/integration.md, "File mode's writes".
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pagohub::integration::detail {

/// One file of a batch.
struct file_job {
  std::string entity_fc;
  std::string name;  ///< file_name_for()
  std::string content;
};

/// What became of one file_job.
struct file_result {
  enum class state {
    not_started,  ///< its turn came after the sending window: nothing written
    running,      ///< under way when the batch stopped waiting: written or not, nobody knows yet
    written,
    failed,
  };
  state outcome = state::not_started;
  std::string error;                                ///< failed: why
  std::chrono::steady_clock::time_point started{};  ///< when its write began
  std::chrono::steady_clock::duration duration{};   ///< written, failed: how long it took
};

/// The threads writing files for every file integration of a delivery service.
class file_writers {
 public:
  using steady = std::chrono::steady_clock;

  /// One integration's queue: its writes run one at a time, in batch order.
  class queue {
   public:
    /// True while a write of a batch that stopped waiting for it is still under way: the
    /// integration claims nothing until it ends.
    bool stuck() const noexcept { return stuck_.load() > 0; }

   private:
    friend class file_writers;
    explicit queue(boost::asio::strand<boost::asio::thread_pool::executor_type> s)
        : strand_(std::move(s)) {}
    boost::asio::strand<boost::asio::thread_pool::executor_type> strand_;
    std::atomic<int> stuck_{0};
  };

  /// `threads`: the pool's size, made at the first queue; integrations past that many share
  /// them. `before_write`, when set, runs on the writing thread before each file (for tests: a
  /// directory that crawls or hangs).
  file_writers(std::size_t threads,
               std::function<void(const std::string& integration)> before_write);
  ~file_writers();
  file_writers(const file_writers&) = delete;
  file_writers& operator=(const file_writers&) = delete;

  std::shared_ptr<queue> make_queue();

  /// Writes `files` in turn into `directory` on `q`, starting none at or after `start_by`, and
  /// waits for them until `give_up_at` at most: one result per file. A write still under way
  /// then goes on, on its own (`running`), and makes `q` stuck until it ends; `integration` names
  /// it in the log. Runs on the caller's executor.
  boost::asio::awaitable<std::vector<file_result>> write(
      std::shared_ptr<queue> q, std::string integration, std::string directory,
      std::vector<file_job> files, steady::time_point start_by, steady::time_point give_up_at);

  /// Waits for the writes under way (a hung one, for as long as it hangs).
  void join();

 private:
  const std::size_t threads_;
  const std::function<void(const std::string&)> before_write_;
  std::mutex mutex_;
  std::optional<boost::asio::thread_pool> pool_;
};

}  // namespace pagohub::integration::detail
