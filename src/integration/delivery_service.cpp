// The delivery loops (include/pagohub/integration/delivery.hpp, docs/integration.md).
//
// One supervisor coroutine per daemon routes unrouted messages (and routes again those left on
// an integration that no longer sends: removed, or switched to pull), releases claims abandoned by
// stopped daemons, refreshes gauges and the suspended states, and keeps `pipelines` batch
// loops running per active push or file integration. A batch loop claims due messages
// (SKIP LOCKED), sends them over up to max_concurrency connections (each request's timeout
// starting when it has one), records the outcomes in one transaction, and goes on while
// batches come back full.
#include <pagohub/integration/bo_client.hpp>
#include <pagohub/integration/client_builder.hpp>
#include <pagohub/integration/delivery.hpp>
#include <pagohub/integration/endpoint.hpp>
#include <pagohub/integration/outbox.hpp>
#include <pagohub/integration/settings_store.hpp>
#include <pagohub/journal/writer.hpp>
#include <pagohub/pap/receipts.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "breaker.hpp"
#include "file_drop.hpp"
#include "file_writers.hpp"
#include "message_body.hpp"
#include "push_attempt.hpp"

namespace pagohub::integration {

namespace asio = boost::asio;
using asio::experimental::awaitable_operators::operator||;
using steady = std::chrono::steady_clock;

std::string_view to_string(breaker_state s) noexcept {
  switch (s) {
    case breaker_state::closed:
      return "closed";
    case breaker_state::open:
      return "open";
    case breaker_state::half_open:
      return "half_open";
  }
  return "closed";
}

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// Claims and outcomes commit without waiting for the WAL flush (a flush per batch would cost
// more than the batch's statements). Why that is safe: a crash of the database server (or a
// failover to a replica behind) can lose the last transactions committed this way, each whole
// and in commit order: the WAL never keeps a later commit without the earlier ones. A lost claim
// leaves its messages PENDING, so they are claimed and sent again; a lost outcome leaves its
// messages DELIVERING until the claim's lease runs out, and then they are sent again; the
// outcome's INTERNO journal events are lost with it, so the journal never says DELIVERED for a
// message the outbox still holds. Either way a delivery is repeated, never lost: the message row
// itself was committed durably by the change that wrote it, and the back-office deduplicates on
// the Idempotency-Key. Per-position order holds too, since the repeated message is still the
// first open one of its position. No acknowledgement to a caller depends on these commits.
void relax_commit(pqxx::work& w) {
  w.exec("SET LOCAL synchronous_commit = off");
}

struct counters {
  std::uint64_t delivered = 0, dead = 0, retried = 0;
  http::latency_histogram latency;
};

// One integration's runtime: its settings as last seen, its client, its breaker.
struct lane {
  explicit lane(const config::integration& i) : id(i.id), settings(i) {}
  const std::string id;
  // Under state::mutex: the supervisor replaces it at every poll while batches run on other
  // threads (state::settings_of takes a copy).
  config::integration settings;
  std::shared_ptr<bo_client> client;                   // push only
  std::shared_ptr<detail::file_writers::queue> files;  // file only
  detail::breaker breaker;
  std::atomic<int> running{0};
  std::atomic<bool> retired{false};
};

}  // namespace

struct delivery_service::state : std::enable_shared_from_this<state> {
  state(asio::io_context& c, db::executor& d, config::integration_holder& h, const core::clock& k,
        delivery_settings s)
      : ioc(c),
        db(d),
        holder(h),
        clock(k),
        settings(std::move(s)),
        wakeup(c.get_executor(), 1),
        files(settings.file_threads, settings.before_file_write),
        clients(settings.endpoint_retry,
                {"delivery", "still delivering at", "its messages wait until it can"}) {}

  asio::io_context& ioc;
  db::executor& db;
  config::integration_holder& holder;
  const core::clock& clock;
  delivery_settings settings;
  asio::experimental::concurrent_channel<void(boost::system::error_code)> wakeup;
  detail::file_writers files;  // file mode writes block: never on an I/O thread
  std::atomic<bool> stopping{false};
  std::atomic<bool> states_stale{true};

