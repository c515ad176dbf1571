// Notice-number allocation: SQL and C++ formatters agree, sequences appear on demand, and
// concurrent loaders never get the same number (issue 3: 8 loaders, no duplicate).
#include <pagohub/core/notice_number.hpp>
#include <pagohub/positions/notice_numbers.hpp>
#include <pagohub/positions/validation.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "pg/positions/positions_fixture.hpp"

namespace pagohub::positions::testing {
namespace {

class notice_allocation : public positions_pg {};

TEST_F(notice_allocation, sql_formatter_matches_the_cpp_one) {
  pqxx::work w(conn());
  // DIGEST §5 worked example.
  EXPECT_EQ(w.exec1("SELECT pagohub_make_notice(3, 1, 1)")[0].as<std::string>(),
            "301000000000000144");
  EXPECT_EQ(w.exec1("SELECT pagohub_notice_iuv('301000000000000144')")[0].as<std::string>(),
            "01000000000000144");
  for (std::uint64_t p : {0ULL, 1ULL, 93ULL, 4242ULL, 9999999999999ULL}) {
    const auto sql3 =
        w.exec_params1("SELECT pagohub_make_notice(3, 1, $1)", static_cast<std::int64_t>(p))[0]
            .as<std::string>();
    EXPECT_EQ(sql3, format_notice_number(own_entity(), p).str());
    const auto sql0 =
        w.exec_params1("SELECT pagohub_make_notice(0, 12, $1)", static_cast<std::int64_t>(p))[0]
            .as<std::string>();
    EXPECT_EQ(sql0, format_notice_number(aux0_entity(), p).str());
    EXPECT_EQ(w.exec_params1("SELECT pagohub_notice_iuv($1)", sql0)[0].as<std::string>(),
              core::notice_number::parse(sql0)->iuv());
  }
  // Out of range: NULL, never a truncated number.
  EXPECT_TRUE(w.exec1("SELECT pagohub_make_notice(3, 1, 10000000000000)")[0].is_null());
  EXPECT_TRUE(w.exec1("SELECT pagohub_make_notice(3, 100, 1)")[0].is_null());
  EXPECT_TRUE(w.exec1("SELECT pagohub_make_notice(2, 1, 1)")[0].is_null());
}

TEST_F(notice_allocation, sequences_are_created_on_demand_per_entity) {
  const auto a = tx([&](pqxx::work& w) { return allocate_notice_numbers(w, own_entity(), 3); });
  const auto b = tx([&](pqxx::work& w) { return allocate_notice_numbers(w, other_entity(), 2); });
  ASSERT_EQ(a.size(), 3U);
  ASSERT_EQ(b.size(), 2U);
  EXPECT_EQ(a[0].str(), "301000000000000144");  // progressive 1 of entity 01234567897
  EXPECT_EQ(b[0].str(), format_notice_number(other_entity(), 1).str());
  EXPECT_EQ(count("SELECT last_value FROM notice_seq_01234567897"), 3);
  EXPECT_EQ(count("SELECT last_value FROM notice_seq_12345678903"), 2);
  tx([&](pqxx::work& w) { ensure_notice_sequence(w, own_fc); });  // idempotent
  EXPECT_EQ(count("SELECT count(*) FROM pg_class WHERE relname LIKE 'notice_seq_%'"), 2);
  // A rolled-back allocation leaves a gap, never a reuse.
  {
    pqxx::work w(conn());
    allocate_notice_numbers(w, own_entity(), 10);
  }
  const auto c = tx([&](pqxx::work& w) { return allocate_notice_numbers(w, own_entity(), 1); });
  EXPECT_EQ(c[0].str(), format_notice_number(own_entity(), 14).str());
}

TEST_F(notice_allocation, the_sequence_function_refuses_a_bad_entity_code) {
  pqxx::work w(conn());
  EXPECT_THROW(w.exec("SELECT pagohub_notice_sequence('1; DROP TABLE positions')"),
               pqxx::sql_error);
}

TEST_F(notice_allocation, concurrent_first_use_creates_one_sequence) {
  // Eight loaders start at once on an entity that has never had a number.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      try {
        pqxx::connection c(conninfo());
        pqxx::work w(c);
        allocate_notice_numbers(w, other_entity(), 5);
        w.commit();
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(count("SELECT last_value FROM notice_seq_12345678903"), 40);
}

TEST_F(notice_allocation, eight_loaders_ten_thousand_each_no_duplicate) {
  constexpr int loaders = 8;
  constexpr int per_loader = 10000;
  constexpr int batch = 500;
  const config::entity e = own_entity();
  tx([&](pqxx::work& w) { ensure_notice_sequence(w, own_fc); });

  std::mutex mutex;
  std::vector<std::string> all;
  all.reserve(loaders * per_loader);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < loaders; ++t) {
    threads.emplace_back([&] {
      try {
        pqxx::connection c(conninfo());  // each loader its own connection and transactions
        std::vector<std::string> mine;
        for (int done = 0; done < per_loader; done += batch) {
          pqxx::work w(c);
          for (const auto& n : allocate_notice_numbers(w, e, batch)) mine.push_back(n.str());
          w.commit();
        }
        const std::lock_guard lock(mutex);
        all.insert(all.end(), mine.begin(), mine.end());
      } catch (const std::exception& ex) {
        ADD_FAILURE() << ex.what();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(loaders * per_loader));
  const std::set<std::string> unique(all.begin(), all.end());
  EXPECT_EQ(unique.size(), all.size()) << "duplicate notice numbers";
  std::size_t bad = 0;
  for (const auto& n : all) {
    const auto parsed = core::notice_number::parse(n);
    if (!parsed || !in_notice_space(e, *parsed) || parsed->iuv().size() != 17) ++bad;
  }
  EXPECT_EQ(bad, 0U) << "notice numbers with wrong check digits or outside the entity's space";
}

TEST_F(notice_allocation, concurrent_creates_store_distinct_numbers) {
  // The full path: 8 loaders creating positions at once, numbers allocated by upsert.
  constexpr int loaders = 8;
  constexpr int per_loader = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < loaders; ++t) {
    threads.emplace_back([&, t] {
      try {
        pqxx::connection c(conninfo());
        for (int i = 0; i < per_loader; ++i) {
          pqxx::work w(c);
          const auto r = upsert(w, own_entity(), "tari-bo",
                                plan_position("L" + std::to_string(t) + "-" + std::to_string(i)),
                                app_actor(), test_now());
          if (!r) ++failures;
          w.commit();
        }
      } catch (const std::exception& ex) {
        ADD_FAILURE() << ex.what();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options"), loaders * per_loader * 4);
  EXPECT_EQ(count("SELECT count(DISTINCT notice_number) FROM payment_options"),
            loaders * per_loader * 4);
}

TEST_F(notice_allocation, racing_creates_of_one_external_id_make_one_position) {
  // Eight requests PUT the same external id at once: one creates, the others replace.
  std::atomic<int> created{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      try {
        pqxx::connection c(conninfo());
        pqxx::work w(c);
        const auto r =
            upsert(w, own_entity(), "tari-bo", plan_position("RACE"), app_actor(), test_now());
        w.commit();
        if (!r) ++failures;
        if (r && r->created) ++created;
      } catch (const std::exception& ex) {
        ADD_FAILURE() << ex.what();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(count("SELECT count(*) FROM positions"), 1);
  EXPECT_EQ(count("SELECT version FROM positions"), 8);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options"), 4);
}

TEST_F(notice_allocation, the_documented_bulk_sql_path_makes_valid_positions) {
  // docs/positions.md "In SQL, for bulk loads": staging rows become positions, options and
  // transfers in three set-based statements; the store then reads them like any other.
  constexpr int rows = 2000;
  {
    pqxx::work w(conn());
    w.exec("SELECT pagohub_notice_sequence('01234567897')");
    w.commit();
  }
  pqxx::work w(conn());
  w.exec_params(
      "CREATE TEMP TABLE staging AS SELECT 'BULK-' || g AS external_id, "
      "  CASE WHEN g % 100 = 0 THEN pagohub_make_notice(3, 1, 5000000 + g) END AS notice_number, "
      "  12000::bigint AS amount, DATE '2025-06-30' AS due_date FROM generate_series(1, $1) g",
      rows);
  w.exec(
      "INSERT INTO positions (entity_fiscal_code, application_id, external_id, status, "
      "  debtor_type, debtor_fiscal_code, debtor_full_name, description, service_code, "
      "  reference_year, due_date, created_at, updated_at) "
      "SELECT '01234567897', 'bulk', external_id, 'DRAFT', 'F', 'RSSMRA80A01H501U', "
      "  'Mario Rossi', 'TARI 2025', 'TARI', 2025, due_date, now(), now() FROM staging");
  w.exec(
      "INSERT INTO payment_options (entity_fiscal_code, position_id, ordinal, kind, instalment, "
      "  notice_number, iuv, amount, due_date, description) "
      "SELECT p.entity_fiscal_code, p.id, 0, 'SINGLE', 0, x.n, pagohub_notice_iuv(x.n), "
      "  s.amount, s.due_date, 'Rata unica' "
      "FROM staging s JOIN positions p ON p.entity_fiscal_code = '01234567897' "
      "  AND p.application_id = 'bulk' AND p.external_id = s.external_id, "
      "LATERAL (SELECT coalesce(s.notice_number, "
      "  pagohub_make_notice(3, 1, nextval('notice_seq_01234567897'))) AS n) x");
  w.exec(
      "INSERT INTO transfers (entity_fiscal_code, option_id, transfer_index, "
      "  beneficiary_fiscal_code, amount, iban, remittance_information, taxonomy) "
      "SELECT o.entity_fiscal_code, o.id, 1, o.entity_fiscal_code, o.amount, "
      "  'IT97U0503411701000000001234', 'TARI 2025', '9/0101002IM/' FROM payment_options o");
  w.commit();

  EXPECT_EQ(count("SELECT count(DISTINCT notice_number) FROM payment_options"), rows);
  const auto p =
      tx([&](pqxx::work& t) { return find_by_external_id(t, own_fc, "bulk", "BULK-7"); });
  ASSERT_TRUE(p.has_value());
  ASSERT_EQ(p->options.size(), 1U);
  EXPECT_TRUE(core::notice_number::parse(p->options[0].notice_number).has_value());
  // The loaded position passes the same rules as one made through the REST API.
  position again = *p;
  normalize(again, own_entity());
  const auto reg = registry();
  const auto errors = validate(again, validation_context{own_entity(), reg, today(), true});
  EXPECT_TRUE(errors.empty()) << errors.front().path << " " << errors.front().message;
  // Numbers allocated afterwards continue the same sequence.
  const auto next = tx([&](pqxx::work& t) { return allocate_notice_numbers(t, own_entity(), 1); });
  EXPECT_EQ(next[0].str(), format_notice_number(own_entity(), rows - rows / 100 + 1).str());
}

}  // namespace
}  // namespace pagohub::positions::testing
