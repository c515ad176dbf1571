#include "watchdog.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "session.hpp"

namespace pagohub::db::detail {

namespace {

// How soon a cancel is sent again while the body still runs: one that reached the server
// between two statements was dropped, and the next statement must not get its whole
// statement_timeout.
constexpr std::chrono::milliseconds again_after{20};

}  // namespace

watchdog::watchdog(std::string conninfo, int workers, std::string thread_name)
    : conninfo_(std::move(conninfo)), thread_name_(std::move(thread_name)) {
  slots_.reserve(static_cast<std::size_t>(workers));
  for (int i = 0; i < workers; ++i) slots_.push_back(std::make_unique<slot>());
}

watchdog::~watchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool watchdog::arm(int worker, int pid, std::optional<clock::time_point> deadline) {
  if (deadline && clock::now() >= *deadline) return false;
  slot& s = *slots_[static_cast<std::size_t>(worker)];
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(s.mutex);
    generation = ++s.generation;
    s.pid = pid;
    s.armed = true;
    s.fired = fired_by::none;
  }
  // A body armed after the stop's cancel_all() is cancelled at once, like the others. Read
  // after the slot is armed, and cancel_all() sets it before it looks at the slots: either
  // this sees it set, or cancel_all() sees the slot armed. Most bodies have no deadline and
  // take no lock shared by the workers.
  const bool now = cancelling_all_.load();
  if (!now && !deadline) return true;
  const due entry{now ? clock::now() : *deadline, worker, generation, now};
  enqueue({&entry, 1});
  return true;
}

void watchdog::enqueue(std::span<const due> entries) {
  bool earliest = false;
  {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) thread_ = std::thread([this] { main(); });
    for (const auto& e : entries) {
      earliest = earliest || queue_.empty() || e.at < queue_.top().at;
      queue_.push(e);
    }
  }
  if (earliest) wake_.notify_one();
}

void watchdog::cancel_all() {
  // The flag first: a body armed after it queues its own cancel (arm()), one armed before it
  // is found armed below. Either way none is missed; one found twice is cancelled twice.
  cancelling_all_.store(true);
  std::vector<due> entries;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slot& s = *slots_[i];
    std::lock_guard lock(s.mutex);
    if (s.armed) entries.push_back(due{clock::now(), static_cast<int>(i), s.generation, true});
  }
  if (!entries.empty()) enqueue(entries);
}

watchdog::fired_by watchdog::disarm(int worker) {
  slot& s = *slots_[static_cast<std::size_t>(worker)];
  std::lock_guard lock(s.mutex);  // waits for a cancel being sent to this transaction
  s.armed = false;
  return s.fired;
}

void watchdog::main() {
  pthread_setname_np(pthread_self(), thread_name_.c_str());
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stopping_) break;
    if (queue_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const due next = queue_.top();
    if (clock::now() < next.at) {
      wake_.wait_until(lock, next.at);
      continue;
    }
    queue_.pop();
    lock.unlock();
    const bool again = fire(next);
    lock.lock();
    if (again)
      queue_.push(due{clock::now() + again_after, next.worker, next.generation, next.stopping});
  }
  lock.unlock();
  session_.reset();
}

bool watchdog::fire(const due& entry) {
  slot& s = *slots_[static_cast<std::size_t>(entry.worker)];
  bool first = false;
  {
    std::lock_guard lock(s.mutex);
    // Most entries find their body ended in time, or are a re-send that is no longer needed.
    if (!s.armed || s.generation != entry.generation) return false;
    first = s.fired == fired_by::none;
    if (first) s.fired = entry.stopping ? fired_by::stop : fired_by::deadline;
  }
  if (first && entry.stopping) {
    spdlog::warn("db worker {}: transaction still running as the executor stops; cancelling it",
                 entry.worker);
  } else if (first) {
    spdlog::info("db worker {}: transaction still running at its deadline; cancelling it",
                 entry.worker);
  }
  // Connected outside the slot's lock: a worker whose body ends meanwhile must not wait for a
  // connection to be made (its transaction is rolled back anyway, as the slot fired).
  if (!session_ || !session_->is_open()) {
    session_.reset();
    try {
      session_ = std::make_unique<session>(conninfo_);
    } catch (const std::exception& e) {
      // Said once per transaction, not once per re-send.
      spdlog::log(first ? spdlog::level::warn : spdlog::level::debug,
                  "database deadline watchdog: cannot connect to cancel a transaction: {}",
                  e.what());
      return true;  // tried again shortly; the statement timeout bounds the statement meanwhile
    }
  }
  std::lock_guard lock(s.mutex);
  if (!s.armed || s.generation != entry.generation) return false;
  if (!cancel(s.pid)) session_.reset();
  return true;
}

bool watchdog::cancel(int pid) noexcept {
  try {
    pqxx::nontransaction n(session_->connection());
    n.exec_params("SELECT pg_cancel_backend($1)", pid);
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("database deadline watchdog: cancel of server process {} failed: {}", pid,
                 e.what());
    return false;
  }
}

}  // namespace pagohub::db::detail
