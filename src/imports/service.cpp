// The import processor: claim, process, resume (include/pagohub/imports/service.hpp).
#include <pagohub/core/text.hpp>
#include <pagohub/db/sql_time.hpp>
#include <pagohub/imports/service.hpp>
#include <pagohub/imports/store.hpp>
#include <pagohub/positions/dates.hpp>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include <chrono>

#include "load.hpp"
#include "pass.hpp"
#include "pg_raw.hpp"

namespace pagohub::imports {

namespace {

// The first key of the imports' advisory locks (pg_try_advisory_lock(int, int)); the second is
// the import id. A fixed number that no other part of pagohub uses ("ph" "im" in ASCII).
constexpr int lock_class = 0x7068696d;

int lock_key(std::int64_t id) {
  return static_cast<int>(id % 2147483647);
}

std::string stage_table(std::int64_t id) {
  return "import_stage_" + std::to_string(id);  // digits only: no quoting needed
}

// How long an import waits for a daemon whose configuration grants its application the entity:
// longer than a rolling reload of every daemon takes.
constexpr auto unknown_application_grace = std::chrono::minutes(10);

bool known(const config::application_registry& apps, const import_record& imp) {
  const config::application* app = apps.find(imp.application_id);
  const config::entity* entity = apps.entities().find(imp.entity_fiscal_code);
  return app != nullptr && entity != nullptr && app->grants_entity(imp.entity_fiscal_code) &&
         entity->enabled;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

struct service::worker_state {
  std::mutex mutex;  // guards the connection objects against stop()'s cancel
  std::unique_ptr<pqxx::connection> control;
  std::unique_ptr<detail::raw_connection> reader;
  std::unique_ptr<detail::raw_connection> copier;
  std::unique_ptr<detail::raw_connection> ids;
  bool busy = false;

  void connect(const std::string& conninfo) {
    if (control && control->is_open() && reader && copier && ids) return;
    auto c = std::make_unique<pqxx::connection>(conninfo);
    // An import's statements run as long as the file needs; the pool's per-statement limit is
    // for requests, not for this.
    pqxx::nontransaction(*c).exec0("SET statement_timeout = 0");
    auto r = std::make_unique<detail::raw_connection>(conninfo);
    auto w = std::make_unique<detail::raw_connection>(conninfo);
    w->exec("SET statement_timeout = 0");
    auto i = std::make_unique<detail::raw_connection>(conninfo);
    std::lock_guard lock(mutex);
    control = std::move(c);
    reader = std::move(r);
    copier = std::move(w);
    ids = std::move(i);
  }

  void disconnect() noexcept {
    std::lock_guard lock(mutex);
    ids.reset();
    copier.reset();
    reader.reset();
    control.reset();
  }
};

service::service(service_settings settings, config::application_holder& applications,
                 const core::clock& clock)
    : settings_(std::move(settings)), applications_(applications), clock_(clock) {}

service::~service() {
  stop();
}

void service::start() {
  stopping_.store(false);
  const int n = std::max(1, settings_.workers);
  for (int i = 0; i < n; ++i) workers_.push_back(std::make_unique<worker_state>());
  for (int i = 0; i < n; ++i) {
    threads_.emplace_back([this, i] { worker_loop(static_cast<std::size_t>(i)); });
  }
}

void service::stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  notify();
  // Cancel what runs now: the imports are resumed by the next start.
  for (auto& ws : workers_) {
    std::lock_guard lock(ws->mutex);
    if (!ws->busy) continue;
    if (ws->reader) ws->reader->cancel();
    if (ws->copier) ws->copier->cancel();
    if (ws->ids) ws->ids->cancel();
    if (ws->control && ws->control->is_open()) {
      try {
        pqxx::connection c(settings_.conninfo);
        pqxx::nontransaction(c).exec_params("SELECT pg_cancel_backend($1)",
                                            ws->control->backendpid());
      } catch (const std::exception& e) {
        spdlog::warn("imports: could not cancel a running load: {}", e.what());
      }
    }
  }
  threads_.clear();  // joins
  workers_.clear();
}

void service::notify() noexcept {
  {
    std::lock_guard lock(mutex_);
    ++wake_count_;
  }
  wake_.notify_all();
}

std::optional<std::int64_t> service::run_once(const fail_point& hook) {
  worker_state ws;
  try {
    auto id = process_next(ws, hook);
    ws.disconnect();
    return id;
  } catch (...) {
    // As a crash would: the connections go, and with them the import's lock and any
    // transaction in progress.
    ws.disconnect();
    throw;
  }
}

void service::worker_loop(std::size_t index) {
  worker_state& ws = *workers_[index];
  auto backoff = std::chrono::milliseconds(500);
  std::uint64_t seen = 0;
  while (!stopping_.load()) {
    bool worked = false;
    try {
      worked = process_next(ws, {}).has_value();
      backoff = std::chrono::milliseconds(500);
    } catch (const pqxx::broken_connection& e) {
      if (stopping_.load()) break;
      spdlog::warn("imports: database connection lost ({}); retrying in {} ms", e.what(),
                   backoff.count());
      ws.disconnect();
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, backoff, [&] { return stopping_.load(); });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
      continue;
    } catch (const std::exception& e) {
      if (stopping_.load()) break;
      spdlog::error("imports: worker error: {}", e.what());
      ws.disconnect();
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, backoff, [&] { return stopping_.load(); });
      continue;
    }
    if (worked) continue;  // there may be more
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, settings_.poll_interval,
                   [&] { return stopping_.load() || wake_count_ != seen; });
    seen = wake_count_;
  }
  ws.disconnect();
}

