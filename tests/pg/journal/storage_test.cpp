// Storage rules of the journal (sql/0007_journal.sql): an INTERNO event commits or rolls back
// with its transaction; rows are append-only; monthly partitions are created ahead and dropped
// by retention, payloads before events.
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <thread>

#include "fixture.hpp"
#include "pagohub/core/clock.hpp"
#include "pagohub/journal/chain.hpp"
#include "pagohub/journal/record.hpp"
#include "pagohub/journal/service.hpp"
#include "storage.hpp"

namespace pagohub::journal::test {
namespace {

class journal_storage : public journal_db {};

const std::string entity = "01234567897";

TEST_F(journal_storage, an_internal_event_rolls_back_with_its_transaction) {
  // The state change fails after the event was recorded: neither stays.
  EXPECT_THROW(db_->transact_sync([](pqxx::work& w) {
    w.exec0("CREATE TABLE state (v integer)");
    w.exec0("INSERT INTO state VALUES (1)");
    record_internal(w, internal_event(entity, at(2030, 3, 15), "rolledBack"));
    throw std::runtime_error("the state change fails");
  }),
               std::runtime_error);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events"), 0);

  const auto id = db_->transact_sync([](pqxx::work& w) {
    auto e = internal_event(entity, at(2030, 3, 15), "committed");
    e.notice_number = "301000000000000144";
    e.request_id = "rid-7";
    e.by = {"application", "tari-bo"};
    e.message = payload{"application/json", {}, R"({"password":"p","a":1})"};
    return record_internal(w, e);
  });
  const auto row =
      sql("SELECT event_type, category, entity_fc, notice_number, iuv, request_id, actor_kind, "
          "actor_id, interface, payload_sha256 IS NOT NULL, event_time = '2030-03-15 12:00:00+00' "
          "FROM journal_events WHERE id = " +
          std::to_string(id));
  ASSERT_EQ(row.size(), 1U);
  EXPECT_EQ(row[0][0].as<std::string>(), "committed");
  EXPECT_EQ(row[0][1].as<std::string>(), "INTERNO");
  EXPECT_EQ(row[0][2].as<std::string>(), entity);
  EXPECT_EQ(row[0][3].as<std::string>(), "301000000000000144");
  EXPECT_EQ(row[0][4].as<std::string>(), "01000000000000144");
  EXPECT_EQ(row[0][5].as<std::string>(), "rid-7");
  EXPECT_EQ(row[0][6].as<std::string>(), "application");
  EXPECT_EQ(row[0][7].as<std::string>(), "tari-bo");
  EXPECT_EQ(row[0][8].as<std::string>(), "internal");
  EXPECT_TRUE(row[0][9].as<bool>()) << "internal payloads are kept by default";
  EXPECT_TRUE(row[0][10].as<bool>());
  EXPECT_EQ(
      scalar<int>("SELECT count(*) FROM journal_payloads WHERE event_id = " + std::to_string(id)),
      1);
}

TEST_F(journal_storage, many_events_in_one_copy_share_the_transaction) {
  std::vector<event> events;
  for (int i = 0; i < 300; ++i) events.push_back(internal_event(entity, at(2030, 3, 15) + i));
  EXPECT_THROW(db_->transact_sync([&](pqxx::work& w) {
    record_internal_many(w, events);
    throw std::runtime_error("no");
  }),
               std::runtime_error);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events"), 0);
  const auto ids =
      db_->transact_sync([&](pqxx::work& w) { return record_internal_many(w, events); });
  ASSERT_EQ(ids.size(), 300U);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events"), 300);
}

// What the writer does when a COMMIT's answer is lost (a broken connection at that moment):
// it cannot tell whether its batch was written, and tries again with the same rows.
TEST_F(journal_storage, a_batch_tried_again_after_a_commit_in_doubt_is_written_once) {
  const auto batch = [](const std::string& type) {
    std::vector<detail::prepared_event> rows;
    for (int i = 0; i < 5; ++i) {
      auto e = internal_event(entity, at(2030, 3, 15) + i, type);
      e.message = payload{"application/json", {}, R"({"a":1})"};
      detail::prepared_event p;
      p.payload = payload_rules::defaults().prepare(e);
      p.row = detail::normalise(e, std::chrono::system_clock::now(), p.payload);
      rows.push_back(std::move(p));
    }
    return rows;
  };
  auto written = batch("inDoubt");
  EXPECT_TRUE(db_->transact_sync([&](pqxx::work& w) { return detail::write_batch(w, written); }));
  EXPECT_FALSE(db_->transact_sync([&](pqxx::work& w) { return detail::write_batch(w, written); }));
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events WHERE event_type = 'inDoubt'"), 5);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_payloads"), 5);

