// The scheduler's contract (ARCHITECTURE §4): each slot of a schedule runs once however many
// daemons share the database, a lease left by a dead daemon is taken over, outcomes land in
// job_runs, and a stopping daemon leaves nothing locked behind.
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "pagohub/core/ids.hpp"
#include "pagohub/db/executor.hpp"
#include "pagohub/jobs/scheduler.hpp"
#include "support/pg_database.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using pagohub::core::fixed_clock;
using pagohub::jobs::job_spec;
using pagohub::jobs::run_context;
using pagohub::jobs::schedule;
using pagohub::jobs::scheduler;
using pagohub::jobs::scheduler_settings;
using pagohub::jobs::tick_outcome;

template <class T>
T run(asio::io_context& ioc, asio::awaitable<T> coroutine) {
  auto future = asio::co_spawn(ioc, std::move(coroutine), asio::use_future);
  ioc.run();
  ioc.restart();
  return future.get();
}

scheduler_settings settings_for(std::string id) {
  scheduler_settings s;
  s.instance_id = std::move(id);
  s.hostname = "test";
  s.pid = 1;
  s.version = "test";
  s.heartbeat_interval = 200ms;
  s.stale_after = 2s;
  s.busy_retry = 100ms;
  return s;
}

class jobs_scheduler : public pagohub::test_support::migrated_pg_test {
 protected:
  void SetUp() override {
    migrated_pg_test::SetUp();
    if (IsSkipped()) return;
    db_ = std::make_unique<pagohub::db::executor>(pagohub::db::pool_settings{conninfo(), 4});
  }
  void TearDown() override {
    db_.reset();
    pg_test::TearDown();
  }

  // A job that counts its runs per slot.
  job_spec counting_job(schedule when, std::map<std::int64_t, int>& runs, std::mutex& m) {
    job_spec spec;
    spec.name = "test.count";
    spec.when = when;
    spec.lease_ttl = 30s;
    spec.body = [&runs,
                 &m](run_context ctx) -> asio::awaitable<pagohub::core::result<std::string>> {
      std::lock_guard lock(m);
      ++runs[std::chrono::duration_cast<std::chrono::seconds>(ctx.slot.time_since_epoch()).count()];
      co_return std::string("counted");
    };
    return spec;
  }

  pqxx::result query(const std::string& sql) {
    pqxx::connection c(conninfo());
    pqxx::work w(c);
    auto r = w.exec(sql);
    w.commit();
    return r;
  }

  std::unique_ptr<pagohub::db::executor> db_;
};

// In the past, and on the hour: a slot ahead of the database server's clock is not run.
const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'764'000'000));

TEST_F(jobs_scheduler, two_daemons_run_each_slot_once) {
  fixed_clock clock(t0);
  asio::io_context ioc;
  std::map<std::int64_t, int> runs;
  std::mutex m;
  scheduler a(ioc, *db_, settings_for(pagohub::core::new_uuid()), clock);
  scheduler b(ioc, *db_, settings_for(pagohub::core::new_uuid()), clock);
  a.add(counting_job(schedule::every(60s), runs, m));
  b.add(counting_job(schedule::every(60s), runs, m));

  EXPECT_EQ(run(ioc, a.tick("test.count")), tick_outcome::ran_ok);
  EXPECT_EQ(run(ioc, b.tick("test.count")), tick_outcome::done);
  EXPECT_EQ(run(ioc, a.tick("test.count")), tick_outcome::done);
  clock.advance(59s);  // same slot still
  EXPECT_EQ(run(ioc, b.tick("test.count")), tick_outcome::done);
  clock.advance(1s);  // the next one
  EXPECT_EQ(run(ioc, b.tick("test.count")), tick_outcome::ran_ok);
  EXPECT_EQ(run(ioc, a.tick("test.count")), tick_outcome::done);

  ASSERT_EQ(runs.size(), 2U);
  for (const auto& [slot, n] : runs) EXPECT_EQ(n, 1) << slot;
  auto rows =
      query("SELECT count(*), count(DISTINCT slot), bool_and(outcome = 'ok') FROM job_runs");
  EXPECT_EQ(rows[0][0].as<int>(), 2);
  EXPECT_EQ(rows[0][1].as<int>(), 2);
  EXPECT_TRUE(rows[0][2].as<bool>());
}

