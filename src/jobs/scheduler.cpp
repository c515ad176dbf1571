#include <pagohub/jobs/scheduler.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <vector>

#include "lease_sql.hpp"

namespace pagohub::jobs {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::string_view to_string(tick_outcome o) noexcept {
  switch (o) {
    case tick_outcome::ran_ok:
      return "ran_ok";
    case tick_outcome::ran_failed:
      return "ran_failed";
    case tick_outcome::done:
      return "done";
    case tick_outcome::busy:
      return "busy";
  }
  return "?";
}

namespace {

using strand_type = asio::strand<asio::io_context::executor_type>;

std::int64_t unix_seconds(schedule::time_point t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool valid_job_name(const std::string& name) {
  static const std::regex pattern("^[a-z][a-z0-9_.-]{0,62}$");
  return std::regex_match(name, pattern);
}

}  // namespace

struct job_entry {
  job_entry(job_spec s, asio::io_context& ioc)
      : spec(std::move(s)), strand(asio::make_strand(ioc)), timer(strand) {}
  job_spec spec;
  strand_type strand;
  asio::steady_timer timer;  // used only on `strand`
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::int64_t> last_run_unix{0};
};

struct scheduler::state : std::enable_shared_from_this<scheduler::state> {
  state(asio::io_context& io, db::executor& database, scheduler_settings s, const core::clock& c)
      : ioc(io),
        db(database),
        settings(std::move(s)),
        clock(c),
        heartbeat_strand(asio::make_strand(io)),
        heartbeat_timer(heartbeat_strand) {}

  asio::io_context& ioc;
  db::executor& db;
  scheduler_settings settings;
  const core::clock& clock;
  std::vector<std::unique_ptr<job_entry>> jobs;
  std::atomic<bool> started{false};
  std::atomic<bool> stopping{false};
  strand_type heartbeat_strand;
  asio::steady_timer heartbeat_timer;

  job_entry& find(std::string_view name) {
    for (auto& j : jobs)
      if (j->spec.name == name) return *j;
    throw std::invalid_argument("no job named '" + std::string(name) + "'");
  }

  struct attempt_result {
    tick_outcome outcome = tick_outcome::busy;
    std::chrono::milliseconds retry_in{0};  // for busy: when the holder's lease runs out
  };

  asio::awaitable<attempt_result> attempt(job_entry& job) {
    const auto slot = job.spec.when.slot_of(clock.now());
    const std::int64_t slot_s = unix_seconds(slot);
    const auto ttl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(job.spec.lease_ttl);
    const detail::lease_request request{job.spec.name, settings.instance_id, slot_s, ttl_ms.count(),
                                        settings.stale_after.count()};
    const auto claim =
        co_await db.transact([&request](pqxx::work& w) { return detail::claim_lease(w, request); });
    if (claim.kind == detail::claim_kind::done) co_return attempt_result{tick_outcome::done, {}};
    if (claim.kind == detail::claim_kind::busy)
      co_return attempt_result{tick_outcome::busy, claim.busy_for};

    const run_context ctx{job.spec.name, slot, settings.instance_id, job.spec.lease_ttl};
    core::result<std::string> result = core::fail(core::errc::internal, "not run");
    try {
      result = co_await job.spec.body(ctx);
    } catch (const std::exception& e) {
      result = core::fail(core::errc::internal, std::string("exception: ") + e.what());
    }
    const bool ok = result.has_value();
    std::string detail_text = ok ? *result : result.error().message;
    if (ok) {
      spdlog::debug("job {}: slot {} done: {}", job.spec.name, slot_s, detail_text);
    } else {
      spdlog::warn("job {}: slot {} failed: {}", job.spec.name, slot_s, detail_text);
    }
    const detail::run_finish finish{claim.run_id, ok, std::move(detail_text)};
    bool kept = true;
    try {
      kept = co_await record_finish(job, request, finish);
    } catch (const std::exception& e) {
      // The job has run: running it again for want of a record would be worse than a row
      // left 'running'. This daemon keeps the lease (its heartbeat renews it) and moves on to
      // the next slot, whose claim marks that row abandoned.
      spdlog::error("job {}: slot {} ran ({}) but its end could not be recorded: {}", job.spec.name,
                    slot_s, ok ? "ok" : "failed", e.what());
    }
    if (!kept)
      spdlog::warn("job {}: the lease was taken over while slot {} ran (it outlived lease_ttl)",
                   job.spec.name, slot_s);
    (ok ? job.ok : job.failed).fetch_add(1, std::memory_order_relaxed);
    job.last_run_unix.store(unix_seconds(clock.now()), std::memory_order_relaxed);
    co_return attempt_result{ok ? tick_outcome::ran_ok : tick_outcome::ran_failed, {}};
  }

