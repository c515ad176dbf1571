#include <pagohub/app/daemon.hpp>

#include "held_receipts_job.hpp"
#include "journal_wiring.hpp"
#include "lifecycle_job.hpp"
#include "migrate_step.hpp"
#include "outbox_purge_job.hpp"
#include "pool_metrics.hpp"
#include "system_routes.hpp"
#include "version.hpp"

#include <pagohub/api/backoffice.hpp>
#include <pagohub/api/imports.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/core/ids.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/db/migrations.hpp>
#include <pagohub/http/server.hpp>
#include <pagohub/imports/service.hpp>
#include <pagohub/integration/admin_routes.hpp>
#include <pagohub/integration/delivery.hpp>
#include <pagohub/integration/settings_store.hpp>
#include <pagohub/jobs/scheduler.hpp>
#include <pagohub/journal/exchanges.hpp>
#include <pagohub/journal/routes.hpp>
#include <pagohub/journal/service.hpp>
#include <pagohub/nodo_client/client.hpp>
#include <pagohub/on_demand/lookup.hpp>
#include <pagohub/on_demand/targets.hpp>
#include <pagohub/pap/endpoints.hpp>
#include <pagohub/rpt_push/push_service.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <unistd.h>

#include <csignal>
#include <thread>

namespace pagohub::app {

namespace asio = boost::asio;

struct daemon::impl {
  config::config cfg;
  config::registry_holder registry;
  // Back-office applications, with the entities they were checked against (one snapshot).
  config::application_holder applications;
  // Back-office integrations (docs/integration.md), swapped with the applications on reload.
  config::integration_holder integrations;
  core::system_clock wall_clock;
  asio::io_context ioc;
  http::metrics_registry metrics;
  std::vector<db::migration> migrations;
  std::unique_ptr<db::executor> db;
  // Stores uploads of bulk imports, apart from `db` ([imports] upload_connections).
  std::unique_ptr<db::executor> upload_db;
  // Serves the Nodo's calls, apart from `db` ([pap] connections): the back-offices' requests,
  // imports and jobs can hold every connection of `db`, and pagoPA gives the station 2 s.
  std::unique_ptr<db::executor> pap_db;
  // The journal writer's one connection: the INTERFACCIA events of the Nodo's calls are
  // written however busy `db` is, and a receipt never waits for room in a full queue because
  // of it.
  std::unique_ptr<db::executor> journal_db;
  // Bulk imports: worker threads with database connections of their own (docs/imports.md).
  std::unique_ptr<imports::service> imports;
  std::unique_ptr<http::server> server;
  // The event journal and the scheduler of its jobs (destroyed before the executor they use).
  std::string instance_id = core::new_uuid();
  std::unique_ptr<journal::service> journal;
  std::unique_ptr<jobs::scheduler> scheduler;
  // Outbox delivery to the back-offices (destroyed before the executor it uses).
  std::unique_ptr<integration::delivery_service> delivery;
  // On-demand positions: lookups at the back-offices for notices not stored (docs/integration.md),
  // through the clients of their integrations.
  std::unique_ptr<integration::lookup_clients> lookup_clients;
  std::unique_ptr<integration::on_demand_lookup> on_demand;
  // The client toward pagoPA's Nodo and the old-model RPT push (docs/pagopa.md).
  std::unique_ptr<nodo_client::client> nodo;
  std::unique_ptr<rpt_push::push_service> rpt_push;
  asio::signal_set signals{ioc, SIGINT, SIGTERM, SIGHUP};
  asio::steady_timer hard_stop{ioc};
  std::atomic<bool> stopping{false};

  explicit impl(config::config c)
      : cfg(std::move(c)),
        registry(cfg.entities),
        applications(cfg.applications ? cfg.applications
                                      : std::make_shared<const config::application_registry>()),
        integrations(cfg.integrations ? cfg.integrations
                                      : std::make_shared<const config::integration_registry>()) {}