  mutable std::mutex mutex;
  std::map<std::string, std::shared_ptr<lane>> lanes;
  std::map<std::string, bool> suspended;  // from integration_states
  std::vector<state_count> gauges;
  std::map<std::string, counters> stats;
  client_builder clients;
  std::mt19937_64 rng{std::random_device{}()};

  const journal::payload_rules& rules() const {
    return settings.rules ? *settings.rules : journal::payload_rules::defaults();
  }

  bool is_suspended(const lane& l) {
    std::lock_guard lock(mutex);
    const auto it = suspended.find(l.id);
    return it == suspended.end() ? l.settings.initially_suspended : it->second;
  }

  config::integration settings_of(const lane& l) const {
    std::lock_guard lock(mutex);
    return l.settings;
  }

  int batch_size(const config::integration& i) const {
    if (settings.batch_size > 0) return settings.batch_size;
    // Large enough that the two transactions of a batch are paid over many messages, small
    // enough that a batch's claim lease and its journal COPY stay short.
    return static_cast<int>(std::clamp<std::size_t>(i.max_concurrency * 32, 32, 512));
  }

  void observe(const std::string& id, const attempt_result& r) {
    std::lock_guard lock(mutex);
    auto& c = stats[id];
    if (r.outcome == verdict::delivered) ++c.delivered;
    if (r.outcome == verdict::dead) ++c.dead;
    if (r.outcome == verdict::retry) ++c.retried;
    c.latency.observe(std::chrono::duration<double>(r.duration).count());
  }

  // ---- the supervisor -------------------------------------------------------------------

  static asio::awaitable<void> supervise(std::shared_ptr<state> self) {
    auto last_release = steady::time_point{};
    auto last_gauges = steady::time_point{};
    auto last_states = steady::time_point{};
    auto last_unroute = steady::time_point{};
    std::shared_ptr<const config::integration_registry> unrouted_for;
    while (!self->stopping) {
      try {
        auto registry = self->holder.get();
        const auto now = steady::now();
        if (self->states_stale.exchange(false) || now - last_states > std::chrono::seconds(2)) {
          // The admins' runtime settings overrides travel with the states: merged into the
          // holder, they reach the lanes below and the on-demand lookups (settings_store.hpp).
          auto fresh = co_await self->db.transact(
              [](pqxx::work& w) { return std::pair(suspended_states(w), load_override_map(w)); },
              db::isolation::read_committed, db::access::read_only);
          self->holder.set_overrides(std::move(fresh.second));
          registry = self->holder.get();
          std::lock_guard lock(self->mutex);
          self->suspended = std::move(fresh.first);
          last_states = now;
        }
        if (registry &&
            (registry != unrouted_for || now - last_unroute > std::chrono::seconds(10))) {
          // Messages left routed to an integration removed from the configuration, or switched
          // to pull, have no batch loop and would block their positions for ever: unrouted,
          // the routing below takes them as the configuration now says. At once after a change
          // of the configuration or of the overrides, and now and then for changes another
          // daemon's routing raced with.
          const auto routes = routes_of(*registry);
          const auto at = self->clock.now();
          // The table the outbox insert trigger routes new messages by (sql/0023): published
          // before the stale routes are taken back, so that no message is routed by the old
          // table after its pass. Again every few seconds, in case another daemon with another
          // configuration published its own.
          co_await self->db.transact([&](pqxx::work& w) { publish_routes(w, routes); });
          // Messages routed by an older table to an integration that still sends: after a
          // change only, since it reads every backlog.
          const bool changed = registry != unrouted_for;
          for (int pass = 0; pass < 100 && !self->stopping; ++pass) {
            const auto taken = co_await self->db.transact(
                [&](pqxx::work& w) { return unroute_stale(w, routes, at, 5000, changed); });
            std::int64_t total = 0;
            for (const auto& [id, n] : taken) {
              total += n;
              const config::integration* still = registry->find(id);
              spdlog::info("delivery: {} pending messages of integration {} routed again: {}", n,
                           id, unrouted_reason(still ? std::optional(still->mode) : std::nullopt));
            }
            if (total < 5000) break;
          }
          unrouted_for = registry;
          last_unroute = now;
        }
        if (registry && registry->size() > 0) {
          const auto routes = routes_of(*registry);
          const auto at = self->clock.now();
          // Route until a pass comes back short: a backlog is routed at once, not 5000 per tick.
          for (int pass = 0; pass < 100 && !self->stopping; ++pass) {
            auto routed = co_await self->db.transact(
                [&](pqxx::work& w) { return route_messages(w, routes, at); });
            if (routed.routed < 5000) break;
          }
        }
        if (now - last_release > std::chrono::seconds(10)) {
          const auto at = self->clock.now();
          const auto n = co_await self->db.transact(
              [&](pqxx::work& w) { return release_expired_claims(w, at); });
          if (n > 0) spdlog::warn("delivery: {} abandoned claims released for another attempt", n);
          last_release = now;
        }
        if (now - last_gauges > self->settings.gauge_interval) {
          auto counts =
              co_await self->db.transact([](pqxx::work& w) { return count_by_state(w); },
                                         db::isolation::read_committed, db::access::read_only);
          std::lock_guard lock(self->mutex);
          self->gauges = std::move(counts);
          last_gauges = now;
        }
        if (registry) self->spawn_lanes(*registry);
      } catch (const std::exception& e) {
        // The database is away, most likely: the next tick tries again.
        spdlog::warn("delivery: {}", e.what());
      }
      asio::steady_timer timer(self->ioc, self->settings.poll_interval);
      co_await (self->wakeup.async_receive(use_nothrow) || timer.async_wait(use_nothrow));
    }
  }

