// The hash chain (include/pagohub/journal/chain.hpp): the sealer links committed events once
// each, in an order concurrent commits cannot disturb, and verify recomputes the chains and
// finds what was changed behind the daemon's back.
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "fixture.hpp"
#include "pagohub/journal/chain.hpp"
#include "pagohub/journal/record.hpp"
#include "pagohub/journal/service.hpp"

namespace pagohub::journal::test {
namespace {

const std::string entity = "01234567897";

class journal_chain : public journal_db {
 protected:
  void SetUp() override {
    journal_db::SetUp();
    if (IsSkipped()) return;
    db_->transact_sync([](pqxx::work& w) { ensure_partitions(w, 2, tp(at(2030, 3, 1))); });
  }

  void record(int n, std::int64_t first_second, bool with_payload = false) {
    db_->transact_sync([&](pqxx::work& w) {
      for (int i = 0; i < n; ++i) {
        auto e = internal_event(entity, first_second + i);
        if (with_payload) e.message = payload{"application/json", {}, R"({"n":1})"};
        record_internal(w, e);
      }
    });
  }

  std::int64_t seal_everything() {
    std::int64_t total = 0;
    for (;;) {
      const auto r = db_->transact_sync([](pqxx::work& w) { return seal(w, 1000); });
      total += r.sealed;
      if (!r.more) return total;
    }
  }

  std::vector<month_report> check(year_month from, year_month to, std::string* text = nullptr) {
    pqxx::connection c(conninfo());
    std::ostringstream out;
    auto reports = verify(c, from, to, out);
    if (text) *text = out.str();
    return reports;
  }