  // Records the outcome and releases the lease, with retries of its own rather than a new
  // attempt at the slot: the job has run, and until this commits the lease names this daemon
  // with the slot not done, which a new claim would take as leave to run it again. The
  // executor already retries lost connections and conflicts within each try; these cover a
  // database that stays unwell a few seconds longer. Throws what the last try threw.
  asio::awaitable<bool> record_finish(job_entry& job, const detail::lease_request& request,
                                      const detail::run_finish& finish) {
    constexpr int tries = 4;
    auto pause = std::chrono::milliseconds(500);
    for (int i = 1;; ++i) {
      std::string failure;
      try {
        co_return co_await db.transact(
            [&request, &finish](pqxx::work& w) { return detail::finish_run(w, request, finish); });
      } catch (const std::exception& e) {
        if (i >= tries || stopping.load()) throw;
        failure = e.what();
      }
      spdlog::warn("job {}: cannot record the end of slot {} yet ({}); retrying in {} ms",
                   job.spec.name, request.slot_unix, failure, pause.count());
      asio::steady_timer timer(co_await asio::this_coro::executor, pause);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      pause *= 2;
    }
  }

  static asio::awaitable<void> loop(std::shared_ptr<state> self, job_entry& job) {
    while (!self->stopping.load()) {
      attempt_result r;
      try {
        r = co_await self->attempt(job);
      } catch (const std::exception& e) {
        // The database is away or the lease statement failed: try again soon, as if busy.
        spdlog::warn("job {}: cannot take its lease now: {}", job.spec.name, e.what());
        r = attempt_result{tick_outcome::busy, self->settings.busy_retry};
      }
      if (self->stopping.load()) break;
      const auto now = self->clock.now();
      auto delay =
          std::chrono::duration_cast<std::chrono::milliseconds>(job.spec.when.next_slot(now) - now);
      if (r.outcome == tick_outcome::busy) {
        auto retry = std::min(self->settings.busy_retry, std::max(r.retry_in, 100ms));
        delay = std::min(delay, retry);
      }
      job.timer.expires_after(std::max(delay, 1ms));
      co_await job.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  static asio::awaitable<void> heartbeat(std::shared_ptr<state> self) {
    while (!self->stopping.load()) {
      self->heartbeat_timer.expires_after(self->settings.heartbeat_interval);
      co_await self->heartbeat_timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (self->stopping.load()) break;
      try {
        const auto& s = self->settings;
        co_await self->db.transact([&s](pqxx::work& w) {
          detail::heartbeat(w, {s.instance_id, s.hostname, s.pid, s.version});
        });
      } catch (const std::exception& e) {
        spdlog::warn("scheduler heartbeat failed: {}", e.what());
      }
    }
  }
};

scheduler::scheduler(asio::io_context& ioc, db::executor& db, scheduler_settings settings,
                     const core::clock& clock)
    : state_(std::make_shared<state>(ioc, db, std::move(settings), clock)) {
  if (state_->settings.instance_id.empty())
    throw std::invalid_argument("scheduler: an instance id is required");
}

scheduler::~scheduler() {
  stop();
}

void scheduler::add(job_spec spec) {
  if (state_->started.load()) throw std::logic_error("scheduler: add() after start()");
  if (!valid_job_name(spec.name))
    throw std::invalid_argument("job name '" + spec.name + "' must match [a-z][a-z0-9_.-]{0,62}");
  if (!spec.body) throw std::invalid_argument("job '" + spec.name + "' has no body");
  if (spec.lease_ttl < std::chrono::seconds(1))
    throw std::invalid_argument("job '" + spec.name + "': lease_ttl must be at least 1 second");
  for (const auto& j : state_->jobs)
    if (j->spec.name == spec.name)
      throw std::invalid_argument("job '" + spec.name + "' is registered twice");
  state_->jobs.push_back(std::make_unique<job_entry>(std::move(spec), state_->ioc));
}

void scheduler::start() {
  if (state_->started.exchange(true)) return;
  const auto& s = state_->settings;
  state_->db.transact_sync([&s](pqxx::work& w) {
    detail::register_instance(w, {s.instance_id, s.hostname, s.pid, s.version});
  });
  for (const auto& j : state_->jobs)
    spdlog::info("job {}: {}, lease {}s", j->spec.name, j->spec.when.describe(),
                 j->spec.lease_ttl.count());
  asio::co_spawn(state_->heartbeat_strand, state::heartbeat(state_), asio::detached);
  for (auto& j : state_->jobs) asio::co_spawn(j->strand, state::loop(state_, *j), asio::detached);
}

void scheduler::stop() {
  if (state_->stopping.exchange(true)) return;
  // Timers are not thread-safe: cancel each on the strand its loop runs on.
  auto self = state_;
  asio::post(self->heartbeat_strand, [self] { self->heartbeat_timer.cancel(); });
  for (auto& j : self->jobs) {
    job_entry* entry = j.get();
    asio::post(entry->strand, [self, entry] { entry->timer.cancel(); });
  }
}

void scheduler::close() {
  stop();
  if (!state_->started.load()) return;
  const auto& id = state_->settings.instance_id;
  try {
    state_->db.transact_sync([&id](pqxx::work& w) { detail::unregister_instance(w, id); });
  } catch (const std::exception& e) {
    // Not fatal: the leases expire and the heartbeat goes stale; other daemons take over.
    spdlog::warn("scheduler: could not release leases at stop: {}", e.what());
  }
}

asio::awaitable<tick_outcome> scheduler::tick(std::string_view name) {
  auto self = state_;
  auto r = co_await self->attempt(self->find(name));
  co_return r.outcome;
}

void scheduler::append_metrics(std::string& out) const {
  out += "# HELP pagohub_job_runs_total Scheduled job runs made by this daemon, by outcome.\n";
  out += "# TYPE pagohub_job_runs_total counter\n";
  for (const auto& j : state_->jobs) {
    out += "pagohub_job_runs_total{job=\"" + j->spec.name + "\",outcome=\"ok\"} " +
           std::to_string(j->ok.load()) + "\n";
    out += "pagohub_job_runs_total{job=\"" + j->spec.name + "\",outcome=\"failed\"} " +
           std::to_string(j->failed.load()) + "\n";
  }
  out +=
      "# HELP pagohub_job_last_run_timestamp_seconds When this daemon last finished a run of "
      "the job (0: never).\n";
  out += "# TYPE pagohub_job_last_run_timestamp_seconds gauge\n";
  for (const auto& j : state_->jobs)
    out += "pagohub_job_last_run_timestamp_seconds{job=\"" + j->spec.name + "\"} " +
           std::to_string(j->last_run_unix.load()) + "\n";
}

const std::string& scheduler::instance_id() const noexcept {
  return state_->settings.instance_id;
}

}  // namespace pagohub::jobs