  // Where a lane delivers: its base URL, or its directory.
  static std::string target_of(const config::integration& i) {
    return i.mode == config::integration_mode::push ? i.base_url : i.directory;
  }

  void spawn_lanes(const config::integration_registry& registry) {
    std::vector<std::shared_ptr<lane>> to_run;
    {
      std::lock_guard lock(mutex);
      std::map<std::string, std::shared_ptr<lane>> fresh;
      std::set<std::string, std::less<>> failing;
      for (const auto& i : registry.all()) {
        if (i.mode == config::integration_mode::pull) continue;
        const auto it = lanes.find(i.id);
        const std::shared_ptr<lane> old = it == lanes.end() ? nullptr : it->second;
        std::shared_ptr<lane> l;
        if (old && old->settings.mode == i.mode &&
            (i.mode != config::integration_mode::push || same_endpoint(old->settings, i))) {
          l = old;
          l->settings = i;  // retry settings may change without a new client
        } else if (i.mode != config::integration_mode::push) {
          l = std::make_shared<lane>(i);
          l->files = files.make_queue();
        } else if (auto client =
                       clients.build(ioc.get_executor(), i,
                                     old ? std::optional(target_of(old->settings)) : std::nullopt,
                                     clock.now(), steady::now())) {
          l = std::make_shared<lane>(i);
          l->client = std::move(client);
        } else {
          // The new endpoint cannot be used (a TLS file unreadable or invalid): the previous
          // lane, if any, goes on with its previous settings and client rather than nothing at
          // all; without one, the messages wait (nothing is lost) until the endpoint can be used.
          failing.insert(i.id);
          if (!old) continue;
          l = old;
        }
        fresh.emplace(i.id, l);
      }
      clients.keep_only(failing);
      for (auto& [id, l] : lanes)
        if (!fresh.contains(id) || fresh[id] != l) l->retired = true;
      lanes = std::move(fresh);
      for (auto& [id, l] : lanes) {
        const auto s = suspended.find(id);
        const bool off = s == suspended.end() ? l->settings.initially_suspended : s->second;
        if (!off) to_run.push_back(l);
      }
    }
    // The missing pipelines, counted once: co_spawn runs a pipeline on this thread until it
    // first waits, and one that has nothing to do (its circuit open, say) ends before that. A
    // loop until the count is full would start it again and again without end, holding this
    // thread; the next poll starts it again instead.
    const int wanted = std::max(1, settings.pipelines);
    for (auto& l : to_run) {
      for (int n = l->running.load(); n < wanted; ++n) {
        l->running.fetch_add(1);
        asio::co_spawn(ioc, pipeline(shared_from_this(), l), asio::detached);
      }
    }
  }

