// The foundation through the real daemon: health, readiness, metrics, limits, graceful stop,
// and readiness following the database's availability.
#include "daemon_process.hpp"
#include "http_client.hpp"

#include <support/eventually.hpp>
#include <support/pg_database.hpp>

#include <gtest/gtest.h>
#include <signal.h>
#include <pqxx/pqxx>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>

namespace pagohub::test {
namespace {

using test_support::test_database;

using namespace std::chrono_literals;
namespace http = boost::beast::http;

TEST(e2e_foundation, health_readiness_and_metrics_answer) {
  test_database db;
  daemon_process d({db.conninfo()});
  ASSERT_TRUE(d.start()) << d.log();
  auto health = http_request(d.port(), http::verb::get, "/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(poll_status(d.port(), "/readyz", 200, 30s), 200u) << d.log();
  auto ready = http_request(d.port(), http::verb::get, "/readyz");
  EXPECT_NE(ready.body.find("\"ready\""), std::string::npos);
  EXPECT_EQ(ready.header("x-request-id").size(), 32u);

  auto echoed =
      http_request(d.port(), http::verb::get, "/healthz", {}, {{"X-Request-Id", "abc-123"}});
  EXPECT_EQ(echoed.header("x-request-id"), "abc-123");

  auto metrics = http_request(d.port(), http::verb::get, "/metrics");
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_NE(metrics.header("content-type").find("text/plain"), std::string::npos);
  for (const char* name :
       {"pagohub_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"}",
        "pagohub_http_request_duration_seconds_bucket", "pagohub_http_requests_in_flight",
        "pagohub_db_pool_in_use", "pagohub_db_pool_waiting", "pagohub_db_upload_pool_in_use",
        "pagohub_db_upload_pool_waiting", "pagohub_db_pap_pool_in_use",
        "pagohub_db_pap_pool_waiting", "pagohub_build_info"})
    EXPECT_NE(metrics.body.find(name), std::string::npos) << name;

  auto missing = http_request(d.port(), http::verb::get, "/nowhere");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.header("content-type"), "application/problem+json");
  auto wrong_method = http_request(d.port(), http::verb::delete_, "/healthz");
  EXPECT_EQ(wrong_method.status, 405u);
  EXPECT_EQ(wrong_method.header("allow"), "GET");
}

TEST(e2e_foundation, oversized_body_gets_413_and_oversized_header_431) {
  test_database db;
  daemon_process d({db.conninfo(), 1 << 20});
  ASSERT_TRUE(d.start()) << d.log();
  auto big = http_request(d.port(), http::verb::post, "/healthz", std::string(2 << 20, 'x'));
  EXPECT_EQ(big.status, 413u);
  EXPECT_EQ(big.header("content-type"), "application/problem+json");

  // Chunked: no Content-Length to refuse early; the limit trips while reading.
  raw_connection chunked(d.port());
  std::string chunk(256 * 1024, 'y');
  std::string head = "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  chunked.send(head);
  std::string hex = "40000\r\n";
  try {
    for (int i = 0; i < 6; ++i) chunked.send(hex + chunk + "\r\n");
  } catch (const std::exception&) {
    // The server may close before all is sent; the answer is still readable.
  }
  EXPECT_EQ(chunked.read_reply().status, 413u);

  auto fat = http_request(d.port(), http::verb::get, "/healthz", {},
                          {{"X-Filler", std::string(20 * 1024, 'h')}});
  EXPECT_EQ(fat.status, 431u);
  // The daemon is still fine afterwards.
  EXPECT_EQ(http_request(d.port(), http::verb::get, "/healthz").status, 200u);
}

TEST(e2e_foundation, what_a_peer_makes_up_costs_bounded_memory) {
  test_database db;
  daemon_process d({db.conninfo()});
  ASSERT_TRUE(d.start()) << d.log();

  // Beast takes any token as a method: the metrics count them all as one label.
  for (int i = 0; i < 3; ++i) {
    raw_connection odd(d.port());
    odd.send("MADEUP" + std::to_string(i) + " /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(odd.read_reply().status, 404u);
  }
  const auto metrics = http_request(d.port(), http::verb::get, "/metrics");
  // (Counted after the answer is written: the last may not be counted yet.)
  EXPECT_NE(metrics.body.find("route=\"unmatched\",method=\"OTHER\",status=\"404\"}"),
            std::string::npos)
      << metrics.body;
  EXPECT_EQ(metrics.body.find("MADEUP"), std::string::npos);

  // A chunk-size line without end is subject to no header or body limit in Beast: the daemon
  // must close the connection rather than buffer it.
  raw_connection endless(d.port());
  endless.send("POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;");
  const std::string piece(64 * 1024, 'a');
  EXPECT_THROW(
      {
        for (int i = 0; i < 256; ++i) endless.send(piece);  // 16 MB
      },
      std::exception);
  EXPECT_EQ(http_request(d.port(), http::verb::get, "/healthz").status, 200u);
}

// [limits] max_connections_per_address: one client cannot take every connection; and
// idle_timeout_ms: a keep-alive connection with no next request is closed.
TEST(e2e_foundation, connections_are_capped_per_address_and_idle_ones_closed) {
  test_database db;
  daemon_options o{db.conninfo()};
  o.limits_toml = "max_connections_per_address = 2\nidle_timeout_ms = 1000\n";
  daemon_process d(o);
  ASSERT_TRUE(d.start()) << d.log();
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  auto first = std::make_unique<raw_connection>(d.port());
  raw_connection second(d.port());
  first->send(get);
  EXPECT_EQ(first->read_reply().status, 200u);
  second.send(get);
  EXPECT_EQ(second.read_reply().status, 200u);
  // A third from the same address is closed on arrival, unanswered.
  raw_connection third(d.port());
  try {
    third.send(get);
  } catch (const std::exception&) {
    // The close may already be known when sending.
  }
  EXPECT_THROW(third.read_reply(), std::exception);
  // One ends: a new connection is served again.
  first.reset();
  test_support::eventually(
      [&] {
        try {
          raw_connection next(d.port());
          next.send(get);
          return next.read_reply().status == 200u;
        } catch (const std::exception&) {
          return false;
        }
      },
      10s);
  // The second, idle since its answer, is closed after idle_timeout_ms.
  EXPECT_THROW(second.read_reply(), std::exception);
  // The refusal is counted (read once the connections above are gone, not to be refused too).
  const std::string refused =
      "pagohub_http_connections_refused_total{cap=\"max_connections_per_address\"} ";
  std::string body;
  test_support::eventually(
      [&] {
        try {
          body = http_request(d.port(), http::verb::get, "/metrics").body;
          return body.find(refused) != std::string::npos;
        } catch (const std::exception&) {
          return false;
        }
      },
      10s);
  EXPECT_NE(body.find(refused), std::string::npos) << body;
  EXPECT_EQ(body.find(refused + "0"), std::string::npos) << body;
}

// A request head that trickles in has the request deadline from its first byte, not the
// (longer) idle timeout of a connection waiting for its next request.
TEST(e2e_foundation, a_trickled_request_head_is_cut_at_the_request_deadline) {
  test_database db;
  daemon_options o{db.conninfo()};
  o.request_deadline_ms = 500;
  o.limits_toml = "idle_timeout_ms = 60000\n";
  daemon_process d(o);
  ASSERT_TRUE(d.start()) << d.log();
  raw_connection slow(d.port());
  slow.send("GET /healthz HTTP/1.1\r\n");
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    std::this_thread::sleep_for(100ms);
    try {
      slow.send("X-Slow: 1\r\n");
    } catch (const std::exception&) {
      closed = true;
    }
  }
  EXPECT_TRUE(closed) << "the head was still being read after 4 s";
  // The daemon serves on.
  EXPECT_EQ(http_request(d.port(), http::verb::get, "/healthz").status, 200u);
}

// Sends the head and half the body of a request on `c`, once the daemon serves `c`: a
// connection still in the accept queue, or whose head the daemon has not read, is idle, and a
// stop closes it at once instead of waiting for the request. A first request answered on it
// proves the session runs; the pause lets it read the second head (no gauge counts a request
// whose body is still arriving).
void send_half_a_request(raw_connection& c) {
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(c.read_reply().status, 200u);
  c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

TEST(e2e_foundation, sigterm_lets_a_request_in_flight_finish) {
  test_database db;
  daemon_process d({db.conninfo()});
  ASSERT_TRUE(d.start()) << d.log();
  ASSERT_EQ(poll_status(d.port(), "/readyz", 200, 30s), 200u);

  // A request whose body is still arriving is in flight: half of it now, the rest after SIGTERM.
  raw_connection slow(d.port());
  send_half_a_request(slow);
  // An idle keep-alive connection, which shutdown closes at once.
  raw_connection idle(d.port());
  idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(idle.read_reply().status, 200u);

  d.signal(SIGTERM);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!connection_refused(d.port()) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(connection_refused(d.port())) << "the daemon kept accepting after SIGTERM";
  EXPECT_TRUE(d.running()) << "the daemon exited with a request in flight";

  slow.send("67890");
  auto reply = slow.read_reply();
  EXPECT_EQ(reply.status, 405u);  // the route exists for GET only: the request was handled
  EXPECT_EQ(reply.header("connection"), "close");
  EXPECT_EQ(d.wait_exit(15s), 0) << d.log();
  EXPECT_NE(d.log().find("pagohubd stopped"), std::string::npos);
}

TEST(e2e_foundation, a_second_sigterm_stops_at_once) {
  test_database db;
  daemon_process d({db.conninfo()});  // shutdown grace 10 s
  ASSERT_TRUE(d.start()) << d.log();
  ASSERT_EQ(poll_status(d.port(), "/readyz", 200, 30s), 200u);
  // A request in flight whose body never comes: a graceful stop waits for it.
  raw_connection slow(d.port());
  send_half_a_request(slow);
  d.signal(SIGTERM);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!connection_refused(d.port()) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(d.running());
  d.signal(SIGTERM);
  // Well within the grace: the operator asked twice. The journal is still written.
  EXPECT_EQ(d.wait_exit(5s), 0) << d.log();
  EXPECT_NE(d.log().find("during the stop"), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("pagohubd stopped"), std::string::npos) << d.log();
}

// A handler waiting for the database (here behind a lock the test holds) would hold a graceful
// stop until its transaction ends. Five seconds after the grace the stop goes on without it,
// so that a service manager's stop timeout does not kill the daemon before its journal queue
// is written; what the handler had not committed was never acknowledged.
TEST(e2e_foundation, a_stop_does_not_wait_for_ever_for_a_handler_stuck_on_the_database) {
  test_database db;
  daemon_options o{db.conninfo()};
  o.shutdown_grace_ms = 500;
  o.statement_timeout_ms = 120000;
  o.request_deadline_ms = 120000;
  daemon_process d(o);
  ASSERT_TRUE(d.start()) << d.log();
  ASSERT_EQ(poll_status(d.port(), "/readyz", 200, 30s), 200u);
  pqxx::connection holder(db.conninfo());
  pqxx::work lock(holder);
  lock.exec0("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE");
  std::this_thread::sleep_for(1500ms);  // past /readyz's one-second cache
  raw_connection stuck(d.port());
  stuck.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  // The probe is waiting for the lock.
  ASSERT_TRUE(test_support::eventually(
      [&] {
        pqxx::connection c(db.conninfo());
        pqxx::nontransaction n(c);
        return n.exec(
                    "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                    "query LIKE '%schema_migrations%'")
                   .size() == 1;
      },
      10s));
  d.signal(SIGTERM);
  // Without the hard stop the daemon would wait as long as the test holds the lock.
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
  EXPECT_NE(d.log().find("after the shutdown grace are abandoned"), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("pagohubd stopped"), std::string::npos) << d.log();
  lock.abort();
}

int sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

// A private cluster: stopping the shared one would disturb every other test.
class private_cluster {
 public:
  private_cluster() {
    char tmpl[] = "/tmp/pagohub-e2e-pg.XXXXXX";
    dir_ = mkdtemp(tmpl);
    // Listed for the fixture's cleanup (scripts/pg-test-fixture): a test killed at its timeout
    // never runs the destructor, and its postmaster would run on.
    if (const char* file = std::getenv("PAGOHUB_TEST_PG_FILE"))
      std::ofstream(std::filesystem::path(file).parent_path() / "pgtest.private", std::ios::app)
          << dir_ << "\n";
    script_ = (source_dir() / "scripts" / "pg-cluster").string();
    ok_ = sh(script_ + " init " + dir_ + " auto --fast") == 0 && start();
  }
  ~private_cluster() { sh(script_ + " destroy " + dir_); }
  bool ok() const { return ok_; }
  bool start() { return sh(script_ + " start " + dir_) == 0; }
  bool stop() { return sh(script_ + " stop " + dir_) == 0; }
  std::string conninfo() const {
    std::string cmd = script_ + " conninfo " + dir_ + " postgres";
    FILE* p = popen(cmd.c_str(), "r");
    char buf[512] = {};
    std::string out;
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }

 private:
  std::string dir_, script_;
  bool ok_ = false;
};

TEST(e2e_foundation, readiness_follows_the_database_without_a_restart) {
  PAGOHUB_REQUIRE_PG();
  private_cluster pg;
  ASSERT_TRUE(pg.ok());
  daemon_process d({pg.conninfo()});
  ASSERT_TRUE(d.start()) << d.log();
  ASSERT_EQ(poll_status(d.port(), "/readyz", 200, 30s), 200u) << d.log();

  ASSERT_TRUE(pg.stop());
  EXPECT_EQ(poll_status(d.port(), "/readyz", 503, 30s), 503u) << d.log();
  auto down = http_request(d.port(), http::verb::get, "/readyz");
  // A fixed reason for whoever asks; libpq's own words (host, address, role) go to the log.
  EXPECT_EQ(down.body, R"({"reason":"database unavailable","status":"unavailable"})");
  const auto logged_after = [&d](const std::string& text) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (d.log().find(text) == std::string::npos && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(20ms);
    return d.log().find(text) != std::string::npos;
  };
  EXPECT_TRUE(logged_after("readyz: not ready (request ")) << d.log();
  EXPECT_EQ(http_request(d.port(), http::verb::get, "/healthz").status, 200u);

  ASSERT_TRUE(pg.start());
  EXPECT_EQ(poll_status(d.port(), "/readyz", 200, 60s), 200u) << d.log();
  EXPECT_TRUE(d.running());
}

TEST(e2e_foundation, a_database_down_at_start_is_waited_for_without_migrating_too) {
  PAGOHUB_REQUIRE_PG();
  private_cluster pg;
  ASSERT_TRUE(pg.ok());
  {
    // Migrated once; later starts leave migrations to `pagohubd migrate`.
    daemon_process first({pg.conninfo()});
    ASSERT_TRUE(first.start()) << first.log();
  }
  ASSERT_TRUE(pg.stop());
  daemon_options o{pg.conninfo()};
  o.migrate_on_start = false;
  daemon_process d(o);
  // The daemon is started from this thread: a child started by a thread that then ends would
  // get its parent-death signal. The database comes back from another one, once the daemon
  // says it is waiting for it instead of giving up after the pool's own few retries.
  auto restarted = std::async(std::launch::async, [&d, &pg] {
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (d.log().find("database not reachable yet") == std::string::npos &&
           std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(50ms);
    const bool waited = d.log().find("database not reachable yet") != std::string::npos;
    return pg.start() && waited;
  });
  EXPECT_TRUE(d.start(90s)) << d.log();
  EXPECT_TRUE(restarted.get()) << d.log();
  EXPECT_EQ(poll_status(d.port(), "/readyz", 200, 30s), 200u) << d.log();
}

// Without migrate_on_start the daemon migrates nothing, and does not serve a schema it does not
// know: started before `pagohubd migrate` ran, it exits saying so.
TEST(e2e_foundation, without_migrating_a_schema_behind_stops_start_up) {
  test_database db;
  daemon_options o{db.conninfo()};
  o.migrate_on_start = false;
  daemon_process d(o);
  EXPECT_FALSE(d.start(30s));
  EXPECT_EQ(d.wait_exit(10s), 1);
  EXPECT_NE(d.log().find("the database schema is not the one this pagohubd expects"),
            std::string::npos)
      << d.log();
}

TEST(e2e_foundation, tampered_migration_stops_start_up) {
  test_database db;
  {
    daemon_process first({db.conninfo()});
    ASSERT_TRUE(first.start()) << first.log();
    ASSERT_EQ(poll_status(first.port(), "/readyz", 200, 30s), 200u);
  }
  // Same versions, one file's text changed.
  char tmpl[] = "/tmp/pagohub-e2e-sql.XXXXXX";
  std::filesystem::path sql = mkdtemp(tmpl);
  for (const auto& e : std::filesystem::directory_iterator(source_dir() / "sql"))
    std::filesystem::copy(e.path(), sql / e.path().filename());
  auto first_file = *std::filesystem::directory_iterator(sql);
  std::ofstream(first_file.path(), std::ios::app) << "\n-- edited after landing\n";
  daemon_options o{db.conninfo()};
  o.sql_dir = sql;
  daemon_process second(o);
  EXPECT_FALSE(second.start(30s));
  EXPECT_EQ(second.wait_exit(10s), 1);
  EXPECT_NE(second.log().find("checksum"), std::string::npos) << second.log();
  std::filesystem::remove_all(sql);
}

TEST(e2e_cli, version_help_and_config_errors) {
  auto [vcode, vout] = run_pagohubd("--version");
  EXPECT_EQ(vcode, 0);
  EXPECT_NE(vout.find("pagohubd "), std::string::npos);
  auto [hcode, hout] = run_pagohubd("--help");
  EXPECT_EQ(hcode, 0);
  EXPECT_NE(hout.find("check-config"), std::string::npos);
  auto [bcode, bout] = run_pagohubd("frobnicate");
  EXPECT_EQ(bcode, 2);

  char tmpl[] = "/tmp/pagohub-e2e-cfg.XXXXXX";
  std::filesystem::path dir = mkdtemp(tmpl);
  std::ofstream(dir / "bad.toml") << "[[listener]]\nname = \"a\"\nport = 70000\n";
  auto [ccode, cout_] = run_pagohubd("check-config --config " + (dir / "bad.toml").string());
  EXPECT_EQ(ccode, 2);
  EXPECT_NE(cout_.find("bad.toml"), std::string::npos) << cout_;
  EXPECT_NE(cout_.find("port"), std::string::npos) << cout_;

  // The development file reads its conninfo from the environment (scripts/run-local sets it).
  ::setenv("PAGOHUB_DB", "host=127.0.0.1 port=1 dbname=pagohub", 1);
  auto [gcode, gout] =
      run_pagohubd("check-config --config " + (source_dir() / "config" / "pagohub.toml").string());
  EXPECT_EQ(gcode, 0) << gout;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pagohub::test