TEST_F(jobs_scheduler, racing_daemons_on_real_timers_run_each_period_once) {
  pagohub::core::system_clock clock;
  asio::io_context ioc_a, ioc_b;
  std::map<std::int64_t, int> runs;
  std::mutex m;
  scheduler a(ioc_a, *db_, settings_for(pagohub::core::new_uuid()), clock);
  scheduler b(ioc_b, *db_, settings_for(pagohub::core::new_uuid()), clock);
  a.add(counting_job(schedule::every(1s), runs, m));
  b.add(counting_job(schedule::every(1s), runs, m));
  a.start();
  b.start();
  // Each daemon on its own threads, as separate processes would be.
  std::jthread ta([&] { ioc_a.run(); });
  std::jthread tb([&] { ioc_b.run(); });
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until) {
    {
      std::lock_guard lock(m);
      if (runs.size() >= 4) break;
    }
    std::this_thread::sleep_for(20ms);
  }
  a.stop();
  b.stop();
  ioc_a.stop();
  ioc_b.stop();
  ta.join();
  tb.join();
  a.close();
  b.close();

  std::lock_guard lock(m);
  ASSERT_GE(runs.size(), 4U) << "the job did not run every second";
  for (const auto& [slot, n] : runs) EXPECT_EQ(n, 1) << "slot " << slot << " ran " << n << " times";
  auto rows = query(
      "SELECT count(*) FROM (SELECT slot FROM job_runs WHERE outcome <> 'abandoned' "
      "GROUP BY slot HAVING count(*) > 1) d");
  EXPECT_EQ(rows[0][0].as<int>(), 0);
  EXPECT_EQ(query("SELECT count(*) FROM daemon_instances")[0][0].as<int>(), 0)
      << "close() removes the instance rows";
}

TEST_F(jobs_scheduler, an_expired_lease_is_taken_over_and_a_live_one_is_respected) {
  fixed_clock clock(t0);
  asio::io_context ioc;
  std::map<std::int64_t, int> runs;
  std::mutex m;
  const std::string me = pagohub::core::new_uuid();
  const std::string other = pagohub::core::new_uuid();
  scheduler s(ioc, *db_, settings_for(me), clock);
  s.add(counting_job(schedule::every(60s), runs, m));

  const std::string slot = "to_timestamp(" + std::to_string(1'764'000'000 / 60 * 60) + ")";
  // A live daemon (fresh heartbeat) holds an unexpired lease on the current slot.
  query("INSERT INTO daemon_instances (id, hostname, pid, version) VALUES ('" + other +
        "', 'other', 2, 'x')");
  query(
      "INSERT INTO job_leases (name, holder, expires_at, ttl, running_slot) VALUES "
      "('test.count', '" +
      other + "', now() + interval '1 hour', interval '1 hour', " + slot + ")");
  EXPECT_EQ(run(ioc, s.tick("test.count")), tick_outcome::busy);

  // It dies: its lease runs out.
  query("UPDATE job_leases SET expires_at = now() - interval '1 second'");
  EXPECT_EQ(run(ioc, s.tick("test.count")), tick_outcome::ran_ok);
  auto lease = query("SELECT holder, running_slot IS NULL, done_slot = " + slot +
                     " FROM job_leases WHERE name = 'test.count'");
  EXPECT_EQ(lease[0][0].as<std::string>(), me);
  EXPECT_TRUE(lease[0][1].as<bool>());
  EXPECT_TRUE(lease[0][2].as<bool>());

  // Next slot: the other daemon holds an unexpired lease again, but its heartbeat is stale.
  clock.advance(60s);
  query("UPDATE job_leases SET holder = '" + other +
        "', expires_at = now() + interval '1 hour', running_slot = " + slot +
        " + interval '1 minute'");
  query("UPDATE daemon_instances SET last_seen = now() - interval '1 hour' WHERE id = '" + other +
        "'");
  EXPECT_EQ(run(ioc, s.tick("test.count")), tick_outcome::ran_ok);
  EXPECT_EQ(runs.size(), 2U);
}

TEST_F(jobs_scheduler, a_daemon_whose_clock_is_ahead_does_not_run_future_slots) {
  asio::io_context ioc;
  std::map<std::int64_t, int> runs;
  std::mutex m;
  // A day ahead of the database server: the slot has not begun yet, so it is not run (and not
  // recorded done, which would make every daemon skip the job for a day).
  fixed_clock ahead(std::chrono::system_clock::now() + std::chrono::hours(24));
  scheduler fast(ioc, *db_, settings_for(pagohub::core::new_uuid()), ahead);
  fast.add(counting_job(schedule::every(60s), runs, m));
  EXPECT_EQ(run(ioc, fast.tick("test.count")), tick_outcome::busy);
  EXPECT_TRUE(runs.empty());
  EXPECT_EQ(query("SELECT count(*) FROM job_leases WHERE done_slot IS NOT NULL")[0][0].as<int>(),
            0);
  // A daemon on time runs the current slot.
  fixed_clock on_time(std::chrono::system_clock::now());
  scheduler right(ioc, *db_, settings_for(pagohub::core::new_uuid()), on_time);
  right.add(counting_job(schedule::every(60s), runs, m));
  EXPECT_EQ(run(ioc, right.tick("test.count")), tick_outcome::ran_ok);
  EXPECT_EQ(runs.size(), 1U);
}

TEST_F(jobs_scheduler, failures_are_recorded_and_the_slot_is_not_repeated) {
  fixed_clock clock(t0);
  asio::io_context ioc;
  scheduler s(ioc, *db_, settings_for(pagohub::core::new_uuid()), clock);
  int calls = 0;
  job_spec failing;
  failing.name = "test.fail";
  failing.when = schedule::daily_at(3, 15);
  failing.body = [&calls](run_context) -> asio::awaitable<pagohub::core::result<std::string>> {
    ++calls;
    if (calls == 2) throw std::runtime_error("boom");
    co_return pagohub::core::fail(pagohub::core::errc::unavailable, "nothing to do it with");
  };
  s.add(std::move(failing));
  EXPECT_EQ(run(ioc, s.tick("test.fail")), tick_outcome::ran_failed);
  EXPECT_EQ(run(ioc, s.tick("test.fail")), tick_outcome::done);
  clock.advance(24h);
  EXPECT_EQ(run(ioc, s.tick("test.fail")), tick_outcome::ran_failed);
  auto rows = query("SELECT outcome, detail FROM job_runs ORDER BY id");
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0][0].as<std::string>(), "failed");
  EXPECT_EQ(rows[0][1].as<std::string>(), "nothing to do it with");
  EXPECT_EQ(rows[1][1].as<std::string>(), "exception: boom");
  std::string metrics;
  s.append_metrics(metrics);
  EXPECT_NE(metrics.find("pagohub_job_runs_total{job=\"test.fail\",outcome=\"failed\"} 2"),
            std::string::npos)
      << metrics;
}