  // ---- one batch loop ---------------------------------------------------------------------

  struct batch {
    std::vector<claimed_message> messages;
    std::map<std::int64_t, std::string> receipt_json;  // by outbox id
  };

  static asio::awaitable<void> pipeline(std::shared_ptr<state> self, std::shared_ptr<lane> l) {
    try {
      while (!self->stopping && !l->retired && !self->is_suspended(*l)) {
        if (!co_await self->run_batch(l)) break;
      }
    } catch (const std::exception& e) {
      spdlog::warn("delivery: integration {}: {}", l->id, e.what());
    }
    l->running.fetch_sub(1);
  }

  // One batch; true when it was full (more may be due).
  asio::awaitable<bool> run_batch(std::shared_ptr<lane> l) {
    const config::integration cfg = settings_of(*l);
    const bool push = cfg.mode == config::integration_mode::push;
    // Held until the batch ends, whichever way: a probe batch that records no outcome for its
    // probe (nothing due, a failed claim, the message never sent) gives the probe's turn back.
    std::optional<detail::batch_permit> permit;
    if (push) {
      permit.emplace(l->breaker, steady::now());
      if (permit->kind() == detail::breaker::permit::wait) co_return false;
    } else if (l->files->stuck()) {
      // A write of an earlier batch has not ended (file_writers.hpp): what it would claim would
      // only queue behind it.
      co_return false;
    }
    const bool probe = permit && permit->probe();
    const int limit = probe ? 1 : batch_size(cfg);
    // How long the batch may start requests: per round of max_concurrency requests one
    // timeout, with a margin. The connections are shared with the integration's other
    // pipelines, so a round can take longer; a message whose turn has not come by then goes
    // back unsent. The claim outlasts that: a request started at the last moment may take a
    // whole timeout, and then the outcomes are recorded. File mode has no timeout: its window
    // is a fixed one, and the write under way at its end is waited for a grace at most.
    const int connections = static_cast<int>(std::max<std::size_t>(cfg.max_concurrency, 1));
    const auto rounds = (limit + connections - 1) / connections;
    const auto sending =
        push ? cfg.timeout * rounds + std::chrono::seconds(10) : settings.file_window;
    const auto lease =
        sending + (push ? cfg.timeout : settings.file_write_grace) + std::chrono::seconds(30);
    const auto send_by = steady::now() + sending;
    const auto now = clock.now();
    batch b = co_await db.transact([&](pqxx::work& w) {
      relax_commit(w);
      batch out;
      out.messages = claim_due(w, cfg.id, limit, settings.instance_id, now, lease);
      // The receipts, as the REST API shows them, one statement per entity.
      std::map<std::string, std::map<std::int64_t, std::int64_t>> wanted;  // fc -> row -> outbox
      for (const auto& m : out.messages)
        if (m.receipt_row_id) wanted[m.entity_fc][*m.receipt_row_id] = m.id;
      for (const auto& [fc, rows] : wanted) {
        std::vector<std::int64_t> ids;
        for (const auto& [row, _] : rows) ids.push_back(row);
        for (const auto& r : pap::find_receipts_by_row_ids(w, fc, ids))
          out.receipt_json[rows.at(r.id)] = pap::to_json(r);
      }
      return out;
    });
    if (b.messages.empty()) co_return false;

    std::vector<attempt_result> results(b.messages.size());
    if (push) {
      co_await send_all(l, cfg, b, results, *permit, send_by);
    } else {
      co_await write_all(*l, cfg, b, results, send_by);
    }
    const auto done = clock.now();
    std::size_t held = 0;
    {
      std::lock_guard lock(mutex);
      for (auto& r : results) {
        if (!r.sent) ++held;
        if (!r.sent || r.outcome != verdict::retry) continue;
        // Nothing is given up silently: out of attempts (or too old) means DEAD, with the
        // last error, for an operator to look at. The age counts from the last resend, if any:
        // a message requeued days after it went DEAD gets its full max_age again.
        const auto& m = *std::find_if(b.messages.begin(), b.messages.end(),
                                      [&](const auto& x) { return x.id == r.id; });
        if (exhausted(m.attempt, m.retry_since, done, cfg)) {
          r.outcome = verdict::dead;
          r.error = "gave up after " + std::to_string(m.attempt) + " attempts: " + r.error;
        } else {
          r.next_attempt_at = done + backoff_delay(m.attempt, cfg, rng);
        }
      }
    }
    // A message that never left is no attempt: not counted, and back to PENDING as it was.
    for (const auto& r : results)
      if (r.sent) observe(cfg.id, r);
    if (held > 0) {
      spdlog::info("delivery: integration {}: {} of {} messages not sent ({}): due again", cfg.id,
                   held, results.size(),
                   push ? "circuit open, or no connection free within the batch's time"
                        : "their turn came after the batch's time");
    }
    co_await db.transact([&](pqxx::work& w) {
      relax_commit(w);
      return record_results(w, cfg.id, settings.instance_id, b.messages, results, done, rules());
    });
    co_return static_cast<int>(b.messages.size()) >= limit && !probe;
  }

