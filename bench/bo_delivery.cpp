// bench/bo-delivery: outbox delivery to a local back-office against a plain HTTP loop.
//
//   bench_bo_delivery CONNINFO SQL_DIR [COUNT]
//
// Migrates the (empty) database, queues COUNT receipts (receipts and outbox rows inserted with
// SQL, as paSendRT would have left them, routed at insert by the published routing table;
// BENCH_ROUTING=pass: unrouted), starts fake-bo in-process (keep-alive, counts only), then
// measures in the same run:
//   baseline  one keep-alive connection, a plain loop of the same PUT /receipts/{id} requests
//             (same bodies, same headers) from a minimal synchronous Beast client
//   pagohub   the delivery service (routing, SKIP LOCKED claims, concurrent sends, outcome and
//             attempt rows, INTERNO outcome events in the outcome's transaction, INTERFACCIA
//             req/rsp events through the journal writer, as the daemon wires them) until every
//             receipt is acknowledged by the back-office
// and prints messages per second and the ratio, and also the time until every outcome and
// every journal event is committed (nothing left behind in a queue).
#include <pagohub/config/integration.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/db/migrations.hpp>
#include <pagohub/integration/delivery.hpp>
#include <pagohub/integration/outbox.hpp>
#include <pagohub/journal/writer.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <pqxx/pqxx>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>
#include <thread>

#include "fake_bo.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using steady = std::chrono::steady_clock;
using namespace pagohub;

double seconds_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

// CPU seconds used so far by this process (the delivery or the plain loop, and fake-bo) and by
// the children of the PostgreSQL postmaster BENCH_PG_PID (0 when not given): on a shared
// machine the CPU a message costs varies far less than messages per second.
struct cpu_used {
  double self = 0;
  double pg = 0;
};

cpu_used cpu_now() {
  cpu_used out;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  out.self = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  const char* pg = std::getenv("BENCH_PG_PID");
  if (pg == nullptr) return out;
  const long postmaster = std::atol(pg);
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    // After the command name in parentheses: state, ppid, ... utime (14th field), stime (15th).
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid != postmaster) continue;
    std::string skip;
    for (int i = 0; i < 9; ++i) rest >> skip;  // fields 5..13
    double utime = 0, stime = 0;
    rest >> utime >> stime;
    out.pg += (utime + stime) / hz;
  }
  return out;
}

// The body the delivery sends for these receipts, near enough (same fields, same size).
std::string body_for(long i) {
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      R"({"receiptId":"bench-%ld","noticeNumber":"3010000000%08ld","iuv":"010000000%08ld",)"
      R"("outcome":"OK","amount":12000,"fee":null,"paymentDateTime":"2026-03-02T09:00:00Z",)"
      R"("applicationDate":null,"transferDate":null,"paymentMethod":null,"psp":{"id":"",)"
      R"("fiscalCode":null,"name":"","channelId":""},"payer":null,"transfers":[],)"
      R"("standIn":false,"receivedAt":"2026-03-02T09:00:00Z","entityFiscalCode":"01234567897",)"
      R"("positionExternalId":null,"applicationId":"bench","serviceCode":null,"applied":true,)"
      R"("anomaly":null})",
      i, i, i);
  return buf;
}

