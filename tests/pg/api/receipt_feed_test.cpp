// The receipts pull feed on a real PostgreSQL: receipts committed out of id order are never
// skipped (8 concurrent writers against a paging reader), the cursor never goes back, and each
// application sees only its scope.
#include <pagohub/pap/receipts.hpp>

#include <support/pg_database.hpp>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "receipt_feed.hpp"

namespace pagohub::api {
namespace {

using namespace std::chrono_literals;

const std::string fc = "01234567897";

bool before(const feed_cursor& a, const feed_cursor& b) {
  return std::tie(a.xid, a.id) < std::tie(b.xid, b.id);
}

pap::receipt_record receipt(const std::string& id) {
  pap::receipt_record r;
  r.entity_fc = fc;
  r.receipt_id = id;
  r.received_at = std::chrono::system_clock::now();
  r.raw_message = "<paSendRT/>";
  r.outcome = "OK";
  r.amount = 100;
  return r;
}

class receipt_feed_pg : public test_support::migrated_pg_test {
 protected:
  void SetUp() override {
    migrated_pg_test::SetUp();
    if (IsSkipped()) return;
  }

  // A position row of `app` in `service`, enough for the feed's scope join.
  std::int64_t position(pqxx::connection& c, const std::string& app, const std::string& ext,
                        const std::string& service) {
    pqxx::work w(c);
    const auto id = w.exec_params(
                         "INSERT INTO positions (entity_fiscal_code, application_id, external_id, "
                         "status, debtor_type, debtor_fiscal_code, debtor_full_name, description, "
                         "service_code, reference_year, due_date, created_at, updated_at) VALUES "
                         "($1, $2, $3, 'VALID', 'F', 'ANONIMO', 'Mario Rossi', 'x', $4, 2026, "
                         "'2026-12-31', now(), now()) RETURNING id",
                         fc, app, ext, service)[0][0]
                        .as<std::int64_t>();
    w.commit();
    return id;
  }

  void stored(pqxx::connection& c, const std::string& receipt_id,
              std::optional<std::int64_t> position_id) {
    pqxx::work w(c);
    pap::receipt_verdict verdict{position_id, position_id.has_value(), std::nullopt, ""};
    if (!position_id) {
      verdict.flagged = pap::anomaly::unknown_position;
      verdict.detail = "no such notice";
    }
    ASSERT_TRUE(pap::insert_receipt(w, receipt(receipt_id), verdict).has_value());
    w.commit();
  }

  // Pages the whole feed from `after`, returning the receipt ids in feed order.
  std::vector<std::string> drain(pqxx::connection& c, const feed_scope& s, feed_cursor after = {},
                                 int limit = 3) {
    std::vector<std::string> out;
    for (;;) {
      pqxx::read_transaction w(c);
      const auto page = read_feed(w, s, after, limit);
      for (const auto& r : page.items) out.push_back(r.receipt_id);
      if (page.items.empty()) return out;
      after = page.next;
    }
  }
};

TEST_F(receipt_feed_pg, cursor_round_trip_and_garbage) {
  const feed_cursor c{123456789012ULL, 42};
  EXPECT_EQ(parse_feed_cursor(format_feed_cursor(c)), c);
  EXPECT_FALSE(parse_feed_cursor(""));
  EXPECT_FALSE(parse_feed_cursor("r1."));
  EXPECT_FALSE(parse_feed_cursor("r1.12"));
  EXPECT_FALSE(parse_feed_cursor("r1.12.-3"));
  EXPECT_FALSE(parse_feed_cursor("r1.x.3"));
  EXPECT_FALSE(parse_feed_cursor("42"));
  EXPECT_FALSE(parse_feed_cursor("r1.1.2.3"));
}

// The case a naive `id > cursor` gets wrong: the lower id commits last.
TEST_F(receipt_feed_pg, a_receipt_committed_after_a_higher_id_is_not_skipped) {
  const feed_scope all{fc, "tributi", {}};
  pqxx::connection slow(conninfo());
  pqxx::connection fast(conninfo());
  pqxx::connection reader(conninfo());
  pqxx::work open(slow);
  ASSERT_TRUE(pap::insert_receipt(open, receipt("LOW")).has_value());  // takes the lower id
  stored(fast, "HIGH", std::nullopt);                                  // commits first

  // While LOW's transaction is open, HIGH is above the horizon: the feed waits for it.
  feed_cursor after;
  {
    pqxx::read_transaction w(reader);
    const auto page = read_feed(w, all, after, 10);
    EXPECT_TRUE(page.items.empty());
    EXPECT_EQ(page.next, after);
  }
  open.commit();
  // Other databases of the test cluster share the horizon: poll until both are out.
  std::vector<std::string> got;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    pqxx::read_transaction w(reader);
    const auto page = read_feed(w, all, after, 10);
    for (const auto& r : page.items) got.push_back(r.receipt_id);
    EXPECT_FALSE(before(page.next, after));
    after = page.next;
    if (got.size() < 2) std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"LOW", "HIGH"}));
}