  // Up to max_concurrency workers take the batch's messages in turn: a request starts, and its
  // timeout runs, only when a connection is free, however large the batch.
  asio::awaitable<void> send_all(std::shared_ptr<lane> l, const config::integration& cfg, batch& b,
                                 std::vector<attempt_result>& results, detail::batch_permit& permit,
                                 steady::time_point send_by) {
    const std::size_t n = b.messages.size();
    const std::size_t workers = std::min(n, std::max<std::size_t>(cfg.max_concurrency, 1));
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> left{workers};
    asio::experimental::concurrent_channel<void(boost::system::error_code)> done(ioc.get_executor(),
                                                                                 1);
    for (std::size_t k = 0; k < workers; ++k) {
      asio::co_spawn(
          ioc,
          [&]() -> asio::awaitable<void> {
            for (std::size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
              // Whatever goes wrong with one message, the worker goes on and ends: this batch
              // waits for every worker, and one lost would hang its pipeline for good.
              std::optional<std::string> failure;
              try {
                results[i] = co_await send_or_hold(*l, cfg, b, i, permit, send_by);
              } catch (const std::exception& e) {
                failure = e.what();
              } catch (...) {
                failure = "unknown exception";
              }
              if (failure) results[i] = failed_locally(b.messages[i], *failure);
            }
            if (left.fetch_sub(1) == 1) done.try_send(boost::system::error_code{});
          },
          asio::detached);
    }
    co_await done.async_receive(use_nothrow);
  }

  // One message of a batch: sent, or held back when sending it now would be wrong.
  asio::awaitable<attempt_result> send_or_hold(lane& l, const config::integration& cfg,
                                               const batch& b, std::size_t i,
                                               detail::batch_permit& permit,
                                               steady::time_point send_by) {
    const auto& m = b.messages[i];
    // A batch claimed while the circuit was closed stops sending once it opens: the rest wait
    // for the probe like every other due message, instead of each failing against a
    // back-office that is down.
    if (!permit.probe() && l.breaker.state() != breaker_state::closed) co_return held_back(m);
    if (steady::now() >= send_by) co_return held_back(m);
    const auto it = b.receipt_json.find(m.id);
    std::optional<std::string> receipt;
    if (it != b.receipt_json.end()) receipt = it->second;
    attempt_result r = co_await detail::push_attempt(*l.client, cfg, m, receipt, send_by,
                                                     {clock, settings.events, rules()});
    // Only what the endpoint did counts for its breaker: a request that never left (no
    // connection free in time) says nothing about it.
    if (r.sent) {
      const bool endpoint_ok = r.http_status && r.outcome != verdict::retry;
      permit.record(endpoint_ok, cfg.breaker_failures, cfg.breaker_open, steady::now());
    }
    co_return r;
  }

