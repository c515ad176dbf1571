#include <pagohub/journal/writer.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <cstdio>
#include <new>

#include "storage.hpp"

namespace pagohub::journal {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::size_t payload_bytes(const event& e) {
  if (!e.message) return 0;
  std::size_t n = e.message->body.size() + e.message->content_type.size();
  for (const auto& [k, v] : e.message->headers) n += k.size() + v.size();
  return n;
}

// A failed write as the writer treats it. Only a server's answer about the rows can make
// writing them one by one worth it; everything else says the database is unwell, and waiting
// is the only way not to lose events (including those of state changes).
write_failure classify(const std::exception& e) {
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e))
    return classify_write_failure(sql->sqlstate());
  // Broken connections, commits in doubt (written again, unless the batch turns out to be
  // there: detail::write_batch), conflicts past the executor's retries and libpq's own failures
  // carry no verdict on the rows; neither does running out of memory here.
  if (dynamic_cast<const pqxx::failure*>(&e) != nullptr ||
      dynamic_cast<const std::bad_alloc*>(&e) != nullptr)
    return write_failure::retry;
  // Client-side failures (a value libpqxx cannot convert or stream) come from the rows and
  // would come back at every attempt.
  return write_failure::row;
}

}  // namespace

write_failure classify_write_failure(std::string_view sqlstate) noexcept {
  if (sqlstate.starts_with("22") || sqlstate.starts_with("23")) return write_failure::row;
  return write_failure::retry;
}

writer::writer(db::executor& db, const config::journal_settings& settings,
               const payload_rules& rules, const core::clock& clock)
    : db_(db),
      rules_(rules),
      clock_(clock),
      enabled_interfaccia_(settings.enabled_interfaccia),
      capacity_(settings.queue_capacity),
      max_bytes_(settings.queue_max_bytes),
      batch_size_(std::max<std::size_t>(1, settings.batch_size)),
      flush_interval_(settings.flush_interval) {}

writer::~writer() {
  stop();
}

void writer::start() {
  std::lock_guard lock(mutex_);
  if (worker_.joinable() || stop_) return;
  worker_ = std::thread([this] { run(); });
}

void writer::stop(std::chrono::milliseconds drain_deadline) {
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) return;
    accepting_ = false;
    stop_ = true;
    drain_until_ = std::chrono::steady_clock::now() + drain_deadline;
  }
  work_.notify_all();
  room_.notify_all();
  if (worker_.joinable()) {
    worker_.join();
  } else {
    // Never started: drain here.
    run();
  }
}

writer::admit writer::push(event& e) {
  if (e.cat == category::interfaccia && !enabled_interfaccia_) {
    skipped_.fetch_add(1, std::memory_order_relaxed);
    return admit::skipped;
  }
  if (e.time == event::time_point{}) e.time = clock_.now();
  const std::size_t bytes = payload_bytes(e);
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) return admit::stopped;
    // An event bigger than the whole byte budget still goes in when the queue is empty.
    if (queue_.size() >= capacity_ || (bytes_ + bytes > max_bytes_ && !queue_.empty()))
      return admit::full;
    bytes_ += bytes;
    queue_.push_back(std::move(e));
    if (queue_.size() < batch_size_) return admit::queued;
  }
  work_.notify_one();
  return admit::queued;
}

void writer::note_full(bool dropped) {
  full_.fetch_add(1, std::memory_order_relaxed);
  if (dropped) dropped_full_.fetch_add(1, std::memory_order_relaxed);
  std::size_t depth = 0;
  bool log = false;
  {
    std::lock_guard lock(mutex_);
    depth = queue_.size();
    const auto now = std::chrono::steady_clock::now();
    if (now - last_full_log_ > 10s) {
      last_full_log_ = now;
      log = true;
    }
  }
  if (log)
    spdlog::warn(
        "journal queue full ({} events queued): events of exchanges that changed nothing are "
        "dropped ({} so far), state-changing ones wait; is the database slow?",
        depth, dropped_full_.load());
}

asio::awaitable<bool> writer::enqueue(event e, bool changed_state) {
  auto wait = 1ms;
  bool counted = false;
  for (;;) {
    switch (push(e)) {
      case admit::queued:
      case admit::skipped:
        co_return true;
      case admit::stopped: {
        // After stop(): write it directly rather than lose it.
        auto row = std::move(e);
        co_await db_.transact([this, &row](pqxx::work& w) { record_internal(w, row, rules_); });
        co_return true;
      }
      case admit::full:
        note_full(!changed_state);
        if (!changed_state) co_return false;
        if (!counted) waited_.fetch_add(1, std::memory_order_relaxed);
        counted = true;
        break;
    }
    // Waits in short steps: a full queue is an overload, where polling costs nothing that
    // matters, and it needs no wake-up plumbing between the worker and the I/O threads.
    asio::steady_timer timer(co_await asio::this_coro::executor, wait);
    co_await timer.async_wait(asio::use_awaitable);
    wait = std::min(wait * 2, std::chrono::milliseconds(20));
  }
}