TEST_F(jobs_scheduler, a_run_whose_end_cannot_be_recorded_is_not_run_again) {
  // Recording a run's end fails while test_finish_failures has values left to hand out (a
  // sequence: the failing transactions cannot roll the count back).
  query("CREATE SEQUENCE test_finish_failures");
  query("CREATE TABLE test_finish_limit (n integer NOT NULL)");
  query("INSERT INTO test_finish_limit VALUES (2)");
  query(R"(CREATE FUNCTION test_fail_finish() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF OLD.outcome = 'running' AND NEW.outcome IN ('ok', 'failed')
                AND nextval('test_finish_failures') <= (SELECT n FROM test_finish_limit) THEN
               RAISE EXCEPTION 'could not extend file' USING ERRCODE = '53100';
             END IF;
             RETURN NEW;
           END $$)");
  query(
      "CREATE TRIGGER test_fail_finish BEFORE UPDATE ON job_runs "
      "FOR EACH ROW EXECUTE FUNCTION test_fail_finish()");

  fixed_clock clock(t0);
  asio::io_context ioc;
  std::map<std::int64_t, int> runs;
  std::mutex m;
  const std::string me = pagohub::core::new_uuid();
  scheduler s(ioc, *db_, settings_for(me), clock);
  s.add(counting_job(schedule::every(60s), runs, m));

  // Two failures, then it records: retried on its own, the slot is done, the job ran once.
  EXPECT_EQ(run(ioc, s.tick("test.count")), tick_outcome::ran_ok);
  EXPECT_EQ(run(ioc, s.tick("test.count")), tick_outcome::done);
  auto rows = query("SELECT outcome FROM job_runs ORDER BY id");
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0][0].as<std::string>(), "ok");

  // Next slot: it never records. The job is not run again for it...
  query("UPDATE test_finish_limit SET n = 1000");
  clock.advance(60s);
  EXPECT_EQ(run(ioc, s.tick("test.count")), tick_outcome::ran_ok);
  rows = query("SELECT outcome FROM job_runs ORDER BY id");
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[1][0].as<std::string>(), "running");
  // ...and the claim of the slot after marks the row left behind abandoned.
  query("UPDATE test_finish_limit SET n = 0");
  clock.advance(60s);
  EXPECT_EQ(run(ioc, s.tick("test.count")), tick_outcome::ran_ok);
  rows = query("SELECT outcome, detail, instance_id FROM job_runs ORDER BY id");
  ASSERT_EQ(rows.size(), 3U);
  EXPECT_EQ(rows[1][0].as<std::string>(), "abandoned");
  EXPECT_EQ(rows[1][1].as<std::string>(), "the end of this run could not be recorded");
  EXPECT_EQ(rows[2][0].as<std::string>(), "ok");
  ASSERT_EQ(runs.size(), 3U);
  for (const auto& [slot, n] : runs) EXPECT_EQ(n, 1) << slot;
}