  // An attempt that failed before its commit drew ids and wrote nothing: the next one writes
  // the batch, under those ids.
  auto lost = batch("failedFirst");
  EXPECT_THROW(db_->transact_sync([&](pqxx::work& w) {
    detail::write_batch(w, lost);
    throw std::runtime_error("the connection breaks before the COMMIT");
  }),
               std::runtime_error);
  const auto first_id = lost.front().row.id;
  ASSERT_NE(first_id, 0);
  EXPECT_TRUE(db_->transact_sync([&](pqxx::work& w) { return detail::write_batch(w, lost); }));
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events WHERE event_type = 'failedFirst' "
                        "AND id >= " +
                        std::to_string(first_id)),
            5);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_payloads"), 10);

  // The first attempt is still committing when the next one looks: the look misses it, the
  // next COPY waits on its keys and collides with them once it commits. The writer takes that
  // collision for "the batch is there" (writer.cpp) and looks again, which finds it.
  auto slow = batch("slowCommit");
  pqxx::connection first(conninfo());
  pqxx::work committing(first);
  ASSERT_TRUE(detail::write_batch(committing, slow));
  auto again = slow;  // the same rows, the same ids
  std::thread retry([&] {
    pqxx::connection second(conninfo());
    pqxx::work w(second);
    EXPECT_THROW(detail::write_batch(w, again), pqxx::unique_violation);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  committing.commit();
  retry.join();
  EXPECT_FALSE(db_->transact_sync([&](pqxx::work& w) { return detail::write_batch(w, again); }));
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events WHERE event_type = 'slowCommit'"), 5);
}

TEST_F(journal_storage, rows_cannot_be_updated_deleted_or_truncated) {
  db_->transact_sync([](pqxx::work& w) {
    ensure_partitions(w, 0, tp(at(2030, 3, 1)));
    auto e = internal_event(entity, at(2030, 3, 15));
    e.interface = interface_kind::internal;
    e.message = payload{"application/json", {}, "{}"};
    record_internal(w, e);
  });
  db_->transact_sync([](pqxx::work& w) { seal(w); });
  for (const char* statement :
       {"UPDATE journal_events SET outcome = 'KO'", "DELETE FROM journal_events",
        "TRUNCATE journal_events", "UPDATE journal_events_203003 SET outcome = 'KO'",
        "DELETE FROM journal_events_203003", "TRUNCATE journal_events_203003",
        "TRUNCATE journal_events_default", "UPDATE journal_payloads SET headers = 'x'",
        "DELETE FROM journal_payloads_203003", "TRUNCATE journal_payloads_203003",
        "DELETE FROM journal_chain", "TRUNCATE journal_chain_203003"}) {
    try {
      sql(statement);
      ADD_FAILURE() << statement << " was allowed";
    } catch (const pqxx::insufficient_privilege& e) {
      EXPECT_NE(std::string(e.what()).find("append-only"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events"), 1);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_payloads"), 1);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_chain"), 1);
}

TEST_F(journal_storage, partitions_are_created_ahead_and_dropped_by_retention) {
  // Months 2029-01 .. 2030-06 exist, each with an event and a payload.
  db_->transact_sync([](pqxx::work& w) {
    EXPECT_EQ(ensure_partitions(w, 17, tp(at(2029, 1, 10))), 18 * 3);
    EXPECT_EQ(ensure_partitions(w, 17, tp(at(2029, 1, 10))), 0) << "idempotent";
    for (int i = 0; i < 18; ++i) {
      auto e = internal_event(entity, at(2029 + i / 12, static_cast<unsigned>(i % 12 + 1), 5));
      e.message = payload{"application/json", {}, "{}"};
      record_internal(w, e);
    }
  });
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events_default"), 0);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events_202901"), 1);
  db_->transact_sync([](pqxx::work& w) { seal(w); });

  // In 2030-06, keeping 12 months of events and 3 of payloads.
  const auto dropped = db_->transact_sync(
      [](pqxx::work& w) { return apply_retention(w, 12, 3, tp(at(2030, 6, 20))); });
  // Events and chain: months before 2029-06; payloads: before 2030-03. (The months the
  // migration created, around today, are older still and go too; they are not counted.)
  const auto count = [&dropped](const std::string& table) {
    return std::count_if(dropped.begin(), dropped.end(), [&table](const std::string& t) {
      return t.starts_with(table + "_2029") || t.starts_with(table + "_2030");
    });
  };
  EXPECT_EQ(count("journal_events"), 5);
  EXPECT_EQ(count("journal_chain"), 5);
  EXPECT_EQ(count("journal_payloads"), 14);
  EXPECT_EQ(scalar<std::string>("SELECT min(event_time)::date::text FROM journal_events"),
            "2029-06-05");
  EXPECT_EQ(scalar<std::string>("SELECT min(event_time)::date::text FROM journal_payloads"),
            "2030-03-05");
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_chain_heads WHERE month < '2029-06-01'"), 0);
  EXPECT_TRUE(scalar<bool>("SELECT to_regclass('journal_events_202906') IS NOT NULL"));
  EXPECT_TRUE(scalar<bool>("SELECT to_regclass('journal_events_202905') IS NULL"));
  // Retention refuses payloads outliving events.
  EXPECT_THROW(
      db_->transact_sync([](pqxx::work& w) { apply_retention(w, 3, 4, tp(at(2030, 6, 20))); }),
      pqxx::sql_error);
}

TEST_F(journal_storage, retention_counts_from_the_database_clock_not_the_daemons) {
  // This daemon's clock is 15 months ahead: by it, every payload of this month and the last
  // ones would be past a 13-month retention.
  core::fixed_clock ahead(std::chrono::system_clock::now() + std::chrono::days(15 * 31));
  config::journal_settings s;
  s.retention_months = 13;
  s.payload_retention_months = 13;
  service svc(*db_, s, ahead);
  db_->transact_sync([](pqxx::work& w) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto e = internal_event(entity, now);
    e.message = payload{"application/json", {}, "{}"};
    record_internal(w, e);
  });
  boost::asio::io_context ioc;
  const auto dropped = run(ioc, svc.apply_retention_now());
  ASSERT_TRUE(dropped.has_value()) << dropped.error().message;
  EXPECT_EQ(*dropped, "dropped 0 partitions");
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_payloads"), 1);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events"), 1);
}

