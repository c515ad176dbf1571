#include "pagohub/db/executor.hpp"

#include "pagohub/db/errors.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "session.hpp"
#include "watchdog.hpp"

namespace pagohub::db {

std::optional<std::string_view> unavailable_reason(const std::exception& e) noexcept {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr)
    return "the database is not reachable";
  // libpqxx 6 gives serialization failures and deadlocks (class 40) no SQLSTATE of their own:
  // they reach a caller only after the executor's retries. statement_completion_unknown is one
  // too, but in doubt: whether anything changed is not known.
  if (dynamic_cast<const pqxx::transaction_rollback*>(&e) != nullptr &&
      dynamic_cast<const pqxx::statement_completion_unknown*>(&e) == nullptr)
    return "the request met concurrent changes too often";
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  if (sql == nullptr) return std::nullopt;
  // PostgreSQL's Appendix A: the conditions of the server, not of the request or the code.
  const std::string_view state = sql->sqlstate();
  if (state == "57014" || state == "55P03")  // query_canceled, lock_not_available
    return "the database did not finish the request in time";
  if (state == "25006")  // read_only_sql_transaction: a standby, or a failover under way
    return "the database accepts no changes now";
  if (state.starts_with("53"))  // insufficient resources: disk, memory, connections
    return "the database is short of resources";
  if (state.starts_with("58"))  // system errors: the server's files or I/O
    return "the database could not read or write its storage";
  return std::nullopt;
}

std::string describe(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    std::string what = e.what();
    while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
    return what;
  } catch (...) {
    return "unknown error";
  }
}

namespace {

// How an attempt ended, which decides whether the transaction is tried again.
enum class outcome {
  committed,
  conflict,        // serialization failure or deadlock: retry soon
  lost,            // connection lost (or never made) before COMMIT: reconnect, retry
  commit_unknown,  // connection lost during COMMIT: never retry
  fatal,           // anything else: the caller's problem
  rolled_back,     // the body's own db::rollback: the caller's answer, not a failure
};

struct attempt_result {
  outcome kind = outcome::committed;
  std::exception_ptr error;
  std::string reason;
};

// A transaction of type Tx around the job's body (`body(tx)`): Tx's BEGIN already says the
// isolation level and access mode (libpqxx sends "BEGIN; SET TRANSACTION ..." as one query).
template <class Tx, class Body>
void run_in(pqxx::connection& c, Body& body) {
  Tx tx(c);
  body(tx);
  tx.commit();
}

template <class Body>
void run_typed(pqxx::connection& c, const detail::job& job, Body& body) {
  const bool read_only = job.mode() == access::read_only;
  switch (job.level()) {
    case isolation::read_committed:
      return read_only ? run_in<pqxx::transaction<pqxx::read_committed, pqxx::read_only>>(c, body)
                       : run_in<pqxx::transaction<pqxx::read_committed, pqxx::read_write>>(c, body);
    case isolation::repeatable_read:
      return read_only
                 ? run_in<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>>(c, body)
                 : run_in<pqxx::transaction<pqxx::repeatable_read, pqxx::read_write>>(c, body);
    case isolation::serializable:
      return read_only ? run_in<pqxx::transaction<pqxx::serializable, pqxx::read_only>>(c, body)
                       : run_in<pqxx::transaction<pqxx::serializable, pqxx::read_write>>(c, body);
  }
  throw std::logic_error("unknown isolation level");
}

}  // namespace

// One worker thread's connection. Replaced, never repaired: a lost session is closed and a
// fresh one opened, so no session state from before the loss can linger.
struct worker_slot {
  int index = 0;
  std::unique_ptr<detail::session> session;
  bool ever_connected = false;
  std::minstd_rand random{std::random_device{}()};
};

struct executor::state {
  explicit state(pool_settings s)
      : settings(std::move(s)),
        conninfo(detail::session_conninfo(settings)),
        watchdog(conninfo, settings.size, thread_name("wd")) {}

  // "pagohub-<pool>-<what>", cut to the 15 characters Linux keeps of a thread's name (a longer
  // one is refused, leaving the thread unnamed).
  std::string thread_name(const std::string& what) const {
    return ("pagohub-" + settings.name + "-" + what).substr(0, 15);
  }

  pool_settings settings;
  std::string conninfo;

  std::mutex mutex;
  std::condition_variable work_ready;    // a job was queued, or stop
  std::condition_variable stop_request;  // wakes workers sleeping in a retry backoff
  std::deque<std::unique_ptr<detail::job>> queue;
  bool stopping = false;
  std::vector<std::thread> workers;
  std::once_flag joined;
  // Cancels bodies still running at their deadline (transact_within), or when stop() runs out
  // of patience. Outlives the workers' use of it: the state goes after stop() has joined them.
  detail::watchdog watchdog;