bool writer::try_enqueue(event e) {
  switch (push(e)) {
    case admit::queued:
    case admit::skipped:
      return true;
    case admit::stopped:
      db_.transact_sync([this, &e](pqxx::work& w) { record_internal(w, e, rules_); });
      return true;
    case admit::full:
      note_full(true);
      return false;
  }
  return false;
}

bool writer::enqueue_blocking(event e, bool changed_state) {
  bool counted = false;
  for (;;) {
    switch (push(e)) {
      case admit::queued:
      case admit::skipped:
        return true;
      case admit::stopped:
        db_.transact_sync([this, &e](pqxx::work& w) { record_internal(w, e, rules_); });
        return true;
      case admit::full:
        note_full(!changed_state);
        if (!changed_state) return false;
        if (!counted) waited_.fetch_add(1, std::memory_order_relaxed);
        counted = true;
        break;
    }
    std::unique_lock lock(mutex_);
    room_.wait_for(lock, 20ms, [this] { return queue_.size() < capacity_ || !accepting_; });
  }
}

void writer::run() {
  std::deque<event> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      work_.wait_for(lock, flush_interval_,
                     [this] { return stop_ || queue_.size() >= batch_size_; });
      if (queue_.empty()) {
        if (stop_) break;
        continue;
      }
      // Past the drain deadline, what is left goes at once: a batch tried against a database
      // that is not answering costs an executor attempt (connection timeouts), and twenty of
      // them in a row would outlast any service manager's stop timeout, which then kills the
      // daemon before it releases its leases and records its stop.
      if (stop_ && std::chrono::steady_clock::now() > drain_until_) {
        const auto n = queue_.size();
        dropped_error_.fetch_add(n, std::memory_order_relaxed);
        queue_.clear();
        bytes_ = 0;
        spdlog::error(
            "journal: {} events lost at stop: the database did not take them before the drain "
            "deadline",
            n);
        break;
      }
      const auto n = std::min(batch_size_, queue_.size());
      for (std::size_t i = 0; i < n; ++i) {
        bytes_ -= std::min(bytes_, payload_bytes(queue_.front()));
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    room_.notify_all();
    write(batch);
    batch.clear();
  }
}

void writer::count_written(const event& e) {
  (e.cat == category::interfaccia ? written_interfaccia_ : written_interno_)
      .fetch_add(1, std::memory_order_relaxed);
}

bool writer::pause_before_retry(std::chrono::milliseconds& backoff, std::size_t rows,
                                const std::exception& e) {
  {
    std::lock_guard lock(mutex_);
    if (stop_ && std::chrono::steady_clock::now() > drain_until_) {
      dropped_error_.fetch_add(rows, std::memory_order_relaxed);
      spdlog::error("journal: {} events lost at stop: the database stayed unable to take them ({})",
                    rows, e.what());
      return false;
    }
  }
  spdlog::warn("journal: cannot write {} events yet ({}); retrying in {} ms", rows, e.what(),
               backoff.count());
  std::unique_lock lock(mutex_);
  // Not woken by stop(): a stopping writer keeps retrying until its drain deadline.
  room_.wait_for(lock, backoff, [] { return false; });
  backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  return true;
}

void writer::write(std::deque<event>& batch) {
  // Redaction and compression happen here, on the writer's thread, not on the request's.
  std::vector<detail::prepared_event> rows;
  rows.reserve(batch.size());
  const auto now = clock_.now();
  for (const auto& e : batch) {
    detail::prepared_event p;
    try {
      p.payload = rules_.prepare(e);
    } catch (const std::exception& ex) {
      spdlog::error("journal: payload of event {} not stored: {}", e.type, ex.what());
    }
    p.row = detail::normalise(e, now, p.payload);
    rows.push_back(std::move(p));
  }
  auto backoff = 100ms;
  int key_conflicts = 0;
  for (;;) {
    const auto started = std::chrono::steady_clock::now();
    try {
      bool fresh = true;
      db_.transact_sync([&rows, &fresh](pqxx::work& w) { fresh = detail::write_batch(w, rows); });
      if (!fresh)
        spdlog::warn(
            "journal: {} events whose commit was in doubt had been written; not written "
            "again",
            rows.size());
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      {
        std::lock_guard lock(mutex_);
        flush_latency_.observe(seconds);
      }
      flushes_.fetch_add(1, std::memory_order_relaxed);
      for (const auto& e : batch) count_written(e);
      return;
    } catch (const std::exception& e) {
      flush_failures_.fetch_add(1, std::memory_order_relaxed);
      // The batch's ids are drawn once, so a key conflict means the batch itself is there: an
      // attempt whose commit was in doubt was still committing when this one looked for it
      // (a synchronous standby, a slow fsync), and this one's COPY waited for it and collided.
      // Looked for again, it is found; written one by one, every event would be written twice.
      const bool own_keys = dynamic_cast<const pqxx::unique_violation*>(&e) != nullptr &&
                            !rows.empty() && rows.front().row.id != 0;
      if (own_keys && ++key_conflicts <= 3) {
        if (!pause_before_retry(backoff, rows.size(), e)) return;
        continue;
      }
      if (classify(e) == write_failure::row) {
        spdlog::error("journal: batch of {} events refused ({}); writing them one by one",
                      rows.size(), e.what());
        break;
      }
      if (!pause_before_retry(backoff, rows.size(), e)) return;
    }
  }
  // A row the database refuses (a bug, never input: normalise() keeps rows within the
  // constraints) must not take its batch with it. The database may still fail for reasons of
  // its own meanwhile: the row then waits and is tried again, as a batch would be.
  backoff = 100ms;
  for (std::size_t i = 0; i < rows.size();) {
    const auto& original = batch[i];
    try {
      db_.transact_sync([&row = rows[i]](pqxx::work& w) { detail::insert_one(w, row); });
      count_written(original);
      ++i;
      backoff = 100ms;
    } catch (const std::exception& e) {
      if (classify(e) == write_failure::row) {
        dropped_error_.fetch_add(1, std::memory_order_relaxed);
        spdlog::error("journal: event {}/{} (request {}) refused by the database: {}",
                      original.type, original.subtype, original.request_id, e.what());
        ++i;
        continue;
      }
      flush_failures_.fetch_add(1, std::memory_order_relaxed);
      if (!pause_before_retry(backoff, rows.size() - i, e)) return;
    }
  }
}