  // What an intruder with the database's superuser password does.
  void tamper(const std::string& statement, const std::string& table = "journal_events_203003") {
    sql("ALTER TABLE " + table + " DISABLE TRIGGER USER; " + statement + "; ALTER TABLE " + table +
        " ENABLE TRIGGER USER");
  }
};

TEST_F(journal_chain, sealed_months_verify_and_new_events_wait_for_the_sealer) {
  record(40, at(2030, 3, 10), true);
  record(5, at(2030, 4, 10));
  EXPECT_EQ(seal_everything(), 45);
  EXPECT_EQ(seal_everything(), 0) << "nothing is sealed twice";
  record(3, at(2030, 3, 20));  // committed, not yet sealed
  std::string text;
  const auto reports = check({2030, 3}, {2030, 4}, &text);
  ASSERT_EQ(reports.size(), 2U);
  EXPECT_TRUE(reports[0].ok) << text;
  EXPECT_EQ(reports[0].chained, 40);
  EXPECT_EQ(reports[0].payloads_checked, 40);
  EXPECT_EQ(reports[0].unsealed, 3);
  EXPECT_TRUE(reports[1].ok) << text;
  EXPECT_EQ(reports[1].chained, 5);
  EXPECT_NE(text.find("2030-03: OK, 40 events chained, 40 payloads checked, 3 not chained yet"),
            std::string::npos)
      << text;
  EXPECT_EQ(seal_everything(), 3);
  EXPECT_EQ(check({2030, 3}, {2030, 3})[0].chained, 43);
  EXPECT_EQ(scalar<int>("SELECT last_seq FROM journal_chain_heads WHERE month = '2030-03-01'"), 43);
}

TEST_F(journal_chain, verify_finds_an_event_edited_behind_the_daemons_back) {
  record(20, at(2030, 3, 10));
  seal_everything();
  const auto victim =
      scalar<std::int64_t>("SELECT id FROM journal_events ORDER BY id OFFSET 7 LIMIT 1");
  tamper("UPDATE journal_events_203003 SET outcome = 'OK' WHERE id = " + std::to_string(victim));
  std::string text;
  const auto reports = check({2030, 3}, {2030, 3}, &text);
  ASSERT_EQ(reports.size(), 1U);
  EXPECT_FALSE(reports[0].ok);
  EXPECT_NE(reports[0].problem.find("link 8 (event " + std::to_string(victim) + ")"),
            std::string::npos)
      << reports[0].problem;
  EXPECT_NE(reports[0].problem.find("hash mismatch"), std::string::npos);
  EXPECT_NE(text.find("2030-03: BROKEN"), std::string::npos) << text;
}

TEST_F(journal_chain, verify_finds_deleted_events_links_and_payloads) {
  record(10, at(2030, 3, 10), true);
  seal_everything();
  const auto third =
      scalar<std::int64_t>("SELECT id FROM journal_events ORDER BY id OFFSET 2 LIMIT 1");
  tamper("DELETE FROM journal_payloads_203003 WHERE event_id = " + std::to_string(third),
         "journal_payloads_203003");
  auto r = check({2030, 3}, {2030, 3});
  EXPECT_FALSE(r[0].ok);
  EXPECT_NE(r[0].problem.find("payload is gone"), std::string::npos) << r[0].problem;

  const auto fourth =
      scalar<std::int64_t>("SELECT id FROM journal_events ORDER BY id OFFSET 3 LIMIT 1");
  tamper("UPDATE journal_payloads_203003 SET headers = 'X: 1' WHERE event_id = " +
             std::to_string(fourth),
         "journal_payloads_203003");
  tamper("DELETE FROM journal_events_203003 WHERE id = " + std::to_string(third));
  r = check({2030, 3}, {2030, 3});
  EXPECT_FALSE(r[0].ok);
  EXPECT_NE(r[0].problem.find("link 3 (event " + std::to_string(third) + "): the event is gone"),
            std::string::npos)
      << r[0].problem;
}

TEST_F(journal_chain, verify_finds_a_chain_cut_short) {
  record(10, at(2030, 3, 10));
  seal_everything();
  tamper("DELETE FROM journal_chain_203003 WHERE seq > 5", "journal_chain_203003");
  const auto r = check({2030, 3}, {2030, 3});
  EXPECT_FALSE(r[0].ok);
  EXPECT_NE(r[0].problem.find("links were removed"), std::string::npos) << r[0].problem;
}

TEST_F(journal_chain, an_event_sealed_twice_is_reported) {
  record(5, at(2030, 3, 10));
  seal_everything();
  // The sealer's watermark put back: it chains the same events again, with valid hashes.
  tamper("UPDATE journal_seal_state SET sealed_txid = 0, sealed_id = 0", "journal_seal_state");
  seal_everything();
  const auto first =
      scalar<std::int64_t>("SELECT event_id FROM journal_chain_203003 WHERE seq = 1");
  const auto r = check({2030, 3}, {2030, 3});
  EXPECT_FALSE(r[0].ok);
  EXPECT_NE(
      r[0].problem.find("event " + std::to_string(first) + " is chained twice (links 1 and 6)"),
      std::string::npos)
      << r[0].problem;
}

TEST_F(journal_chain, an_event_slipped_in_behind_the_sealer_is_reported) {
  record(5, at(2030, 3, 10));
  seal_everything();
  // A row forged with an old transaction id looks already passed by the sealer.
  tamper(
      "INSERT INTO journal_events (event_time, component, category, event_type, event_subtype, "
      "caller_id, provider_id, actor_kind, actor_id, interface, txid) VALUES ('2030-03-11', 'x', "
      "'INTERNO', 'forged', 'x', 'x', 'x', 'system', 'x', 'internal', 1)");
  const auto r = check({2030, 3}, {2030, 3});
  EXPECT_FALSE(r[0].ok);
  EXPECT_NE(r[0].problem.find("inserted behind its back"), std::string::npos) << r[0].problem;
}

TEST_F(journal_chain, concurrent_writers_and_sealers_give_one_consistent_chain) {
  // Transactions of different lengths commit out of their insertion order while sealers run.
  constexpr int writers = 4;
  constexpr int per_writer = 60;
  std::atomic<bool> writing{true};
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      pqxx::connection c(conninfo());
      for (int i = 0; i < per_writer; ++i) {
        pqxx::work w(c);
        record_internal(w, internal_event(entity, at(2030, 3, 10) + t * 1000 + i));
        if ((i + t) % 3 == 0) record_internal(w, internal_event(entity, at(2030, 4, 10) + i));
        if (i % 7 == 0) w.exec("SELECT pg_sleep(0.01)");
        w.commit();
      }
    });
  }
  std::thread sealer([&] {
    while (writing) {
      db_->transact_sync([](pqxx::work& w) { seal(w, 50); });
    }
  });
  std::thread sealer2([&] {
    while (writing) {
      db_->transact_sync([](pqxx::work& w) { seal(w, 7); });
    }
  });
  for (auto& t : threads) t.join();
  writing = false;
  sealer.join();
  sealer2.join();
  seal_everything();
  const auto total = scalar<int>("SELECT count(*) FROM journal_events");
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal_chain"), total);
  EXPECT_EQ(scalar<int>("SELECT count(DISTINCT event_id) FROM journal_chain"), total);
  std::string text;
  const auto r = check({2030, 3}, {2030, 4}, &text);
  EXPECT_TRUE(r[0].ok && r[1].ok) << text;
  EXPECT_EQ(r[0].chained + r[1].chained, total);
}