  std::atomic<int> in_use{0};
  std::atomic<int> waiting{0};
  std::atomic<std::uint64_t> transactions{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> withdrawn{0};
  std::atomic<std::uint64_t> cancelled{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> rollbacks{0};
  // What the last connection attempt or transaction said about the server. "unknown" until
  // the first attempt, so an outage at start-up is reported too.
  enum class link { unknown, up, down };
  std::atomic<link> link_state{link::unknown};

  bool connected() const { return link_state.load() == link::up; }

  void worker_main(int index);
  std::exception_ptr connect(worker_slot& slot);
  attempt_result attempt(worker_slot& slot, detail::job& job);
  std::exception_ptr run(worker_slot& slot, detail::job& job);
  bool backoff(worker_slot& slot, outcome kind, int attempt);
};

std::exception_ptr executor::state::connect(worker_slot& slot) {
  slot.session.reset();
  try {
    slot.session = std::make_unique<detail::session>(conninfo);
  } catch (...) {
    auto error = std::current_exception();
    // Say it once per outage, not once per worker and attempt.
    if (link_state.exchange(link::down) != link::down) {
      spdlog::warn("database unreachable: {}", describe(error));
    } else {
      spdlog::debug("db worker {}: connect failed: {}", slot.index, describe(error));
    }
    return error;
  }
  if (slot.ever_connected) {
    reconnects.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("db worker {}: reconnected", slot.index);
  }
  slot.ever_connected = true;
  if (link_state.exchange(link::up) != link::up) spdlog::info("database reachable");
  return nullptr;
}

attempt_result executor::state::attempt(worker_slot& slot, detail::job& job) {
  if (!slot.session || !slot.session->is_open()) {
    if (auto error = connect(slot)) {
      auto reason = describe(error);
      return {outcome::lost, std::move(error), std::move(reason)};
    }
  }
  // One lost session says little about the server: the reconnect attempt decides healthy().
  const auto lost = [&](std::exception_ptr error) {
    auto reason = slot.session->last_fatal_notice();
    if (reason.empty()) reason = describe(error);
    spdlog::info("db worker {}: connection lost ({}); reconnecting", slot.index, reason);
    slot.session.reset();
    return attempt_result{outcome::lost, std::move(error), std::move(reason)};
  };
  const int pid = slot.session->connection().backendpid();
  // Every body runs under the watchdog: cancelled at its deadline when the job has one
  // (transact_within), and when stop() runs out of patience. Disarmed before COMMIT or ROLLBACK
  // is sent, so a cancel never reaches either, nor the next transaction; a body that returns
  // after its slot fired is rolled back, not committed.
  using fired_by = detail::watchdog::fired_by;
  fired_by cancelled_by = fired_by::none;
  const auto guarded = [&](auto&& run) {
    if (!watchdog.arm(slot.index, pid, job.cancel_at())) {
      cancelled_by = fired_by::deadline;
      throw deadline_error("the transaction started after its deadline");
    }
    {
      // Disarmed as the body ends, whether it returned or threw.
      struct disarm {
        detail::watchdog& w;
        int index;
        fired_by& by;
        ~disarm() { by = w.disarm(index); }
      } guard{watchdog, slot.index, cancelled_by};
      run();
    }
    // deadline_error either way: the executor neither retries it nor takes it for a lost
    // connection.
    if (cancelled_by == fired_by::deadline)
      throw deadline_error("the transaction ran past its deadline");
    if (cancelled_by == fired_by::stop)
      throw deadline_error("the transaction was cancelled: the database executor is stopping");
  };
  const auto body = [&](pqxx::dbtransaction& tx) { guarded([&] { job.run(tx); }); };
  attempt_result result = [&]() -> attempt_result {
    try {
      if (job.autocommit()) {
        // executor::read: no BEGIN/COMMIT, the statement commits on its own.
        pqxx::nontransaction tx(slot.session->connection());
        guarded([&] { job.run_autocommit(tx); });
        tx.commit();
      } else if (job.any_transaction()) {
        run_typed(slot.session->connection(), job, body);
      } else {
        // The body wants a pqxx::work: READ COMMITTED READ WRITE by type, so any other mode
        // costs a SET TRANSACTION of its own.
        pqxx::work tx(slot.session->connection());
        if (auto sql = detail::set_transaction_sql(job.level(), job.mode()); !sql.empty()) {
          tx.exec(std::string(sql));
        }
        body(tx);
        tx.commit();
      }
      link_state.store(link::up);
      return {};
    } catch (const pqxx::in_doubt_error& e) {
      slot.session.reset();
      return {outcome::commit_unknown,
              std::make_exception_ptr(commit_unknown_error(
                  std::string("the database connection was lost while committing; the transaction "
                              "may or may not have been applied: ") +
                  e.what())),
              e.what()};
    } catch (const pqxx::serialization_failure& e) {
      return {outcome::conflict, std::current_exception(), e.what()};
    } catch (const pqxx::deadlock_detected& e) {
      return {outcome::conflict, std::current_exception(), e.what()};
    } catch (const deadline_error& e) {  // the body's, below: not a lost connection
      return {outcome::fatal, std::current_exception(), e.what()};
    } catch (const rollback&) {
      // Thrown by the body after looking at what it read: the connection is not in question.
      return {outcome::rolled_back, std::current_exception(), {}};
    } catch (const pqxx::broken_connection&) {
      return lost(std::current_exception());
    } catch (const pqxx::sql_error& e) {
      if (detail::is_connection_loss(e.sqlstate()) || !slot.session->is_open()) {
        return lost(std::current_exception());
      }
      return {outcome::fatal, std::current_exception(), {}};
    } catch (...) {
      // Whatever the body made of it, a dead session means the failure was the connection's.
      if (slot.session && !slot.session->is_open()) return lost(std::current_exception());
      return {outcome::fatal, std::current_exception(), {}};
    }
  }();
  if (cancelled_by == fired_by::stop) {
    // Cancelled by stop(): the caller hears what the body made of it (query_canceled, most
    // often), and the job is not tried again.
    result.kind = outcome::fatal;
  } else if (cancelled_by == fired_by::deadline) {
    // Whatever the body made of the cancel (query_canceled, or a later statement refused in
    // the aborted transaction, or nothing at all), the caller hears of the deadline, and the
    // job is not tried again: its caller owes an answer by now.
    cancelled.fetch_add(1, std::memory_order_relaxed);
    bool said = false;
    try {
      if (result.error) std::rethrow_exception(result.error);
    } catch (const deadline_error&) {
      said = true;
    } catch (...) {
    }
    if (!said) {
      result.error = std::make_exception_ptr(
          deadline_error("the transaction was still running at its deadline and was cancelled (" +
                         describe(result.error) + ")"));
    }
    result.kind = outcome::fatal;
  }
  return result;
}

bool executor::state::backoff(worker_slot& slot, outcome kind, int attempt) {
  // Exponential with jitter: conflicting transactions must not meet again in lockstep, and a
  // restarting server should not see every worker knock at once.
  const auto base =
      kind == outcome::conflict ? std::chrono::milliseconds(5) : std::chrono::milliseconds(100);
  const auto cap =
      kind == outcome::conflict ? std::chrono::milliseconds(500) : std::chrono::milliseconds(2000);
  const auto full = std::min<std::chrono::milliseconds>(base * (1 << std::min(attempt, 10)), cap);
  std::uniform_int_distribution<std::int64_t> pick(full.count() / 2, full.count());
  const auto delay = std::chrono::milliseconds(pick(slot.random));
  std::unique_lock lock(mutex);
  return !stop_request.wait_for(lock, delay, [this] { return stopping; });
}

// Runs the job to its final outcome: null after the commit, or the exception for the caller.
std::exception_ptr executor::state::run(worker_slot& slot, detail::job& job) {
  const int budget = job.max_retries() >= 0 ? job.max_retries() : settings.max_retries;
  for (int attempt = 0;; ++attempt) {
    attempt_result result = this->attempt(slot, job);
    switch (result.kind) {
      case outcome::committed:
        transactions.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
      case outcome::commit_unknown:
        spdlog::error("db worker {}: {}", slot.index, describe(result.error));
        failures.fetch_add(1, std::memory_order_relaxed);
        return result.error;
      case outcome::fatal:
        failures.fetch_add(1, std::memory_order_relaxed);
        return result.error;
      case outcome::rolled_back:
        rollbacks.fetch_add(1, std::memory_order_relaxed);
        return result.error;
      case outcome::conflict:
      case outcome::lost:
        break;
    }
    // A job with a deadline is not retried past it: a transaction started in time is waited
    // for, but its retries (a reconnect and a back-off each) would outlast the caller's answer.
    const auto until = job.retry_until();
    const auto out_of_time = [&until] {
      return until && std::chrono::steady_clock::now() >= *until;
    };
    if (attempt >= budget || out_of_time()) {
      failures.fetch_add(1, std::memory_order_relaxed);
      if (result.kind == outcome::lost) {
        return std::make_exception_ptr(unavailable_error("database unavailable after " +
                                                         std::to_string(attempt + 1) +
                                                         " attempts: " + result.reason));
      }
      return result.error;
    }
    retries.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("db worker {}: retrying transaction (attempt {} of {}): {}", slot.index,
                  attempt + 2, budget + 1, result.reason);
    if (!backoff(slot, result.kind, attempt)) {
      failures.fetch_add(1, std::memory_order_relaxed);
      return std::make_exception_ptr(
          unavailable_error("database executor stopped while retrying: " + result.reason));
    }
    if (out_of_time()) {
      failures.fetch_add(1, std::memory_order_relaxed);
      return std::make_exception_ptr(
          unavailable_error("database unavailable until the deadline after " +
                            std::to_string(attempt + 1) + " attempts: " + result.reason));
    }
  }
}

void executor::state::worker_main(int index) {
  const std::string name = thread_name(std::to_string(index));
  pthread_setname_np(pthread_self(), name.c_str());

  worker_slot slot;
  slot.index = index;
  // Connect eagerly so the first request does not pay for it; failing here is fine, the first
  // transaction tries again.
  connect(slot);

  for (;;) {
    std::unique_ptr<detail::job> job;
    {
      std::unique_lock lock(mutex);
      work_ready.wait(lock, [this] { return stopping || !queue.empty(); });
      if (stopping) break;
      job = std::move(queue.front());
      queue.pop_front();
      waiting.store(static_cast<int>(queue.size()), std::memory_order_relaxed);
      in_use.fetch_add(1, std::memory_order_relaxed);
    }
    if (!job->start()) {  // withdrawn at its deadline: its caller has had the answer
      in_use.fetch_sub(1, std::memory_order_relaxed);
      withdrawn.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    auto failure = run(slot, *job);
    // The gauge drops before the caller hears back, so a caller never sees its own
    // finished transaction still counted as in use.
    in_use.fetch_sub(1, std::memory_order_relaxed);
    job->complete(std::move(failure));
    job.reset();
  }
}

executor::executor(pool_settings settings) {
  if (settings.size < 1) throw std::invalid_argument("database pool size must be at least 1");
  if (settings.max_retries < 0) settings.max_retries = 0;
  state_ = std::make_unique<state>(std::move(settings));
  // spdlog makes its default logger on first use. Made here, it exists before any worker logs:
  // the daemon sets logging up before it builds the pool, but a tool or test may not, and
  // ThreadSanitizer cannot see the initialisation guard inside libspdlog.so (not instrumented),
  // so workers racing to make it are reported as a data race.
  spdlog::default_logger_raw();
  state_->workers.reserve(static_cast<std::size_t>(state_->settings.size));
  for (int i = 0; i < state_->settings.size; ++i) {
    state_->workers.emplace_back([s = state_.get(), i] { s->worker_main(i); });
  }
}

executor::~executor() {
  stop();
}

void executor::stop(std::chrono::milliseconds patience) {
  std::deque<std::unique_ptr<detail::job>> abandoned;
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
    abandoned.swap(state_->queue);
    state_->waiting.store(0);
  }
  state_->work_ready.notify_all();
  state_->stop_request.notify_all();
  for (auto& job : abandoned) {
    state_->failures.fetch_add(1, std::memory_order_relaxed);
    job->complete(std::make_exception_ptr(unavailable_error("database executor stopped")));
  }
  std::call_once(state_->joined, [this, patience] {
    const auto until = std::chrono::steady_clock::now() + patience;
    while (state_->in_use.load() > 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (state_->in_use.load() > 0) {
      spdlog::warn("database executor stopping: cancelling the transactions still running");
      state_->watchdog.cancel_all();
    }
    for (auto& worker : state_->workers) worker.join();
    spdlog::debug("database executor stopped");
  });
}

void executor::submit(std::unique_ptr<detail::job> job) {
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->stopping) {
      state_->queue.push_back(std::move(job));
      state_->waiting.store(static_cast<int>(state_->queue.size()), std::memory_order_relaxed);
    }
  }
  if (job) {  // not queued: the executor is stopped
    state_->failures.fetch_add(1, std::memory_order_relaxed);
    job->complete(std::make_exception_ptr(unavailable_error("database executor stopped")));
    return;
  }
  state_->work_ready.notify_one();
}

pool_stats executor::stats() const {
  return pool_stats{
      .size = state_->settings.size,
      .in_use = state_->in_use.load(std::memory_order_relaxed),
      .waiting = state_->waiting.load(std::memory_order_relaxed),
      .transactions = state_->transactions.load(std::memory_order_relaxed),
      .retries = state_->retries.load(std::memory_order_relaxed),
      .reconnects = state_->reconnects.load(std::memory_order_relaxed),
      .failures = state_->failures.load(std::memory_order_relaxed),
      .rollbacks = state_->rollbacks.load(std::memory_order_relaxed),
      .withdrawn = state_->withdrawn.load(std::memory_order_relaxed),
      .cancelled = state_->cancelled.load(std::memory_order_relaxed),
      .connected = state_->connected(),
  };
}

bool executor::healthy() const {
  return state_->connected();
}

}  // namespace pagohub::db
