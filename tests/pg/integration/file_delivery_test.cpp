// File mode through the delivery service, on a database of its own: two file integrations, one
// of whose directories crawls or hangs (a test hook runs before each of its writes, on the
// writing thread, as a share that stopped answering would hold it). The other keeps delivering;
// the slow one's batch honours its window, handing back unsent the files whose turn comes after
// it, and a write that hangs past the grace is recorded as an attempt of unknown outcome without
// holding the batch, and more are claimed only once it ends.
#include <pagohub/core/clock.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/integration/delivery.hpp>

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "fixture.hpp"
#include "support/eventually.hpp"

namespace pagohub::integration::test {
namespace {

using namespace std::chrono_literals;
using test_support::eventually;

const std::string fc_slow = "01234567897";
const std::string fc_fast = "00000000000";

// Where the slow integration's writes wait while it is closed.
class gate {
 public:
  void close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void pass() {
    std::unique_lock lock(mutex_);
    ++calls_;
    cv_.wait(lock, [&] { return open_; });
  }
  int calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = true;
  int calls_ = 0;
};

class file_delivery_pg : public integration_pg {
 protected:
  void SetUp() override {
    integration_pg::SetUp();
    if (IsSkipped()) return;
    root_ = std::filesystem::temp_directory_path() /
            ("file-delivery-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(root_ / "slow");
    std::filesystem::create_directories(root_ / "fast");
    // The service's log lines, to read what it says of the batches.
    sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  void TearDown() override {
    stop();
    if (sink_) {
      auto& sinks = spdlog::default_logger()->sinks();
      sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    }
    std::error_code ignored;
    if (!root_.empty()) std::filesystem::remove_all(root_, ignored);
    integration_pg::TearDown();
  }

  config::integration files_of(const std::string& id, const std::string& fc) const {
    config::integration i;
    i.id = id;
    i.entities = {fc};
    i.mode = config::integration_mode::file;
    i.directory = (root_ / id).string();
    i.backoff_initial = 50ms;
    i.backoff_max = 100ms;
    return i;
  }

  // The writes of integration "slow" run `slow_write` first.
  void start(delivery_settings s, std::function<void()> slow_write) {
    holder_.emplace(std::make_shared<const config::integration_registry>(
        std::vector<config::integration>{files_of("slow", fc_slow), files_of("fast", fc_fast)}));
    db_.emplace(db::pool_settings{conninfo(), 4});
    s.instance_id = "d1";
    s.poll_interval = 20ms;
    s.before_file_write = [slow_write](const std::string& integration) {
      if (integration == "slow") slow_write();
    };
    service_.emplace(ioc_, *db_, *holder_, clock_, std::move(s));
    service_->start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  void stop() {
    if (!service_) return;
    gate_.release();
    service_->stop();
    guard_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    service_.reset();
    db_.reset();
  }

  void messages(const std::string& fc, const std::string& prefix, int n) {
    for (int k = 1; k <= n; ++k)
      sql("INSERT INTO outbox (entity_fiscal_code, kind, key, payload, created_at) VALUES ('" + fc +
          "', 'receipt', '" + prefix + std::to_string(k) + "', '{}', now())");
  }
  long long in_state(const std::string& integration, const std::string& state) {
    return count("SELECT count(*) FROM outbox WHERE integration_id = '" + integration +
                 "' AND state = '" + state + "'");
  }
  long long attempts(const std::string& integration, const std::string& where = "true") {
    return count("SELECT count(*) FROM outbox_attempts WHERE integration_id = '" + integration +
                 "' AND " + where);
  }
  std::size_t files_in(const std::string& id, const std::string& fc) const {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(root_ / id / fc, ec))
      n += f.path().extension() == ".json" && f.path().filename().string().front() != '.';
    return n;
  }
  // The outbox as a failure message shows it.
  std::string outbox_rows() {
    std::string out;
    for (const auto& row :
         sql("SELECT key, state, coalesce(integration_id, '-'), attempts, next_attempt_at::text, "
             "coalesce(claimed_by, '-') FROM outbox ORDER BY id"))
      out += row[0].c_str() + std::string(" ") + row[1].c_str() + " " + row[2].c_str() + " " +
             row[3].c_str() + " " + row[4].c_str() + " " + row[5].c_str() + "\n";
    return out;
  }
  std::string log() const {
    std::string out;
    for (const auto& line : sink_->last_formatted()) out += line;
    return out;
  }

  std::filesystem::path root_;
  gate gate_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      ioc_.get_executor()};
  std::vector<std::thread> threads_;
  std::optional<db::executor> db_;
  core::system_clock clock_;
  std::optional<config::integration_holder> holder_;
  std::optional<delivery_service> service_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

TEST_F(file_delivery_pg, a_hung_directory_holds_only_its_own_integration) {
  gate_.close();
  delivery_settings s;
  s.file_window = 300ms;
  s.file_write_grace = 300ms;
  messages(fc_slow, "s", 5);
  messages(fc_fast, "f", 5);
  start(s, [this] { gate_.pass(); });

  // The slow directory's first write hangs; the other integration delivers all the same.
  ASSERT_TRUE(eventually([&] { return in_state("fast", "DELIVERED") == 5; })) << log();
  EXPECT_EQ(files_in("fast", fc_fast), 5u);

  // The slow batch is recorded by its window and grace, not by the hung write: the file under
  // way is an attempt of unknown outcome, the others go back unsent, due again at once, with no
  // attempt used.
  ASSERT_TRUE(eventually([&] { return attempts("slow") == 1; })) << log();
  EXPECT_EQ(attempts("slow", "outcome = 'RETRY' AND error LIKE '%had not ended after%'"), 1);
  EXPECT_EQ(in_state("slow", "PENDING"), 5);
  EXPECT_EQ(count("SELECT sum(attempts) FROM outbox WHERE integration_id = 'slow'"), 1);
  EXPECT_NE(log().find("integration slow: a file write in " + (root_ / "slow").string() +
                       " has not ended"),
            std::string::npos)
      << log();
  // While that write hangs, nothing more is claimed for the slow integration: no batch waits
  // behind it, nor is recorded with nothing done.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(gate_.calls(), 1);
  EXPECT_EQ(attempts("slow"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'DELIVERING'"), 0);

  // The other integration still delivers what comes meanwhile.
  messages(fc_fast, "g", 5);
  ASSERT_TRUE(eventually([&] { return in_state("fast", "DELIVERED") == 10; }))
      << log() << outbox_rows();

  // The share answers again: the write ends, and every file is written.
  gate_.release();
  ASSERT_TRUE(eventually([&] { return in_state("slow", "DELIVERED") == 5; })) << log();
  EXPECT_EQ(files_in("slow", fc_slow), 5u);
  EXPECT_NE(log().find("integration slow: the file write in " + (root_ / "slow").string() +
                       " its batch stopped waiting for ended"),
            std::string::npos)
      << log();
}

TEST_F(file_delivery_pg, files_whose_turn_comes_after_the_window_go_back_unsent) {
  delivery_settings s;
  s.file_window = 250ms;
  s.file_write_grace = 5s;
  messages(fc_slow, "s", 10);
  // 100 ms a file: about three of a batch fit in its window.
  start(s, [] { std::this_thread::sleep_for(100ms); });

  ASSERT_TRUE(eventually([&] { return in_state("slow", "DELIVERED") == 10; }, 30s)) << log();
  EXPECT_EQ(files_in("slow", fc_slow), 10u);
  // Handed back, not failed: one attempt per message, each the one that wrote it.
  EXPECT_EQ(attempts("slow"), 10);
  EXPECT_EQ(attempts("slow", "outcome = 'DELIVERED'"), 10);
  EXPECT_NE(log().find("integration slow: "), std::string::npos);
  EXPECT_NE(log().find(" of 10 messages not sent (their turn came after the batch's time)"),
            std::string::npos)
      << log();
}

}  // namespace
}  // namespace pagohub::integration::test