TEST_F(jobs_scheduler, a_claim_marks_runs_left_running_by_a_dead_daemon_abandoned) {
  fixed_clock clock(t0);
  asio::io_context ioc;
  std::map<std::int64_t, int> runs;
  std::mutex m;
  scheduler s(ioc, *db_, settings_for(pagohub::core::new_uuid()), clock);
  s.add(counting_job(schedule::every(60s), runs, m));
  const std::string slot = "to_timestamp(" + std::to_string(1'764'000'000 / 60 * 60) + ")";
  // A daemon died mid-run: its run row says running, its lease has expired.
  query("INSERT INTO job_runs (name, instance_id, slot) VALUES ('test.count', 'gone', " + slot +
        ")");
  query(
      "INSERT INTO job_leases (name, holder, expires_at, ttl, running_slot) VALUES "
      "('test.count', 'gone', now() - interval '1 second', interval '1 minute', " +
      slot + ")");
  EXPECT_EQ(run(ioc, s.tick("test.count")), tick_outcome::ran_ok);
  auto rows =
      query("SELECT instance_id, outcome, finished_at IS NOT NULL FROM job_runs ORDER BY id");
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0][0].as<std::string>(), "gone");
  EXPECT_EQ(rows[0][1].as<std::string>(), "abandoned");
  EXPECT_TRUE(rows[0][2].as<bool>());
  EXPECT_EQ(rows[1][1].as<std::string>(), "ok");
}

TEST_F(jobs_scheduler, heartbeat_keeps_the_instance_row_fresh_and_close_releases_everything) {
  pagohub::core::system_clock clock;
  asio::io_context ioc;
  const std::string me = pagohub::core::new_uuid();
  scheduler s(ioc, *db_, settings_for(me), clock);
  std::atomic<bool> entered{false};
  job_spec slow;
  slow.name = "test.slow";
  slow.when = schedule::every(3600s);
  slow.lease_ttl = 1s;
  slow.body = [&entered](run_context) -> asio::awaitable<pagohub::core::result<std::string>> {
    entered = true;
    asio::steady_timer t(co_await asio::this_coro::executor, 1h);
    co_await t.async_wait(asio::use_awaitable);
    co_return std::string("never");
  };
  s.add(std::move(slow));
  s.start();
  std::jthread io([&] { ioc.run(); });
  auto started = query("SELECT last_seen FROM daemon_instances WHERE id = '" + me + "'");
  ASSERT_EQ(started.size(), 1U);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!entered && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(entered);
  const std::string lease =
      "SELECT extract(epoch FROM expires_at) FROM job_leases WHERE holder = '" + me +
      "' AND running_slot IS NOT NULL";
  const double first_expiry = query(lease)[0][0].as<double>();
  // The run outlives its 1 s lease_ttl: only the heartbeat can push the expiry forward.
  bool renewed = false;
  while (std::chrono::steady_clock::now() < until && !renewed) {
    std::this_thread::sleep_for(50ms);
    auto r = query(lease);
    renewed = r.size() == 1 && r[0][0].as<double>() > first_expiry;
  }
  EXPECT_TRUE(renewed) << "the heartbeat did not renew the running lease";
  s.stop();
  ioc.stop();
  io.join();
  s.close();
  auto runs = query("SELECT outcome FROM job_runs");
  ASSERT_EQ(runs.size(), 1U);
  EXPECT_EQ(runs[0][0].as<std::string>(), "abandoned");
  EXPECT_EQ(query("SELECT count(*) FROM job_leases WHERE expires_at > now()")[0][0].as<int>(), 0);
  EXPECT_EQ(query("SELECT count(*) FROM daemon_instances")[0][0].as<int>(), 0);
}

}  // namespace
