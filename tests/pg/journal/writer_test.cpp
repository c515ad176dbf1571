// The writer (include/pagohub/journal/writer.hpp): batched, drained on stop, and when full it
// drops only what changed nothing, while state-changing exchanges wait for room.
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <future>
#include <thread>

#include "fixture.hpp"
#include "pagohub/journal/service.hpp"
#include "pagohub/journal/writer.hpp"

namespace pagohub::journal::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class journal_writer : public journal_db {
 protected:
  config::journal_settings settings(std::size_t capacity = 1000) {
    config::journal_settings s;
    s.queue_capacity = capacity;
    s.flush_interval = 20ms;
    s.batch_size = 64;
    return s;
  }

  event interface_event(int i, std::string rid = "rid") {
    event e;
    e.cat = category::interfaccia;
    e.interface = interface_kind::rest;
    e.entity_fc = "01234567897";
    e.type = "createPosition";
    e.subtype = i % 2 ? "rsp" : "req";
    e.request_id = std::move(rid);
    e.http_status = i % 2 ? 500 : 201;
    e.message = payload{"application/json", {{"Authorization", "Bearer x"}}, R"({"i":1})"};
    return e;
  }

  // A trigger that makes the database fail as the test needs: an event with request id `bad`
  // is refused as bad data (SQLSTATE 22023); one with request id `flaky` meets a full disk
  // (53100) the first `flaky_failures` times it is written. The count is a sequence, which a
  // rolled-back transaction does not undo.
  void install_failures(int flaky_failures) {
    sql("CREATE SEQUENCE test_flaky_writes");
    sql(R"(CREATE FUNCTION test_refuse_events() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN
                IF NEW.request_id = 'bad' THEN
                  RAISE EXCEPTION 'refused row' USING ERRCODE = '22023';
                END IF;
                IF NEW.request_id = 'flaky' AND nextval('test_flaky_writes') <= )" +
        std::to_string(flaky_failures) + R"( THEN
                  RAISE EXCEPTION 'no space left on device' USING ERRCODE = '53100';
                END IF;
                RETURN NEW;
              END $$)");
    sql("CREATE TRIGGER test_refuse_events BEFORE INSERT ON journal_events "
        "FOR EACH ROW EXECUTE FUNCTION test_refuse_events()");
  }

  core::system_clock clock_;
};

TEST_F(journal_writer, writes_in_batches_and_drains_on_stop) {
  const auto s = settings();
  const payload_rules rules(s);
  writer w(*db_, s, rules, clock_);
  w.start();
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(w.try_enqueue(interface_event(i)));
  w.stop();  // everything queued is written before stop returns
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events WHERE category = 'INTERFACCIA'"), 500);
  // rsp events (status 500) failed: their payloads are kept; req events (201) are not.
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_payloads"), 250);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_payloads WHERE headers LIKE '%Bearer%'"), 0);
  const auto st = w.stats();
  EXPECT_EQ(st.written_interfaccia, 500U);
  EXPECT_GE(st.flushes, 8U) << "batches of at most 64";
  EXPECT_EQ(st.depth, 0U);
  std::string m;
  w.append_metrics(m);
  for (const char* name :
       {"pagohub_journal_events_written_total{category=\"INTERFACCIA\"} 500",
        "pagohub_journal_queue_depth 0", "pagohub_journal_queue_capacity 1000",
        "pagohub_journal_flush_duration_seconds_count", "pagohub_journal_events_dropped_total"})
    EXPECT_NE(m.find(name), std::string::npos) << name << "\n" << m;
}

TEST_F(journal_writer, a_full_queue_drops_what_changed_nothing_and_holds_state_changes) {
  const auto s = settings(2);
  const payload_rules rules(s);
  writer w(*db_, s, rules, clock_);  // not started: nothing drains yet
  asio::io_context ioc;
  EXPECT_TRUE(run(ioc, w.enqueue(interface_event(0, "a"), false)));
  EXPECT_TRUE(run(ioc, w.enqueue(interface_event(1, "b"), true)));
  // Full: an exchange that changed nothing is dropped, at once.
  EXPECT_FALSE(run(ioc, w.enqueue(interface_event(2, "dropped"), false)));
  EXPECT_FALSE(w.try_enqueue(interface_event(3, "dropped")));
  // One that changed state waits, without blocking its thread...
  auto pending = asio::co_spawn(ioc, w.enqueue(interface_event(4, "held"), true), asio::use_future);
  const auto until = std::chrono::steady_clock::now() + 300ms;
  while (std::chrono::steady_clock::now() < until) ioc.run_for(10ms);
  EXPECT_EQ(pending.wait_for(0s), std::future_status::timeout) << "it must wait for room";
  // ...and so does a thread that may block.
  auto blocking = std::async(std::launch::async,
                             [&] { return w.enqueue_blocking(interface_event(5, "held2"), true); });
  EXPECT_EQ(blocking.wait_for(100ms), std::future_status::timeout);
  EXPECT_EQ(w.stats().waited, 2U);
  // Room comes: both get in.
  w.start();
  while (pending.wait_for(0s) != std::future_status::ready) ioc.run_for(10ms);
  EXPECT_TRUE(pending.get());
  EXPECT_TRUE(blocking.get());
  w.stop();
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events"), 4);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events WHERE request_id = 'dropped'"), 0);
  EXPECT_EQ(
      scalar<int>("SELECT count(*) FROM journal_events WHERE request_id IN ('held', 'held2')"), 2);
  const auto st = w.stats();
  EXPECT_EQ(st.dropped_queue_full, 2U);
  EXPECT_GE(st.queue_full, 4U);
}