  void begin_stop(const char* why) {
    if (stopping.exchange(true)) return;
    spdlog::info("stopping ({}): no new connections; finishing requests in flight", why);
    if (scheduler) scheduler->stop();
    if (delivery) delivery->stop();
    if (rpt_push) rpt_push->stop();
    server->shutdown(cfg.daemon.limits.shutdown_grace, [this] { ioc.stop(); });
    // Past the grace the server closes what is left, but a handler waiting for the database
    // (one that is away) ends only when its transaction does, and the stop would wait for it,
    // past a service manager's TimeoutStopSec, which then kills the daemon before its journal
    // queue is written. A few seconds after the grace the stop goes on regardless: what those
    // handlers had not committed was never acknowledged.
    hard_stop.expires_after(cfg.daemon.limits.shutdown_grace + std::chrono::seconds(5));
    hard_stop.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      spdlog::warn("stopping: requests still waiting {} s after the shutdown grace are abandoned",
                   5);
      ioc.stop();
    });
  }

  // A second SIGTERM or SIGINT during a stop: the operator wants it now.
  void stop_now(const char* why) {
    spdlog::warn("{} during the stop: requests in flight are abandoned", why);
    ioc.stop();
  }

  // The Nodo client and the RPT push after paaAttivaRPT (DIGEST §2.1): started when [nodo]
  // gives the NodoPerPa URL and rpt_push is on (docs/pagopa.md).
  void start_rpt_push() {
    const auto& n = cfg.nodo;
    const auto& s = cfg.daemon;
    if (n.nodo_per_pa_url.empty() && n.node_for_pa_url.empty()) return;
    nodo = std::make_unique<nodo_client::client>(
        ioc.get_executor(), n,
        nodo_client::station_credentials{s.broker_id, s.station_id, n.password_for(s.station_id)});
    if (!n.rpt_push || n.nodo_per_pa_url.empty()) return;
    rpt_push::push_settings ps;
    ps.station_id = s.station_id;
    ps.poll_interval = n.rpt_poll_interval;
    ps.max_attempts = n.rpt_max_attempts;
    ps.retry_base = n.rpt_retry_base;
    ps.retry_max = n.rpt_retry_max;
    ps.claim_ttl = n.request_timeout + std::chrono::seconds(60);
    ps.rules = &journal->rules();
    rpt_push = std::make_unique<rpt_push::push_service>(ioc, *db, *nodo, registry, wall_clock, ps);
    metrics.add_collector([this](std::string& out) { rpt_push->append_metrics(out); });
    rpt_push->start();
    spdlog::info("RPT push to the Nodo enabled ({})", n.nodo_per_pa_url);
  }

  // SIGHUP: re-read the entity registry; a bad file keeps the one in force (ARCHITECTURE §7).
  void reload() {
    try {
      auto fresh = config::load_entities(cfg);
      // The applications are checked against the new entities before either is swapped in.
      auto apps = config::load_applications(cfg, fresh);
      auto ints = config::load_integrations(cfg, *apps);
      pap::check_demand_schemas(*fresh);
      registry.set(fresh);
      applications.set(apps);
      integrations.set(ints);
      spdlog::info("entity registry reloaded: {} entities, {} applications", fresh->all().size(),
                   apps->size());
      if (journal)
        journal->events().try_enqueue(
            daemon_event("configReload", "applied", "OK",
                         "entities=" + std::to_string(fresh->all().size()) +
                             " applications=" + std::to_string(apps->size()),
                         cfg.daemon.station_id));
    } catch (const config::config_error& e) {
      spdlog::error("entity registry reload refused, keeping the previous one: {}", e.what());
      // The reason names a file and key, never a secret value (config_error's contract).
      if (journal)
        journal->events().try_enqueue(
            daemon_event("configReload", "refused", "KO", e.what(), cfg.daemon.station_id));
    } catch (const std::exception& e) {
      // A directory that cannot be listed, or no memory: the reload fails, the daemon stays up
      // (this runs on an I/O thread, where an escaping exception would end the process).
      spdlog::error("entity registry reload failed, keeping the previous one: {}", e.what());
      if (journal)
        journal->events().try_enqueue(daemon_event("configReload", "refused", "KO",
                                                   "the configuration could not be read",
                                                   cfg.daemon.station_id));
    }
  }

  void wait_signals() {
    signals.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_signals();
        return;
      }
      const char* name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
      if (stopping.load()) {
        stop_now(name);
        return;
      }
      begin_stop(name);
      wait_signals();
    });
  }
};

daemon::daemon(config::config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}
daemon::~daemon() = default;

void daemon::stop() {
  asio::post(impl_->ioc, [this] { impl_->begin_stop("stop requested"); });
}