  attempt_result held_back(const claimed_message& m) const {
    attempt_result r;
    r.id = m.id;
    r.sent = false;
    r.started = clock.now();
    return r;
  }

  // A failure of the gateway itself while delivering: retried like a failure without an
  // answer, since whether the request left is not known.
  attempt_result failed_locally(const claimed_message& m, const std::string& what) const {
    attempt_result r;
    r.id = m.id;
    r.outcome = verdict::retry;
    r.started = clock.now();
    r.error = "internal error while delivering: " + what;
    return r;
  }

  // The batch's files, on the integration's queue of the file threads: open, write, fsync and
  // rename block. A file whose turn comes after send_by goes back unsent; one still being
  // written a grace later is an attempt whose outcome is not known (file_writers.hpp).
  asio::awaitable<void> write_all(const lane& l, const config::integration& cfg, batch& b,
                                  std::vector<attempt_result>& results,
                                  steady::time_point send_by) {
    std::vector<detail::file_job> jobs;
    jobs.reserve(b.messages.size());
    for (const auto& m : b.messages) {
      const auto it = b.receipt_json.find(m.id);
      std::optional<std::string> receipt;
      if (it != b.receipt_json.end()) receipt = it->second;
      jobs.push_back(
          {m.entity_fc, detail::file_name_for(m.kind, m.key), detail::body_of(m, receipt)});
    }
    const auto asked = clock.now();
    const auto t0 = steady::now();
    const auto written = co_await files.write(l.files, cfg.id, cfg.directory, std::move(jobs),
                                              send_by, send_by + settings.file_write_grace);
    const auto now = steady::now();
    for (std::size_t i = 0; i < b.messages.size(); ++i) {
      const auto& m = b.messages[i];
      const auto& w = written[i];
      auto& r = results[i];
      if (w.outcome == detail::file_result::state::not_started) {
        r = held_back(m);
        continue;
      }
      r.id = m.id;
      r.via = "file";
      r.started =
          asked + std::chrono::duration_cast<std::chrono::system_clock::duration>(w.started - t0);
      switch (w.outcome) {
        case detail::file_result::state::written:
          r.outcome = verdict::delivered;
          r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(w.duration);
          break;
        case detail::file_result::state::failed:
          r.outcome = verdict::retry;
          r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(w.duration);
          r.error = w.error;
          break;
        default:
          // Still under way: written or not, nobody knows yet. Written again later, under the
          // same name, which replaces the file whole.
          r.outcome = verdict::retry;
          r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(now - w.started);
          r.error = "the write in " + cfg.directory + " had not ended after " +
                    std::to_string(r.duration.count()) +
                    " ms (a directory that is slow or does not answer)";
          break;
      }
    }
  }
};

delivery_service::delivery_service(asio::io_context& ioc, db::executor& db,
                                   config::integration_holder& integrations,
                                   const core::clock& clock, delivery_settings settings)
    : state_(std::make_shared<state>(ioc, db, integrations, clock, std::move(settings))) {}

delivery_service::~delivery_service() {
  stop();
  state_->files.join();
}

void delivery_service::start() {
  asio::co_spawn(state_->ioc, state::supervise(state_), asio::detached);
}

void delivery_service::stop() {
  if (state_->stopping.exchange(true)) return;
  state_->wakeup.try_send(boost::system::error_code{});
}

void delivery_service::wake() {
  state_->wakeup.try_send(boost::system::error_code{});
}