std::optional<std::int64_t> service::process_next(worker_state& ws, const fail_point& hook) {
  ws.connect(settings_.conninfo);
  pqxx::connection& c = *ws.control;

  // Leftovers of imports that ended while their daemon stopped: staging tables to drop.
  {
    pqxx::nontransaction n(c);
    const auto left = n.exec(
        "SELECT c.relname FROM pg_class c JOIN imports i "
        "  ON c.relname = 'import_stage_' || i.id "
        "WHERE c.relnamespace = to_regnamespace(current_schema())::oid "
        "  AND c.relname LIKE 'import\\_stage\\_%' AND i.state IN ('done', 'failed')");
    for (const auto& row : left) n.exec0("DROP TABLE IF EXISTS " + n.quote_name(row[0].c_str()));
  }

  // Claim: the oldest unfinished import no one else holds, whose application this daemon
  // knows. One it does not know may be another daemon's, whose configuration was reloaded
  // before this one's (an application added, an entity granted): it is left to that daemon for
  // a while, and failed only when no daemon has taken it by then.
  const auto snapshot = applications_.get();
  std::optional<import_record> imp;
  {
    pqxx::nontransaction n(c);
    const auto candidates = n.exec(
        "SELECT id FROM imports WHERE state IN ('queued', 'validating', 'loading') "
        "ORDER BY id LIMIT 50");
    for (const auto& row : candidates) {
      const auto id = row[0].as<std::int64_t>();
      if (!n.exec_params1("SELECT pg_try_advisory_lock($1, $2)", lock_class, lock_key(id))[0]
               .as<bool>()) {
        continue;
      }
      // Looked at again under the lock: another worker may have finished it meanwhile.
      const auto r = n.exec_params("SELECT " + import_columns() +
                                       " FROM imports WHERE id = $1 AND state IN ('queued', "
                                       "'validating', 'loading')",
                                   id);
      if (!r.empty()) {
        auto candidate = read_import(r[0]);
        if (known(*snapshot, candidate) ||
            clock_.now() - candidate.created_at >= unknown_application_grace) {
          imp = std::move(candidate);
          break;
        }
      }
      n.exec_params("SELECT pg_advisory_unlock($1, $2)", lock_class, lock_key(id));
    }
  }
  if (!imp) return std::nullopt;

  {
    std::lock_guard lock(ws.mutex);
    ws.busy = true;
  }
  busy_.fetch_add(1);
  struct release {
    service& s;
    worker_state& ws;
    std::int64_t id;
    ~release() {
      s.busy_.fetch_sub(1);
      std::lock_guard lock(ws.mutex);
      ws.busy = false;
      if (ws.control && ws.control->is_open()) {
        try {
          pqxx::nontransaction(*ws.control)
              .exec_params("SELECT pg_advisory_unlock($1, $2)", lock_class, lock_key(id));
        } catch (...) {
          // The lock goes with the connection anyway.
        }
      }
    }
  } releaser{*this, ws, imp->id};

  const auto started = std::chrono::steady_clock::now();
  const std::string& fc = imp->entity_fiscal_code;
  const config::application* app = snapshot->find(imp->application_id);
  const config::entity* entity = snapshot->entities().find(fc);
  const auto now = clock_.now();
  const auto end_failed = [&](const std::string& why) {
    pqxx::work w(c);
    detail::fail_import(w, *imp, why, now);
    w.exec_params("DELETE FROM import_uploads WHERE entity_fiscal_code = $1 AND import_id = $2", fc,
                  imp->id);
    w.commit();
    failed_.fetch_add(1);
    spdlog::warn("import {} of {} failed: {}", imp->id, fc, why);
  };
  if (!known(*snapshot, *imp)) {
    end_failed("the application " + imp->application_id + " or the entity " + fc +
               " is not configured for imports");
    return imp->id;
  }
  if (imp->attempts >= settings_.max_attempts) {
    end_failed("given up after " + std::to_string(imp->attempts) + " attempts" +
               (imp->error ? ": " + *imp->error : std::string()));
    return imp->id;
  }

  const std::string stage = stage_table(imp->id);
  {
    pqxx::work w(c);
    w.exec_params(
        "UPDATE imports SET state = 'validating', attempts = attempts + 1, "
        "started_at = coalesce(started_at, " +
            db::ts_param(3) +
            "), validated_at = NULL, progress = 0, bytes_read = 0, rows_read = 0 "
            "WHERE entity_fiscal_code = $1 AND id = $2",
        fc, imp->id, db::to_micros(now));
    // A previous attempt's staging rows are not trusted: the pass starts again from the upload.
    w.exec0("DROP TABLE IF EXISTS " + stage);
    w.exec0("CREATE UNLOGGED TABLE " + stage + " (LIKE import_stage_template)");
    w.commit();
  }
  spdlog::info("import {} of {} ({}, {}, {} bytes): processing, attempt {}", imp->id, fc,
               to_string(imp->format), to_string(imp->mode), imp->file_bytes, imp->attempts + 1);

  // Not a failed attempt: a few restarts (deployments) during a long import must not use up
  // its attempts. On a connection of its own: this worker's may be in the middle of what was
  // cancelled.
  const auto interrupted = [&] {
    spdlog::info("import {} of {}: interrupted by shutdown; it resumes at the next start", imp->id,
                 fc);
    try {
      pqxx::connection fresh(settings_.conninfo);
      pqxx::nontransaction(fresh).exec_params(
          "UPDATE imports SET attempts = greatest(attempts - 1, 0) "
          "WHERE entity_fiscal_code = $1 AND id = $2",
          fc, imp->id);
    } catch (const std::exception& e) {
      spdlog::warn("import {}: the interrupted attempt stays counted: {}", imp->id, e.what());
    }
  };
  try {
    const positions::date today = positions::rome_date(now);
    const detail::pass_input pin{*imp,
                                 *entity,
                                 snapshot->entities(),
                                 *app,
                                 today,
                                 settings_.decode_ndjson,
                                 stage,
                                 c,
                                 *ws.reader,
                                 *ws.copier,
                                 *ws.ids,
                                 stopping_,
                                 settings_.max_invalid_rows};
    const detail::pass_summary summary = detail::run_pass(pin);
    const double pass_seconds = seconds_since(started);
    if (summary.file_error) {
      pqxx::work w(c);
      detail::fail_file(w, *imp, summary, now);
      w.exec_params("DELETE FROM import_uploads WHERE entity_fiscal_code = $1 AND import_id = $2",
                    fc, imp->id);
      w.commit();
      pqxx::nontransaction(c).exec0("DROP TABLE IF EXISTS " + stage);
      failed_.fetch_add(1);
      spdlog::info("import {} of {} failed: {}", imp->id, fc, *summary.file_error);
      return imp->id;
    }
    {
      pqxx::nontransaction n(c);
      // Fresh statistics: the planner sizes the load's joins with them.
      n.exec0("ANALYZE " + stage);
      n.exec_params("UPDATE imports SET state = 'loading', validated_at = " + db::ts_param(3) +
                        ", progress = 80, rows_read = $4 "
                        "WHERE entity_fiscal_code = $1 AND id = $2",
                    fc, imp->id, db::to_micros(clock_.now()), summary.rows_read);
    }
    if (hook) hook("parsed");
    if (stopping_.load()) throw detail::stopped();

    detail::load_result result;
    const auto load_now = clock_.now();
    for (int attempt = 0;; ++attempt) {
      try {
        pqxx::work w(c);
        result = detail::decide_and_load(
            w, detail::load_input{*imp, *entity, stage, summary, load_now,
                                  positions::rome_date(load_now), clock_, app->services});
        // The upload is not needed any more once the decision commits: gone with it.
        w.exec_params("DELETE FROM import_uploads WHERE entity_fiscal_code = $1 AND import_id = $2",
                      fc, imp->id);
        if (hook) hook("loaded");
        w.commit();
        break;
      } catch (const pqxx::unique_violation& e) {
        // A position or notice number created meanwhile by someone else: the checks run again
        // and now see it.
        if (attempt >= 3) throw;
        spdlog::info("import {}: concurrent change ({}); deciding again", imp->id, e.what());
      }
    }
    pqxx::nontransaction(c).exec0("DROP TABLE IF EXISTS " + stage);
    if (result.failed) {
      failed_.fetch_add(1);
    } else {
      done_.fetch_add(1);
      rows_loaded_.fetch_add(static_cast<std::uint64_t>(result.rows_valid));
    }
    spdlog::info(
        "import {} of {} {} in {:.1f}s: {} rows, {} valid, {} invalid; {} created, {} updated, "
        "{} cancelled; pass {:.1f}s, load: {}",
        imp->id, fc, result.failed ? "failed" : "done", seconds_since(started), summary.rows_read,
        result.rows_valid, result.rows_invalid, result.created, result.updated, result.cancelled,
        pass_seconds, result.timings);
  } catch (const detail::stopped&) {
    interrupted();
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const std::exception& e) {
    if (stopping_.load()) {
      // stop() cancelled a statement of this import.
      interrupted();
      return imp->id;
    }
    if (hook) throw;  // tests simulate crashes this way
    // Kept unfinished: the next attempt starts again; after max_attempts it is given up. The
    // caller reads `error` (GET .../imports/{id}): the server's own text (SQL, COPY context with
    // row data) stays in the log, under the import's id.
    spdlog::error("import {} of {}: attempt failed: {}", imp->id, fc, e.what());
    const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
    const std::string shown =
        "attempt " + std::to_string(imp->attempts + 1) + " failed on the server" +
        (sql != nullptr && !sql->sqlstate().empty() ? " (SQLSTATE " + sql->sqlstate() + ")"
                                                    : std::string()) +
        "; the daemon's log has the details under import " + std::to_string(imp->id);
    try {
      ws.disconnect();
      ws.connect(settings_.conninfo);
      pqxx::nontransaction(*ws.control)
          .exec_params("UPDATE imports SET error = $3 WHERE entity_fiscal_code = $1 AND id = $2",
                       fc, imp->id, shown);
    } catch (...) {
    }
  }
  return imp->id;
}

void service::append_metrics(std::string& out) const {
  out += "# HELP pagohub_imports_finished_total Bulk imports finished, by outcome.\n";
  out += "# TYPE pagohub_imports_finished_total counter\n";
  out += "pagohub_imports_finished_total{outcome=\"done\"} " + std::to_string(done_.load()) + "\n";
  out +=
      "pagohub_imports_finished_total{outcome=\"failed\"} " + std::to_string(failed_.load()) + "\n";
  out += "# HELP pagohub_import_rows_loaded_total Rows of bulk imports loaded.\n";
  out += "# TYPE pagohub_import_rows_loaded_total counter\n";
  out += "pagohub_import_rows_loaded_total " + std::to_string(rows_loaded_.load()) + "\n";
  out += "# HELP pagohub_import_workers_busy Import workers processing an import now.\n";
  out += "# TYPE pagohub_import_workers_busy gauge\n";
  out += "pagohub_import_workers_busy " + std::to_string(busy_.load()) + "\n";
}

}  // namespace pagohub::imports