TEST_F(receipt_feed_pg, each_application_sees_its_scope) {
  pqxx::connection c(conninfo());
  const auto tari = position(c, "tributi", "p1", "TARI");
  const auto imu = position(c, "tributi", "p2", "IMU");
  const auto other = position(c, "scuole", "p3", "MENSA");
  stored(c, "R-TARI", tari);
  stored(c, "R-IMU", imu);
  stored(c, "R-MENSA", other);
  stored(c, "R-ORPHAN", std::nullopt);

  const auto wait_all = [&](const feed_scope& s, std::size_t n) {
    std::vector<std::string> got;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      got = drain(c, s);
      if (got.size() >= n) break;
      std::this_thread::sleep_for(10ms);
    }
    return got;
  };
  EXPECT_EQ(wait_all({fc, "tributi", {}}, 3),
            (std::vector<std::string>{"R-TARI", "R-IMU", "R-ORPHAN"}));
  EXPECT_EQ(wait_all({fc, "tributi", {"TARI"}}, 1), (std::vector<std::string>{"R-TARI"}));
  EXPECT_EQ(wait_all({fc, "scuole", {}}, 2), (std::vector<std::string>{"R-MENSA", "R-ORPHAN"}));
  EXPECT_TRUE(drain(c, {"80012000826", "tributi", {}}).empty());

  pqxx::read_transaction w(c);
  EXPECT_TRUE(find_scoped_receipt(w, {fc, "tributi", {"TARI"}}, "R-TARI"));
  EXPECT_FALSE(find_scoped_receipt(w, {fc, "tributi", {"TARI"}}, "R-IMU"));
  EXPECT_FALSE(find_scoped_receipt(w, {fc, "tributi", {"TARI"}}, "R-ORPHAN"));
  EXPECT_FALSE(find_scoped_receipt(w, {fc, "tributi", {}}, "R-MENSA"));
  EXPECT_TRUE(find_scoped_receipt(w, {fc, "scuole", {}}, "R-ORPHAN"));
}

// A receipt stored held (its position locked) is left out until the job applies it, which
// moves it to the feed's end with its verdict: readers see it once, as applied, and GET by id
// finds it from then on.
TEST_F(receipt_feed_pg, a_held_receipt_is_not_in_the_feed) {
  pqxx::connection c(conninfo());
  const auto tari = position(c, "tributi", "p1", "TARI");
  {
    pqxx::work w(c);
    const pap::receipt_verdict held{std::nullopt, false, pap::anomaly::position_busy, "busy"};
    ASSERT_TRUE(pap::insert_receipt(w, receipt("R-HELD"), held).has_value());
    w.commit();
  }
  stored(c, "R-TARI", tari);
  std::vector<std::string> got;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got.empty() && std::chrono::steady_clock::now() < deadline) {
    got = drain(c, {fc, "tributi", {}});
    if (got.empty()) std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"R-TARI"}));
  // Nor is it found by its id, by any application, until then.
  pqxx::read_transaction w(c);
  EXPECT_FALSE(find_scoped_receipt(w, {fc, "tributi", {}}, "R-HELD"));
  EXPECT_FALSE(find_scoped_receipt(w, {fc, "scuole", {}}, "R-HELD"));
  EXPECT_TRUE(find_scoped_receipt(w, {fc, "tributi", {}}, "R-TARI"));
}