TEST_F(journal_chain, the_command_line_reports_ok_broken_and_bad_usage) {
  record(3, at(2030, 3, 10));
  seal_everything();
  std::ostringstream out, err;
  EXPECT_EQ(run_command(conninfo(), {"verify", "--from", "2030-03", "--to", "2030-04"}, out, err),
            0)
      << out.str() << err.str();
  EXPECT_NE(out.str().find("journal verify: OK"), std::string::npos) << out.str();
  EXPECT_EQ(run_command(conninfo(), {"verify", "--from", "2030-3"}, out, err), 2);
  EXPECT_EQ(run_command(conninfo(), {"verify", "--from", "2030-04", "--to", "2030-03"}, out, err),
            2);
  EXPECT_EQ(run_command(conninfo(), {"verify"}, out, err), 2);
  EXPECT_EQ(run_command(conninfo(), {"check"}, out, err), 2);
  tamper("UPDATE journal_events_203003 SET actor_id = 'someone else'");
  std::ostringstream broken;
  EXPECT_EQ(run_command(conninfo(), {"verify", "--from", "2030-03"}, broken, err), 1);
  EXPECT_NE(broken.str().find("BROKEN"), std::string::npos) << broken.str();
}

}  // namespace
}  // namespace pagohub::journal::test

namespace pagohub::journal::test {
namespace {

// sql/0021: the sealer summarizes the pages added since its last run into the transaction-id
// BRIN index, so that its slices read only the ranges they need.
TEST_F(journal_chain, the_sealers_index_is_summarized_before_it_reads) {
  // Past the first range of 128 pages, which the index summarizes from its creation.
  sql("INSERT INTO journal_events (event_time, entity_fc, component, category, event_type, "
      "event_subtype, caller_id, provider_id, actor_kind, actor_id, interface) "
      "SELECT '2030-03-10'::timestamptz + g * interval '1 second', '01234567897', 'test', "
      "'INTERNO', 'bulk', 'x', 'pagohubd', 'pagohubd', 'system', 'test', 'internal' "
      "FROM generate_series(1, 20000) g");
  EXPECT_GE(scalar<long long>("SELECT journal_summarize_txid()"), 1);
  EXPECT_EQ(scalar<long long>("SELECT journal_summarize_txid()"), 0) << "nothing new";
  record(5, at(2030, 3, 11));
  // Summarized ranges take later inserts into their summary: the sealer still finds them.
  EXPECT_EQ(seal_everything(), 20005);
  // A role that owns nothing may call it (SECURITY DEFINER).
  EXPECT_EQ(scalar<std::string>("SELECT prosecdef::text FROM pg_proc "
                                "WHERE proname = 'journal_summarize_txid'"),
            "true");
}

}  // namespace
}  // namespace pagohub::journal::test

namespace pagohub::journal::test {
namespace {

// The span a seal() call hands to the next one follows the events per transaction it met.
TEST_F(journal_chain, the_next_first_slice_follows_the_load) {
  for (int i = 0; i < 20; ++i) record(1, at(2030, 3, 10) + i);  // one event per transaction
  const auto thin = db_->transact_sync([](pqxx::work& w) { return seal(w, 1000); });
  EXPECT_EQ(thin.sealed, 20);
  EXPECT_GT(thin.next_span, 16);
  EXPECT_LE(thin.next_span, 4096);
  record(400, at(2030, 3, 11));  // one transaction, many events
  const auto fat = db_->transact_sync([](pqxx::work& w) { return seal(w, 1000, 4096); });
  EXPECT_EQ(fat.sealed, 400);
  EXPECT_EQ(fat.next_span, 16) << "a slice of 4096 such transactions would be a big sort";
}

}  // namespace
}  // namespace pagohub::journal::test