TEST_F(journal_writer, a_batch_outlives_a_database_failure_that_is_not_the_rows_fault) {
  install_failures(3);
  const auto s = settings();
  const payload_rules rules(s);
  writer w(*db_, s, rules, clock_);  // not started: stop() writes the queue as one batch
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(w.try_enqueue(interface_event(i, "flaky")));
  w.stop();
  // Disk full three times, then room: every event is there, none was dropped.
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events WHERE request_id = 'flaky'"), 20);
  const auto st = w.stats();
  EXPECT_EQ(st.written_interfaccia, 20U);
  EXPECT_EQ(st.dropped_write_error, 0U);
  EXPECT_EQ(st.flush_failures, 3U);
  EXPECT_EQ(st.flushes, 1U) << "written as one batch once the database recovered";
}

TEST_F(journal_writer, past_the_drain_deadline_what_is_left_is_dropped_untried) {
  // Every write fails as with a full disk; the rows of request id `later` count their tries in
  // a sequence, which the failed transactions do not roll back.
  sql("CREATE SEQUENCE test_later_tries");
  sql(R"(CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.request_id = 'later' THEN PERFORM nextval('test_later_tries'); END IF;
              RAISE EXCEPTION 'no space left on device' USING ERRCODE = '53100';
            END $$)");
  sql("CREATE TRIGGER test_disk_full BEFORE INSERT ON journal_events "
      "FOR EACH ROW EXECUTE FUNCTION test_disk_full()");
  auto s = settings();
  s.batch_size = 2;
  const payload_rules rules(s);
  writer w(*db_, s, rules, clock_);  // not started: stop() drains on this thread
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(w.try_enqueue(interface_event(i, "first")));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(w.try_enqueue(interface_event(i, "later")));
  // The first batch is retried until the deadline, then lost; the two batches behind it go at
  // once, without an attempt each against a database that is not taking anything.
  w.stop(200ms);
  const auto st = w.stats();
  EXPECT_EQ(st.dropped_write_error, 6U);
  EXPECT_EQ(st.depth, 0U);
  EXPECT_FALSE(scalar<bool>("SELECT is_called FROM test_later_tries"));
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events"), 0);
}

TEST_F(journal_writer, only_a_refused_row_is_lost_and_the_others_wait_out_a_failing_database) {
  install_failures(2);
  const auto s = settings();
  const payload_rules rules(s);
  writer w(*db_, s, rules, clock_);
  for (const char* rid : {"first", "bad", "flaky", "last"})
    ASSERT_TRUE(w.try_enqueue(interface_event(0, rid)));
  w.stop();
  // The batch is refused for `bad`, and written one by one: `bad` is dropped, while `flaky`,
  // meeting a full disk on the way, waits for room instead of being dropped too.
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events"), 3);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events WHERE request_id = 'bad'"), 0);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events WHERE request_id = 'flaky'"), 1);
  const auto st = w.stats();
  EXPECT_EQ(st.written_interfaccia, 3U);
  EXPECT_EQ(st.dropped_write_error, 1U);
  EXPECT_EQ(st.flush_failures, 3U) << "the batch once, then flaky twice";
}

TEST_F(journal_writer, interfaccia_recording_can_be_turned_off_but_interno_cannot) {
  auto s = settings();
  s.enabled_interfaccia = false;
  const payload_rules rules(s);
  writer w(*db_, s, rules, clock_);
  w.start();
  EXPECT_TRUE(w.try_enqueue(interface_event(0)));
  event lifecycle;
  lifecycle.cat = category::interno;
  lifecycle.type = "daemonStart";
  EXPECT_TRUE(w.try_enqueue(lifecycle));
  w.stop();
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events"), 1);
  EXPECT_EQ(scalar<std::string>("SELECT event_type FROM journal_events"), "daemonStart");
  EXPECT_EQ(w.stats().skipped_disabled, 1U);
}

TEST_F(journal_writer, events_after_stop_are_written_directly) {
  const auto s = settings();
  const payload_rules rules(s);
  writer w(*db_, s, rules, clock_);
  w.start();
  w.stop();
  asio::io_context ioc;
  EXPECT_TRUE(run(ioc, w.enqueue(interface_event(0, "late"), false)));
  EXPECT_TRUE(w.try_enqueue(interface_event(1, "late")));
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events WHERE request_id = 'late'"), 2);
}

TEST_F(journal_writer, the_service_seals_what_both_paths_wrote) {
  auto s = settings();
  service svc(*db_, s, clock_);
  svc.prepare_storage();
  svc.start();
  ASSERT_TRUE(svc.events().try_enqueue(interface_event(0)));
  db_->transact_sync([&](pqxx::work& w) {
    record_internal(w,
                    internal_event("01234567897", std::chrono::duration_cast<std::chrono::seconds>(
                                                      clock_.now().time_since_epoch())
                                                      .count()),
                    svc.rules());
  });
  svc.stop();
  asio::io_context ioc;
  EXPECT_EQ(run(ioc, svc.seal_all()), 2);
  std::string m;
  svc.append_metrics(m);
  EXPECT_NE(m.find("pagohub_journal_events_sealed_total{category=\"INTERNO\"} 1"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("pagohub_journal_events_sealed_total{category=\"INTERFACCIA\"} 1"),
            std::string::npos)
      << m;
}

}  // namespace
}  // namespace pagohub::journal::test