double baseline(unsigned short port, long count) {
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  socket.set_option(asio::ip::tcp::no_delay(true));
  beast::flat_buffer buffer;
  const auto start = steady::now();
  for (long i = 1; i <= count; ++i) {
    http::request<http::string_body> req{http::verb::put, "/receipts/bench-" + std::to_string(i),
                                         11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.set("Idempotency-Key", "bench-" + std::to_string(i));
    req.set("X-Pagohub-Entity", "01234567897");
    req.set("X-Pagohub-Event", "receipt");
    req.set("X-Pagohub-Attempt", "1");
    req.body() = body_for(i);
    req.prepare_payload();
    http::write(socket, req);
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
  }
  return seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_bo_delivery CONNINFO SQL_DIR [COUNT]\n";
    return 2;
  }
  const std::string conninfo = argv[1];
  const long count = argc > 3 ? std::stol(argv[3]) : 100000;
  const std::size_t concurrency =
      std::getenv("BENCH_CONCURRENCY") ? std::stoul(std::getenv("BENCH_CONCURRENCY")) : 4;
  {
    pqxx::connection c(conninfo);
    db::migrate(c, db::load_migrations(argv[2]));
    pqxx::work w(c);
    // Receipts that arrive while pagohubd runs find its routing table published and are routed
    // as they are written (sql/0023). BENCH_ROUTING=pass queues them unrouted instead, as
    // messages written before their route was published: the supervisor's routing pass then
    // routes the backlog first.
    const char* routing = std::getenv("BENCH_ROUTING");
    if (routing == nullptr || std::string_view(routing) != "pass")
      integration::publish_routes(
          w, {{"01234567897", "bench", "bench-push", config::integration_mode::push}});
    const std::string n = std::to_string(count);
    w.exec(
        "INSERT INTO receipts (entity_fiscal_code, receipt_id, source, received_at, "
        "raw_message, notice_number, iuv, outcome, amount, payment_date_time, applied) "
        "SELECT '01234567897', 'bench-' || g, 'paSendRTV2', '2026-03-02T09:00:00Z', '<raw/>', "
        "'3010000000' || lpad(g::text, 8, '0'), '010000000' || lpad(g::text, 8, '0'), 'OK', "
        "12000, '2026-03-02T09:00:00Z', true FROM generate_series(1, " +
        n + ") g");
    w.exec(
        "INSERT INTO outbox (entity_fiscal_code, kind, key, payload, created_at, position_id, "
        "application_id) SELECT '01234567897', 'receipt', 'bench-' || g, "
        "jsonb_build_object('receiptId', 'bench-' || g, 'applied', true), now(), g, 'bench' "
        "FROM generate_series(1, " +
        n + ") g");
    w.commit();
  }

  fake_bo::settings fs;
  fs.record_bodies = false;
  fs.threads = 1;
  fake_bo::server bo(fs);
  const auto port = bo.start();

  const cpu_used base_cpu0 = cpu_now();
  const double base_s = baseline(port, count);
  const cpu_used base_cpu1 = cpu_now();
  bo.clear();

  config::integration it;
  it.id = "bench-push";
  it.entities = {"01234567897"};
  it.application = "bench";
  it.base_url = "http://127.0.0.1:" + std::to_string(port);
  it.max_concurrency = concurrency;
  config::integration_holder holder(
      std::make_shared<const config::integration_registry>(std::vector<config::integration>{it}));
  asio::io_context ioc;
  auto guard = asio::make_work_guard(ioc);
  db::executor db(db::pool_settings{conninfo, 6});
  core::system_clock clock;
  // The journal as the daemon runs it ([journal] defaults): the writer records the webhook
  // exchanges. BENCH_INTERFACCIA=off leaves those out, to measure what they cost.
  config::journal_settings journal_settings;
  if (const char* e = std::getenv("BENCH_INTERFACCIA");
      e != nullptr && std::string_view(e) == "off")
    journal_settings.enabled_interfaccia = false;
  const journal::payload_rules rules(journal_settings);
  journal::writer events(db, journal_settings, rules, clock);
  events.start();
  integration::delivery_service delivery(
      ioc, db, holder, clock,
      integration::delivery_settings{
          .instance_id = "bench",
          .poll_interval = std::chrono::milliseconds(20),
          .batch_size = std::getenv("BENCH_BATCH") ? std::stoi(std::getenv("BENCH_BATCH")) : 0,
          .pipelines =
              std::getenv("BENCH_PIPELINES") ? std::stoi(std::getenv("BENCH_PIPELINES")) : 3,
          .rules = &rules,
          .events = &events});
  // One value read on a connection of its own, outside the measured work.
  const auto scalar = [&conninfo](const std::string& sql) {
    pqxx::connection c(conninfo);
    pqxx::nontransaction n(c);
    return n.exec1(sql)[0].as<std::string>();
  };
  // WAL written by the delivery: its cost in bytes, which the machine's other load cannot move.
  const std::string wal0 = scalar("SELECT pg_current_wal_insert_lsn()::text");
  std::vector<std::thread> threads;
  const cpu_used ours_cpu0 = cpu_now();
  const auto start = steady::now();
  delivery.start();
  for (int i = 0; i < 2; ++i) threads.emplace_back([&] { ioc.run(); });
  while (bo.distinct_acknowledged() < static_cast<std::uint64_t>(count)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (seconds_since(start) > 1800) break;
  }
  const double ours_s = seconds_since(start);
  // Then until the last outcomes are committed and the writer's queue is empty.
  long delivered = 0, journaled = 0;
  {
    pqxx::connection c(conninfo);
    for (;;) {
      pqxx::work w(c);
      delivered = w.exec1("SELECT count(*) FROM outbox WHERE state = 'DELIVERED'")[0].as<long>();
      w.commit();
      if ((delivered >= count && events.stats().depth == 0) || seconds_since(start) > 1800) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  const double recorded_s = seconds_since(start);
  const cpu_used ours_cpu1 = cpu_now();
  const double wal_bytes = std::stod(
      scalar("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '" + wal0 + "'::pg_lsn)"));
  delivery.stop();
  guard.reset();
  ioc.stop();
  for (auto& t : threads) t.join();
  events.stop();
  long puts = static_cast<long>(bo.count());
  journaled =
      std::stol(scalar("SELECT count(*) FROM journal_events WHERE component = 'integration' "
                       "AND category = 'INTERFACCIA'"));

  const double base_rate = count / base_s;
  const double ours_rate = count / ours_s;
  std::printf("\nbo-delivery: %ld queued receipts to a local fake-bo (keep-alive)\n\n", count);
  std::printf("| %-44s | %10s | %12s | %8s |\n", "run", "seconds", "messages/s", "ratio");
  std::printf("|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(12, '-').c_str(),
              std::string(14, '-').c_str(), std::string(10, '-').c_str());
  std::printf("| %-44s | %10.2f | %12.0f | %8s |\n", "baseline: plain PUT loop, 1 connection",
              base_s, base_rate, "1.00x");
  char label[64];
  std::snprintf(label, sizeof label, "pagohub delivery, %zu connections", concurrency);
  char ratio[16];
  std::snprintf(ratio, sizeof ratio, "%.2fx", ours_rate / base_rate);
  std::printf("| %-44s | %10.2f | %12.0f | %8s |\n", label, ours_s, ours_rate, ratio);
  std::snprintf(ratio, sizeof ratio, "%.2fx", (count / recorded_s) / base_rate);
  std::printf("| %-44s | %10.2f | %12.0f | %8s |\n",
              "  ... until every outcome and event is written", recorded_s, count / recorded_s,
              ratio);
  const auto us_per = [count](double a, double b) { return (b - a) * 1e6 / count; };
  std::printf(
      "\nCPU per message: baseline %.0f us (client and fake-bo); pagohub, until everything is "
      "written, %.0f us (delivery and fake-bo) and PostgreSQL %.0f us\n",
      us_per(base_cpu0.self, base_cpu1.self), us_per(ours_cpu0.self, ours_cpu1.self),
      us_per(ours_cpu0.pg, ours_cpu1.pg));
  std::printf("WAL per message: %.0f bytes\n", wal_bytes / static_cast<double>(count));
  std::printf(
      "\ntarget: ratio >= 0.5x; PUTs received %ld (duplicates %ld), rows DELIVERED %ld, "
      "INTERFACCIA events %ld\n",
      puts, puts - count, delivered, journaled);
  return 0;
}