writer_stats writer::stats() const {
  writer_stats s;
  s.written_interfaccia = written_interfaccia_.load();
  s.written_interno = written_interno_.load();
  s.dropped_queue_full = dropped_full_.load();
  s.dropped_write_error = dropped_error_.load();
  s.skipped_disabled = skipped_.load();
  s.queue_full = full_.load();
  s.waited = waited_.load();
  s.flushes = flushes_.load();
  s.flush_failures = flush_failures_.load();
  std::lock_guard lock(mutex_);
  s.depth = queue_.size();
  s.bytes = bytes_;
  return s;
}

void writer::append_metrics(std::string& out) const {
  const auto s = stats();
  const auto line = [&out](const std::string& text) { out += text + "\n"; };
  line("# HELP pagohub_journal_events_written_total Journal events committed by the writer.");
  line("# TYPE pagohub_journal_events_written_total counter");
  line("pagohub_journal_events_written_total{category=\"INTERFACCIA\"} " +
       std::to_string(s.written_interfaccia));
  line("pagohub_journal_events_written_total{category=\"INTERNO\"} " +
       std::to_string(s.written_interno));
  line("# HELP pagohub_journal_events_dropped_total Journal events not recorded, by reason.");
  line("# TYPE pagohub_journal_events_dropped_total counter");
  line("pagohub_journal_events_dropped_total{reason=\"queue_full\"} " +
       std::to_string(s.dropped_queue_full));
  line("pagohub_journal_events_dropped_total{reason=\"write_error\"} " +
       std::to_string(s.dropped_write_error));
  line("pagohub_journal_events_dropped_total{reason=\"disabled\"} " +
       std::to_string(s.skipped_disabled));
  line("# HELP pagohub_journal_queue_full_total Enqueues that found the journal queue full.");
  line("# TYPE pagohub_journal_queue_full_total counter");
  line("pagohub_journal_queue_full_total " + std::to_string(s.queue_full));
  line("# HELP pagohub_journal_enqueue_waits_total State-changing enqueues that waited for room.");
  line("# TYPE pagohub_journal_enqueue_waits_total counter");
  line("pagohub_journal_enqueue_waits_total " + std::to_string(s.waited));
  line("# HELP pagohub_journal_queue_depth Journal events waiting to be written.");
  line("# TYPE pagohub_journal_queue_depth gauge");
  line("pagohub_journal_queue_depth " + std::to_string(s.depth));
  line("# HELP pagohub_journal_queue_capacity Journal queue capacity (events).");
  line("# TYPE pagohub_journal_queue_capacity gauge");
  line("pagohub_journal_queue_capacity " + std::to_string(capacity_));
  line("# HELP pagohub_journal_flush_failures_total Journal batch writes that failed.");
  line("# TYPE pagohub_journal_flush_failures_total counter");
  line("pagohub_journal_flush_failures_total " + std::to_string(s.flush_failures));
  line("# HELP pagohub_journal_flush_duration_seconds Time to write one batch.");
  line("# TYPE pagohub_journal_flush_duration_seconds histogram");
  http::latency_histogram flushes;
  {
    std::lock_guard lock(mutex_);
    flushes = flush_latency_;
  }
  http::append_histogram(out, "pagohub_journal_flush_duration_seconds", "", flushes);
}

}  // namespace pagohub::journal