TEST_F(journal_storage, events_of_a_month_without_partition_wait_in_the_default_one) {
  // Far in the future: no partition yet, the event must still be recorded.
  db_->transact_sync([](pqxx::work& w) {
    record_internal(w, internal_event(entity, at(2041, 7, 2)));
    record_internal(w, internal_event(entity, at(2041, 8, 2)));
  });
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events_default"), 2);
  db_->transact_sync([](pqxx::work& w) { seal(w); });
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_chain_default"), 2);
  // Creating the month moves its rows out of the default partition, chain included.
  db_->transact_sync([](pqxx::work& w) { ensure_partitions(w, 0, tp(at(2041, 7, 1))); });
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events_204107"), 1);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events_default"), 1);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_chain_204107"), 1);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events"), 2);
  // And the defaults are still append-only.
  EXPECT_THROW(sql("DELETE FROM journal_events_default"), pqxx::insufficient_privilege);
  EXPECT_THROW(sql("TRUNCATE journal_events_default"), pqxx::insufficient_privilege);
}

TEST_F(journal_storage, maintenance_gives_way_to_a_long_transaction_instead_of_stalling_writes) {
  using namespace std::chrono_literals;
  // A month with no partition yet, so the job has a table to create, and one long past
  // retention (counted from the database's clock), so that it has one to drop.
  db_->transact_sync([](pqxx::work& w) { ensure_partitions(w, 0, tp(at(2001, 1, 10))); });
  core::fixed_clock clock(tp(at(2043, 2, 10)));
  config::journal_settings s;
  s.months_ahead = 0;
  service svc(*db_, s, clock);
  boost::asio::io_context ioc;

  // A long reader of the journal (a verify, an export) holds a lock that creating or dropping
  // a partition must wait for; while it waited, every insert would queue behind it.
  pqxx::connection reader(conninfo());
  pqxx::work long_read(reader);
  long_read.exec("LOCK TABLE journal_events IN ACCESS SHARE MODE");
  const auto started = std::chrono::steady_clock::now();
  const auto created = run(ioc, svc.maintain_partitions());
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, core::errc::unavailable);
  EXPECT_NE(created.error().message.find("next run"), std::string::npos) << created.error().message;
  const auto dropped = run(ioc, svc.apply_retention_now());
  ASSERT_FALSE(dropped.has_value()) << *dropped;
  EXPECT_EQ(dropped.error().code, core::errc::unavailable);
  // Each gave up after the lock timeout, long before the statement timeout (30 s).
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4 * maintenance_lock_timeout + 5s);
  // prepare_storage() at start does not stop the daemon for it either.
  EXPECT_NO_THROW(svc.prepare_storage());
  EXPECT_TRUE(scalar<bool>("SELECT to_regclass('journal_events_204302') IS NULL"));
  // Events are still recorded meanwhile.
  db_->transact_sync(
      [](pqxx::work& w) { record_internal(w, internal_event(entity, at(2043, 2, 11))); });
  long_read.abort();

  // The next run finds the table free.
  const auto later = run(ioc, svc.maintain_partitions());
  ASSERT_TRUE(later.has_value()) << later.error().message;
  EXPECT_EQ(*later, "created 3 partitions");
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_events_204302"), 1);
  const auto retention = run(ioc, svc.apply_retention_now());
  ASSERT_TRUE(retention.has_value()) << retention.error().message;
  EXPECT_TRUE(retention->starts_with("dropped 3 partitions")) << *retention;
}

}  // namespace
}  // namespace pagohub::journal::test