int daemon::run(std::function<void(const std::vector<asio::ip::tcp::endpoint>&)> on_listening) {
  auto& d = *impl_;
  const auto& s = d.cfg.daemon;
  spdlog::info("pagohubd {} starting: {} entities configured", version_string(),
               d.registry.get()->all().size());

  // Before anything serves: a demand_schema that does not compile is a configuration error.
  pap::check_demand_schemas(*d.registry.get());
  d.migrations = db::load_migrations(s.paths.sql_dir);
  // A database not reachable yet is waited for, up to the same minute whether or not this
  // daemon migrates: the first thing after the pool is created needs it (the partitions).
  const auto db_give_up = std::chrono::steady_clock::now() + database_wait_at_start;
  if (s.db.migrate_on_start) {
    apply_migrations_at_start(s.db, d.migrations, db_give_up);
  } else {
    check_schema_at_start(s.db, d.migrations, db_give_up);
  }

  // Every pool connects as [db] says; they differ in size and in the name of their threads.
  const auto make_pool = [&s](int size, std::string name) {
    db::pool_settings p{s.db.conninfo, size, s.db.statement_timeout, s.db.connect_timeout};
    p.name = std::move(name);
    return std::make_unique<db::executor>(std::move(p));
  };
  d.db = make_pool(s.db.pool_size, "db");
  wait_for_database(*d.db, db_give_up);
  d.upload_db = make_pool(s.imports.upload_connections, "upl");
  d.pap_db = make_pool(s.pap.connections, "pap");
  d.journal_db = make_pool(1, "jnl");
  d.metrics.add_collector([&d](std::string& out) {
    const auto pap = d.pap_db->stats();
    const auto upload = d.upload_db->stats();
    append_pool_metrics(out, d.db->stats(), {pap, upload, d.journal_db->stats()});
    append_side_pool_metrics(out, "pap", "serving a call of the Nodo", "Calls of the Nodo", pap);
    append_side_pool_metrics(out, "upload", "storing an upload", "Uploads", upload);
  });
  d.metrics.add_collector([](std::string& out) {
    out += "# HELP pagohub_build_info Version of the running pagohubd.\n";
    out += "# TYPE pagohub_build_info gauge\n";
    out += "pagohub_build_info{version=\"" + std::string(version_string()) + "\"} 1\n";
  });

  // The journal: partitions before the first event, the writer, its jobs (docs/journal.md).
  d.journal =
      std::make_unique<journal::service>(*d.db, s.journal, d.wall_clock, d.journal_db.get());
  d.journal->prepare_storage();
  d.journal->start();
  d.metrics.add_collector([&d](std::string& out) { d.journal->append_metrics(out); });
  {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    d.scheduler = std::make_unique<jobs::scheduler>(
        d.ioc, *d.db,
        jobs::scheduler_settings{d.instance_id, host, static_cast<int>(::getpid()),
                                 std::string(version_string())},
        d.wall_clock);
  }
  d.journal->register_jobs(*d.scheduler);
  // Idempotency-Key rows of the back-office API live 24 hours (docs/api/README.md).
  d.scheduler->add({"api.idempotency-purge", jobs::schedule::every(std::chrono::hours(1)),
                    [&d](jobs::run_context) {
                      return api::purge_expired_idempotency_keys(*d.db, d.wall_clock);
                    }});
  // Positions move along their lifecycle as dates pass (validity date, due date).
  d.scheduler->add(lifecycle_job(*d.db, d.registry, d.wall_clock));
  // Receipts stored while their position was locked are applied once it is free.
  d.scheduler->add(held_receipts_job(*d.db, d.journal->rules(), d.wall_clock));
  // Delivered and dead outbox messages past [outbox] retention_days (0: kept for ever).
  if (s.outbox.retention_days > 0)
    d.scheduler->add(outbox_purge_job(*d.db, d.wall_clock, s.outbox.retention_days));
  d.metrics.add_collector([&d](std::string& out) { d.scheduler->append_metrics(out); });

  d.imports = std::make_unique<imports::service>(
      imports::service_settings{s.db.conninfo, s.imports.workers, s.imports.poll_interval,
                                s.imports.max_attempts, &api::decode_import_line},
      d.applications, d.wall_clock);
  d.metrics.add_collector([&d](std::string& out) { d.imports->append_metrics(out); });

  // Admins' runtime overrides of integration settings apply from the first delivery and lookup.
  d.integrations.set_overrides(
      d.db->transact_sync([](pqxx::work& w) { return integration::load_override_map(w); },
                          db::isolation::read_committed, db::access::read_only));
  // Outbox delivery: push, file and pull integrations (docs/integration.md).
  d.delivery = std::make_unique<integration::delivery_service>(
      d.ioc, *d.db, d.integrations, d.wall_clock,
      integration::delivery_settings{.instance_id = d.instance_id,
                                     .rules = &d.journal->rules(),
                                     .events = &d.journal->events()});
  d.metrics.add_collector([&d](std::string& out) { d.delivery->append_metrics(out); });

  auto routes = std::make_shared<http::router>();
  // /readyz asks through the Nodo's pool: a shared pool held by a burst of back-office writes
  // must not take the daemon out of its load balancer, which would cut the Nodo off as well.
  add_system_routes(*routes,
                    {*d.pap_db, d.metrics, d.migrations.empty() ? 0 : d.migrations.back().version});
  // One token bucket per API key, whichever route family the key calls.
  auto limiter = std::make_shared<api::rate_limiter>(d.wall_clock);
  api::add_backoffice_routes(
      *routes, {*d.db, d.applications, d.wall_clock, d.metrics, d.imports.get(),
                s.imports.max_upload_bytes, static_cast<std::size_t>(s.api.create_batch_size),
                static_cast<std::size_t>(s.api.create_batches_in_flight), limiter,
                s.imports.max_queued_per_application, d.upload_db.get()});
  journal::add_routes(*routes, {.db = *d.db,
                                .resolve = application_callers(d.applications, &d.integrations),
                                .throttle = application_throttle(d.applications, limiter)});
  integration::add_admin_routes(
      *routes, {*d.db, d.applications, d.integrations, d.wall_clock, d.delivery.get(), &d.registry,
                limiter, [&d](std::string_view id) -> std::optional<integration::endpoint_failure> {
                  return d.lookup_clients ? d.lookup_clients->failed_endpoint(id) : std::nullopt;
                }});
  // On-demand positions, asked by the SOAP endpoints below (services with a `lookup`).
  d.lookup_clients = std::make_unique<integration::lookup_clients>(
      d.ioc.get_executor(), [&d] { return d.integrations.get(); });
  d.on_demand = std::make_unique<integration::on_demand_lookup>(
      integration::on_demand_deps{*d.pap_db, d.registry, d.wall_clock, d.lookup_clients->targets(),
                                  &d.journal->rules(), &d.journal->events()});
  d.metrics.add_collector([&d](std::string& out) { d.on_demand->append_metrics(out); });
  d.metrics.add_collector([&d](std::string& out) { d.lookup_clients->append_metrics(out); });
  // The SOAP endpoints of pagoPA's Nodo; they record their own INTERFACCIA events.
  pap::add_routes(*routes,
                  {*d.pap_db, d.registry, s.pap, s.broker_id, s.station_id, d.wall_clock,
                   &d.journal->events(), &d.journal->rules(), &d.metrics, d.on_demand.get()});
  // Every REST write is an INTERFACCIA exchange: recorded around its handler.
  routes = journal::record_exchanges(*routes,
                                     {&d.journal->events(),
                                      &d.journal->rules(),
                                      application_callers(d.applications),
                                      s.station_id.empty() ? std::string("pagohub") : s.station_id,
                                      {}});

  std::vector<http::listener_spec> listeners;
  for (const auto& l : s.listeners) {
    http::listener_spec spec{l.name, l.address, l.port, nullptr, {}};
    if (l.tls) {
      spec.tls = http::make_server_tls({l.tls->cert_file, l.tls->key_file, l.tls->client_ca_file});
      spec.allowed_subjects = l.tls->allowed_client_subjects;
    }
    listeners.push_back(std::move(spec));
  }
  http::server_settings hs;
  hs.max_body_bytes = s.limits.max_body_bytes;
  hs.max_header_bytes = s.limits.max_header_bytes;
  hs.request_deadline = s.limits.request_deadline;
  hs.max_connections = s.limits.max_connections;
  hs.max_connections_per_address = s.limits.max_connections_per_address;
  hs.idle_timeout = s.limits.idle_timeout;
  hs.access_log = s.logging.access_log;
  hs.spool_dir = s.imports.spool_dir;
  // Uploads a killed daemon was receiving; an hour leaves alone any still arriving elsewhere
  // (each read of an upload has its own deadline, far shorter).
  if (const auto swept = http::sweep_spool(hs.spool_dir, std::chrono::hours(1)); swept > 0)
    spdlog::info("removed {} upload spool file(s) left by an earlier run", swept);
  d.server = std::make_unique<http::server>(d.ioc, hs, routes, d.metrics);
  auto bound = d.server->start(listeners);
  for (std::size_t i = 0; i < bound.size(); ++i)
    spdlog::info("listening on {}://{}:{} ({})", listeners[i].tls ? "https" : "http",
                 bound[i].address().to_string(), bound[i].port(), listeners[i].name);
  d.scheduler->start();
  d.delivery->start();
  d.start_rpt_push();
  d.imports->start();  // resumes unfinished imports
  d.journal->events().enqueue_blocking(
      daemon_event("daemonStart", "started", "OK",
                   "version=" + std::string(version_string()) + " instance=" + d.instance_id,
                   s.station_id),
      true);
  if (on_listening) on_listening(bound);
  d.wait_signals();

  unsigned threads = s.io_threads > 0 ? static_cast<unsigned>(s.io_threads)
                                      : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::jthread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&d] { d.ioc.run(); });
  d.ioc.run();
  for (auto& t : pool) t.join();
  d.journal->events().enqueue_blocking(
      daemon_event("daemonStop", "stopped", "OK", "instance=" + d.instance_id, s.station_id), true);
  d.journal->stop();  // drains the queue
  d.scheduler->close();
  d.imports->stop();  // imports in progress resume at the next start
  d.upload_db->stop();
  d.pap_db->stop();
  d.journal_db->stop();  // after everything that may still write an event directly
  d.db->stop();
  spdlog::info("pagohubd stopped");
  spdlog::default_logger()->flush();
  return 0;
}

}  // namespace pagohub::app