void delivery_service::refresh_states() {
  state_->states_stale = true;
  wake();
}

breaker_state delivery_service::breaker(const std::string& integration_id) const {
  std::lock_guard lock(state_->mutex);
  const auto it = state_->lanes.find(integration_id);
  return it == state_->lanes.end() ? breaker_state::closed : it->second->breaker.state();
}

std::optional<endpoint_failure> delivery_service::failed_endpoint(
    const std::string& integration_id) const {
  std::lock_guard lock(state_->mutex);
  const auto* f = state_->clients.find(integration_id);
  if (f == nullptr) return std::nullopt;
  endpoint_failure out{f->error, f->since, {}};
  const auto it = state_->lanes.find(integration_id);
  if (it != state_->lanes.end()) out.delivering_to = state::target_of(it->second->settings);
  return out;
}

void delivery_service::append_metrics(std::string& out) const {
  std::lock_guard lock(state_->mutex);
  const auto label = [](const std::string& v) { return v.empty() ? std::string("(unrouted)") : v; };
  out +=
      "# HELP pagohub_outbox_messages Outbox messages not yet delivered, by integration and "
      "state.\n# TYPE pagohub_outbox_messages gauge\n";
  for (const auto& g : state_->gauges) {
    out += "pagohub_outbox_messages{integration=\"" + label(g.integration_id) + "\",state=\"" +
           g.state + "\"} " + std::to_string(g.count) + "\n";
  }
  out +=
      "# HELP pagohub_delivery_total Delivery attempts by integration and outcome.\n"
      "# TYPE pagohub_delivery_total counter\n";
  for (const auto& [id, c] : state_->stats) {
    out += "pagohub_delivery_total{integration=\"" + id + "\",outcome=\"delivered\"} " +
           std::to_string(c.delivered) + "\n";
    out += "pagohub_delivery_total{integration=\"" + id + "\",outcome=\"dead\"} " +
           std::to_string(c.dead) + "\n";
    out += "pagohub_delivery_total{integration=\"" + id + "\",outcome=\"retry\"} " +
           std::to_string(c.retried) + "\n";
  }
  out +=
      "# HELP pagohub_delivery_attempt_seconds Time of one delivery attempt.\n"
      "# TYPE pagohub_delivery_attempt_seconds histogram\n";
  for (const auto& [id, c] : state_->stats) {
    http::append_histogram(out, "pagohub_delivery_attempt_seconds", "integration=\"" + id + "\"",
                           c.latency);
  }
  out +=
      "# HELP pagohub_delivery_breaker_open Circuit breaker per push integration (0 closed, "
      "1 open, 2 half-open).\n# TYPE pagohub_delivery_breaker_open gauge\n";
  for (const auto& [id, l] : state_->lanes) {
    if (l->settings.mode != config::integration_mode::push) continue;
    const auto s = l->breaker.state();
    out += "pagohub_delivery_breaker_open{integration=\"" + id + "\"} " +
           std::to_string(s == breaker_state::closed ? 0
                          : s == breaker_state::open ? 1
                                                     : 2) +
           "\n";
  }
  out +=
      "# HELP pagohub_delivery_endpoint_failed Push integrations whose endpoint, as their settings "
      "say, cannot be used (its client cannot be built): 0 in use, 1 the previous endpoint still "
      "used, 2 nothing delivered.\n# TYPE pagohub_delivery_endpoint_failed gauge\n";
  for (const auto& [id, l] : state_->lanes) {
    const bool failed = state_->clients.find(id) != nullptr;
    if (!failed && l->settings.mode != config::integration_mode::push) continue;
    out += "pagohub_delivery_endpoint_failed{integration=\"" + id + "\"} " + (failed ? "1" : "0") +
           "\n";
  }
  for (const auto& [id, f] : state_->clients.failures()) {
    if (!state_->lanes.contains(id))
      out += "pagohub_delivery_endpoint_failed{integration=\"" + id + "\"} 2\n";
  }
}

}  // namespace pagohub::integration