// A cursor is a place the feed handed out to this entity and application, or it is refused:
// read from, one of another entity, of another application's receipt, or ahead of what this
// database has numbered (a database rebuilt from a logical dump or restored to an earlier point)
// would skip receipts committed below it.
TEST_F(receipt_feed_pg, only_a_cursor_the_feed_handed_out_is_known) {
  pqxx::connection c(conninfo());
  const auto tari = position(c, "tributi", "p1", "TARI");
  stored(c, "R-TARI", tari);
  stored(c, "R-ORPHAN", std::nullopt);
  const feed_scope tributi{fc, "tributi", {}};
  std::vector<feed_cursor> places;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  feed_cursor after;
  while (places.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    pqxx::read_transaction w(c);
    const auto page = read_feed(w, tributi, after, 1);
    if (!page.items.empty()) places.push_back(page.next);
    after = page.next;
    if (page.items.empty()) std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(places.size(), 2u);
  const feed_cursor at_tari = places[0], at_orphan = places[1];

  pqxx::read_transaction w(c);
  EXPECT_TRUE(feed_cursor_known(w, tributi, feed_cursor{}));
  EXPECT_TRUE(feed_cursor_known(w, tributi, at_tari));
  EXPECT_TRUE(feed_cursor_known(w, tributi, at_orphan));
  // The grants may change in the configuration; the cursor stays good.
  EXPECT_TRUE(feed_cursor_known(w, {fc, "tributi", {"IMU"}}, at_tari));
  // Another entity's feed, another application's receipt (an orphan belongs to none).
  EXPECT_FALSE(feed_cursor_known(w, {"80012000826", "tributi", {}}, at_tari));
  EXPECT_FALSE(feed_cursor_known(w, {fc, "scuole", {}}, at_tari));
  EXPECT_TRUE(feed_cursor_known(w, {fc, "scuole", {}}, at_orphan));
  // Forged: a real id at another transaction, a real transaction with another id, the far end.
  EXPECT_FALSE(feed_cursor_known(w, tributi, {at_tari.xid + 1, at_tari.id}));
  EXPECT_FALSE(feed_cursor_known(w, tributi, {at_tari.xid, at_tari.id + 1000}));
  EXPECT_FALSE(feed_cursor_known(w, tributi, {~std::uint64_t{0}, at_tari.id}));
}

// After a logical restore the rows keep their feed_xid, but the cluster numbers transactions
// from lower down: a cursor at a restored row is ahead of every receipt stored from then on.
TEST_F(receipt_feed_pg, a_cursor_ahead_of_the_transaction_count_is_not_known) {
  pqxx::connection c(conninfo());
  stored(c, "R-OLD", std::nullopt);
  std::int64_t id = 0;
  std::uint64_t ahead = 0;
  {
    pqxx::work w(c);
    const auto r = w.exec(
        "UPDATE receipts SET feed_xid = (pg_current_xact_id()::text::bigint + 1000000)::text::xid8 "
        "WHERE receipt_id = 'R-OLD' RETURNING id, feed_xid::text");
    id = r[0][0].as<std::int64_t>();
    ahead = std::stoull(r[0][1].c_str());
    w.commit();
  }
  pqxx::read_transaction w(c);
  EXPECT_FALSE(feed_cursor_known(w, {fc, "tributi", {}}, {ahead, id}));
}

// The property: 8 writers commit receipts in overlapping transactions of 1..4 receipts, each
// held open a random while (so ids commit out of order), while a reader pages the feed. The
// reader ends with every committed receipt exactly once, and its cursor never goes back.
TEST_F(receipt_feed_pg, eight_concurrent_writers_never_make_the_reader_skip) {
  constexpr int writers = 8;
  constexpr int per_writer = 60;
  std::atomic<int> done{0};
  std::atomic<int> rolled_back{0};
  std::vector<std::thread> threads;
  std::mutex committed_mutex;
  std::set<std::string> committed;
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 17u);
      pqxx::connection c(conninfo());
      int n = 0;
      while (n < per_writer) {
        const int batch = std::min(per_writer - n, 1 + static_cast<int>(rng() % 4));
        pqxx::work w(c);
        std::vector<std::string> ids;
        for (int i = 0; i < batch; ++i) {
          ids.push_back("W" + std::to_string(t) + "-" + std::to_string(n + i));
          EXPECT_TRUE(pap::insert_receipt(w, receipt(ids.back())).has_value());
          std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
        }
        // One transaction in ten rolls back: its ids are gaps the feed must not wait for.
        if (rng() % 10 == 0) {
          w.abort();
          ++rolled_back;
          for (auto& id : ids) id += "-again";
          pqxx::work again(c);
          for (const auto& id : ids) EXPECT_TRUE(pap::insert_receipt(again, receipt(id)));
          again.commit();
        } else {
          w.commit();
        }
        {
          std::lock_guard lock(committed_mutex);
          committed.insert(ids.begin(), ids.end());
        }
        n += batch;
      }
      ++done;
    });
  }

  pqxx::connection rc(conninfo());
  const feed_scope all{fc, "tributi", {}};
  std::map<std::string, int> seen;
  feed_cursor after;
  int regressions = 0;
  int pages = 0;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  for (;;) {
    feed_page page;
    {
      pqxx::read_transaction w(rc);
      page = read_feed(w, all, after, 5);
    }
    ++pages;
    for (const auto& r : page.items) ++seen[r.receipt_id];
    if (before(page.next, after)) ++regressions;
    after = page.next;
    if (page.items.empty()) {
      if (done == writers && seen.size() >= static_cast<std::size_t>(writers * per_writer)) break;
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(1ms);
    }
  }
  for (auto& th : threads) th.join();

  EXPECT_EQ(regressions, 0);
  EXPECT_EQ(committed.size(), static_cast<std::size_t>(writers * per_writer));
  EXPECT_EQ(seen.size(), committed.size());
  for (const auto& id : committed) EXPECT_EQ(seen[id], 1) << id;
  for (const auto& [id, n] : seen) EXPECT_TRUE(committed.contains(id)) << id << " never committed";
  EXPECT_GT(pages, 10);
  RecordProperty("rolled_back_transactions", rolled_back.load());
}

}  // namespace
}  // namespace pagohub::api
