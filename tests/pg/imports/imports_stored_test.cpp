// Bulk imports of positions already stored (issue 3 "Bulk loads"): replacements and
// cancellations obey what positions::upsert and cancel obey (paid, cancelled, expired, a
// 2018-model payment in progress, services not granted).
#include <pagohub/db/sql_time.hpp>
#include <pagohub/positions/notice_numbers.hpp>

#include <set>

#include "imports_fixture.hpp"

namespace pagohub::imports {
namespace {

using namespace testing;
namespace t = positions::testing;
using ::testing::HasSubstr;

TEST_F(imports_pg, due_date_in_the_past_only_for_new_positions) {
  // An existing position may keep a past due date; a new one may not (issue 3).
  store(t::single_position("OLD"), t::own_entity(), app_id);
  clock_.advance(std::chrono::hours(24 * 400));  // now 2026-04
  const auto id = queue(
      "externalId,debtorType,debtorFiscalCode,debtorFullName,description,serviceCode,"
      "referenceYear,amount,dueDate\n"
      "OLD,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2025-12-31\n"
      "NEW,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2025-12-31\n",
      file_format::csv, load_mode::valid_rows);
  process();
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].outcome, "UPDATED");
  EXPECT_EQ(lines[1].outcome, "REJECTED");
  EXPECT_EQ(lines[1].code, "in_past");
  EXPECT_EQ(lines[1].path, "/dueDate");
}

TEST_F(imports_pg, an_expired_position_stays_expired_unless_its_due_date_moves_ahead) {
  // As a REST replacement: re-sent with its old dates, an expired position would be payable
  // until the next sweep, whose second expiry no back-office would hear of.
  store(t::single_position("STALE"), t::own_entity(), app_id);
  store(t::single_position("MOVED"), t::own_entity(), app_id);
  tx([&](pqxx::work& w) {
    return w.exec("UPDATE positions SET status = 'EXPIRED'").affected_rows();
  });
  clock_.advance(std::chrono::hours(24 * 400));  // now 2026-04
  const auto id = queue(
      "externalId,debtorType,debtorFiscalCode,debtorFullName,description,serviceCode,"
      "referenceYear,amount,dueDate\n"
      "STALE,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2025-12-31\n"
      "MOVED,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2026-12-31\n");
  process();
  EXPECT_EQ(record(id).positions_updated, 2);
  EXPECT_EQ(fetch("STALE", t::own_fc, app_id)->status, positions::position_status::expired);
  EXPECT_EQ(fetch("MOVED", t::own_fc, app_id)->status, positions::position_status::valid);
}

TEST_F(imports_pg, replace_keeps_notice_numbers_and_cancel_cancels) {
  const auto first = queue(csv_rows(3));
  process();
  ASSERT_EQ(record(first).state, import_state::done);
  const auto before = fetch("A1", t::own_fc, app_id).value();
  const auto id = queue(
      "operation,externalId,debtorType,debtorFiscalCode,debtorFullName,description,serviceCode,"
      "referenceYear,amount,dueDate\n"
      "UPSERT,A1,F,RSSMRA80A01H501U,Mario Rossi,TARI corretta,TARI,2025,9900,2025-12-31\n"
      "CANCEL,A2,,,,,,,,\n"
      "CANCEL,NOPE,,,,,,,,\n",
      file_format::csv, load_mode::valid_rows);
  process();
  const auto r = record(id);
  EXPECT_EQ(r.state, import_state::done);
  EXPECT_EQ(r.positions_updated, 1);
  EXPECT_EQ(r.positions_cancelled, 1);
  const auto after = fetch("A1", t::own_fc, app_id).value();
  EXPECT_EQ(after.description, "TARI corretta");
  EXPECT_EQ(after.options[0].amount, 9900);
  EXPECT_EQ(after.options[0].notice_number, before.options[0].notice_number);
  EXPECT_EQ(after.version, before.version + 1);
  EXPECT_EQ(fetch("A2", t::own_fc, app_id)->status, positions::position_status::cancelled);
  EXPECT_EQ(count("SELECT count(*) FROM position_events WHERE event IN ('REPLACED', "
                  "'CANCELLED')"),
            2);
  // The replacement is in the timeline of the notice it kept, as a REST replacement is.
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'positionStateChange' "
                  "AND event_subtype = 'REPLACED' AND iuv = '" +
                  before.options[0].iuv + "'"),
            1);
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].outcome, "UPDATED");
  EXPECT_EQ(lines[0].notice, before.options[0].notice_number);
  EXPECT_EQ(lines[1].outcome, "CANCELLED");
  EXPECT_EQ(lines[2].code, "not_found");

  // Cancelling again changes nothing.
  const auto again =
      queue("operation,externalId," +
            std::string("debtorType,debtorFiscalCode,"
                        "debtorFullName,description,serviceCode,referenceYear,amount,dueDate\n") +
            "CANCEL,A2,,,,,,,,\n");
  process();
  EXPECT_EQ(record(again).positions_unchanged, 1);
  EXPECT_EQ(report(again)[0].outcome, "UNCHANGED");
}

// A number whose option another application dropped (sql/0031) names that application's debt:
// a file may not supply it, as a REST write may not, and the numbers drawn for a file pass it by.
TEST_F(imports_pg, numbers_dropped_by_another_application_are_neither_taken_nor_drawn) {
  const auto e = t::own_entity();
  const std::string retired = positions::format_notice_number(e, 7'000'000).str();
  const std::string next = positions::format_notice_number(e, 1).str();
  tx([&](pqxx::work& w) {
    w.exec_params(
        "INSERT INTO notice_owners (entity_fiscal_code, iuv, application_id) "
        "VALUES ($1, pagohub_notice_iuv($2), 'other-bo'), ($1, pagohub_notice_iuv($3), "
        "'other-bo')",
        t::own_fc, retired, next);
    return 0;
  });
  const auto bad = queue(
      "externalId;debtorType;debtorFiscalCode;debtorFullName;description;serviceCode;"
      "referenceYear;amount;dueDate;noticeNumber\r\n"
      "N1;F;RSSMRA80A01H501U;Mario Rossi;TARI 2025;TARI;2025;12000;2025-12-31;" +
      retired + "\r\n");
  process();
  EXPECT_EQ(record(bad).state, import_state::failed);
  const auto lines = report(bad);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].code, "conflict");
  EXPECT_EQ(lines[0].path, "/noticeNumber");
  EXPECT_THAT(lines[0].message, HasSubstr("another application"));
  EXPECT_EQ(positions_count(), 0);

  const auto good = queue(csv_rows(2));
  process();
  ASSERT_EQ(record(good).state, import_state::done);
  for (const char* id : {"A0", "A1"}) {
    const auto p = fetch(id, t::own_fc, app_id).value();
    EXPECT_NE(p.options[0].notice_number, next) << id;
  }
}

// Numbers issued before the entity's notice space changed (here: under segregation code 2) stay
// the application's, as for a REST write (positions::owned_notices): the file may keep them on
// their position and issue a dropped one again, but not supply one it never issued.
TEST_F(imports_pg, numbers_of_the_old_notice_space_stay_the_applications) {
  config::entity old_space = t::own_entity();
  old_space.segregation_code = 2;
  const std::string kept = positions::format_notice_number(old_space, 100).str();
  const std::string dropped = positions::format_notice_number(old_space, 101).str();
  const std::string never = positions::format_notice_number(old_space, 102).str();
  auto p = t::single_position("OLD");
  p.options[0].notice_number = kept;
  store(p, old_space, app_id);
  auto q = t::single_position("GONE");
  q.options[0].notice_number = dropped;
  store(q, old_space, app_id);
  q.options[0].notice_number = positions::format_notice_number(old_space, 103).str();
  store(q, old_space, app_id);

  const auto id = load_valid_rows(
      "externalId;debtorType;debtorFiscalCode;debtorFullName;description;serviceCode;"
      "referenceYear;amount;dueDate;noticeNumber\r\n"
      "OLD;F;RSSMRA80A01H501U;Mario Rossi;TARI 2025;TARI;2025;15000;2025-12-31;" +
          kept +
          "\r\n"
          "AGAIN;F;RSSMRA80A01H501U;Mario Rossi;TARI 2025;TARI;2025;12000;2025-12-31;" +
          dropped +
          "\r\n"
          "NEVER;F;RSSMRA80A01H501U;Mario Rossi;TARI 2025;TARI;2025;12000;2025-12-31;" +
          never + "\r\n",
      file_format::csv);
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].outcome, "UPDATED");
  EXPECT_EQ(lines[1].outcome, "CREATED");
  EXPECT_EQ(lines[2].code, "not_owned");
  EXPECT_EQ(lines[2].path, "/noticeNumber");
  EXPECT_THAT(lines[2].message, HasSubstr("segregation code 1"));
  EXPECT_EQ(fetch("OLD", t::own_fc, app_id)->options[0].amount, 15000);
  EXPECT_EQ(fetch("OLD", t::own_fc, app_id)->options[0].notice_number, kept);
  EXPECT_EQ(fetch("AGAIN", t::own_fc, app_id)->options[0].notice_number, dropped);
  EXPECT_FALSE(fetch("NEVER", t::own_fc, app_id).has_value());
}

TEST_F(imports_pg, paid_positions_cannot_change) {
  queue(csv_rows(2));
  process();
  const auto paid = fetch("A0", t::own_fc, app_id).value();
  tx([&](pqxx::work& w) {
    return positions::mark_option_paid(w, t::own_fc, paid.options[0].notice_number, "rcpt-1",
                                       t::test_now(), t::test_now())
        .has_value();
  });
  const auto id = queue(csv_rows(2, "A", 50000));
  process();
  const auto r = record(id);
  EXPECT_EQ(r.state, import_state::failed);
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].code, "conflict");
  EXPECT_THAT(lines[0].message, HasSubstr("paid"));
  EXPECT_EQ(lines[1].outcome, "NOT_LOADED");
  EXPECT_EQ(fetch("A1", t::own_fc, app_id)->options[0].amount, 12000);  // untouched
}

// A 2018-model payment in progress holds its position (sql/0030): between paaAttivaRPT and
// the RT an import neither replaces nor cancels it, as the REST API does not.
TEST_F(imports_pg, a_position_whose_old_model_payment_is_in_progress_cannot_change) {
  queue(csv_rows(2));
  process();
  const auto now_us = db::to_micros(t::test_now());
  const auto lock_until = [&](const std::string& external_id, const std::string& interval) {
    const auto p = fetch(external_id, t::own_fc, app_id).value();
    tx([&](pqxx::work& w) {
      w.exec_params(
          "INSERT INTO rpt_activations (entity_fiscal_code, iuv, ccp, notice_number, "
          "position_id, psp_id, psp_broker_id, channel_id, amount, iban, activated_at, "
          "locked_until) VALUES ($1, $2, $3, $4, $5, 'BCITITMM', 'BCITITMM', 'BCITITMM_01', "
          "12000, 'IT60X0542811101000000123456', "
          "'epoch'::timestamptz + $6 * interval '1 microsecond', "
          "'epoch'::timestamptz + $6 * interval '1 microsecond' + $7::interval) "
          "ON CONFLICT (entity_fiscal_code, iuv, ccp) DO UPDATE SET locked_until = "
          "EXCLUDED.locked_until",
          t::own_fc, p.options[0].iuv, "ccp-" + external_id, p.options[0].notice_number, p.id,
          now_us, interval);
      return true;
    });
  };
  lock_until("A0", "30 minutes");
  lock_until("A1", "30 minutes");
  const std::string changes =
      "operation,externalId,debtorType,debtorFiscalCode,debtorFullName,description,serviceCode,"
      "referenceYear,amount,dueDate\n"
      "UPSERT,A0,F,RSSMRA80A01H501U,Mario Rossi,TARI corretta,TARI,2025,9900,2025-12-31\n"
      "CANCEL,A1,,,,,,,,\n";
  const auto held = queue(changes, file_format::csv, load_mode::valid_rows);
  process();
  const auto lines = report(held);
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& l : lines) {
    EXPECT_EQ(l.outcome, "REJECTED");
    EXPECT_EQ(l.code, "conflict");
    EXPECT_THAT(l.message, HasSubstr("is in progress (2018 model)"));
    EXPECT_THAT(l.message, HasSubstr("BCITITMM"));
  }
  EXPECT_EQ(fetch("A0", t::own_fc, app_id)->options[0].amount, 12000);
  EXPECT_NE(fetch("A1", t::own_fc, app_id)->status, positions::position_status::cancelled);

  // Once the lock lapses, the same file applies.
  lock_until("A0", "-1 minute");
  lock_until("A1", "-1 minute");
  const auto freed = queue(changes, file_format::csv, load_mode::valid_rows);
  process();
  EXPECT_EQ(record(freed).positions_updated, 1);
  EXPECT_EQ(record(freed).positions_cancelled, 1);
  EXPECT_EQ(fetch("A0", t::own_fc, app_id)->options[0].amount, 9900);
}

TEST_F(imports_pg, ndjson_with_transfers_accounting_and_metadata) {
  const std::string line1 =
      R"({"externalId":"J1","debtor":{"type":"G","fiscalCode":"01234567897","fullName":"ACME"},)"
      R"("description":"Canone","serviceCode":"TARI","referenceYear":2025,)"
      R"("metadata":[{"key":"k","value":"v"}],)"
      R"("paymentOptions":[{"kind":"SINGLE","amount":10000,"dueDate":"2025-12-31",)"
      R"("description":"Unica","transfers":[{"index":1,"amount":7000,"remittanceInformation":"a",)"
      R"("accounting":[{"chapter":"C1","year":2025,"amount":7000}]},{"index":2,"amount":3000,)"
      R"("beneficiaryFiscalCode":"12345678903","iban":"IT67P0306909606000000012345",)"
      R"("remittanceInformation":"b"}]}]})";
  const std::string line2 = R"({"externalId":"J2","debtor":{"type":"F"},"amount":"x"})";
  const std::string line3 = R"({"operation":"CANCEL","externalId":"J3"})";
  const auto id = queue(line1 + "\n" + line2 + "\n\n" + line3 + "\n", file_format::ndjson,
                        load_mode::valid_rows);
  process();
  const auto r = record(id);
  EXPECT_EQ(r.state, import_state::done);
  EXPECT_EQ(r.rows_read, 3);
  EXPECT_EQ(r.positions_created, 1);
  const auto p = fetch("J1", t::own_fc, app_id).value();
  ASSERT_EQ(p.options.size(), 1u);
  ASSERT_EQ(p.options[0].transfers.size(), 2u);
  EXPECT_EQ(p.options[0].transfers[1].beneficiary_fiscal_code, t::other_fc);
  ASSERT_EQ(p.options[0].transfers[0].accounting.size(), 1u);
  EXPECT_EQ(p.options[0].transfers[0].accounting[0].chapter, "C1");
  ASSERT_EQ(p.metadata.size(), 1u);
  const auto lines = report(id);
  std::set<std::string> j2_paths;
  for (const auto& l : lines)
    if (l.external_id == "J2") j2_paths.insert(l.path);
  EXPECT_TRUE(j2_paths.count("/amount")) << "unknown member reported with its path";
  EXPECT_EQ(lines.back().line, 4);
  EXPECT_EQ(lines.back().code, "not_found");
}

// What a report line echoes of the file is cut: an external id too long to be valid, and the
// paths of members the file made up, so that a small file of long names cannot make a report
// of gigabytes (it is stored, and read, in pieces of lines).
TEST_F(imports_pg, a_report_echoes_long_ids_and_paths_cut) {
  const std::string long_id(100000, 'L');
  const std::string long_member(5000, 'm');
  std::string line = R"({"operation":"CANCEL","externalId":")" + long_id + "\"";
  for (int i = 0; i < 3; ++i) line += ",\"" + long_member + std::to_string(i) + "\":0";
  line += "}";
  const auto id = queue(line + "\n" + ndjson_position("OK1") + "\n", file_format::ndjson,
                        load_mode::valid_rows);
  process();
  EXPECT_EQ(record(id).state, import_state::done);
  const auto lines = report(id);
  ASSERT_FALSE(lines.empty());
  int cut_paths = 0;
  for (const auto& l : lines) {
    if (l.line != 1) continue;
    EXPECT_EQ(l.external_id, std::string(40, 'L'));
    EXPECT_LE(l.path.size(), 100u) << l.path.substr(0, 120);
    if (l.path.starts_with("/mmmm")) ++cut_paths;
  }
  EXPECT_EQ(cut_paths, 3);
  EXPECT_EQ(lines.back().external_id, "OK1");
  EXPECT_EQ(lines.back().outcome, "CREATED");
}

// A file that supplies every notice number draws none of its own: the ids drawn ahead stop at
// two blocks of a kind the file does not use, where they used to grow by a block at each
// refill of the others (memory growing with the file, and numbers taken from the sequence).
TEST_F(imports_pg, a_file_supplying_its_notice_numbers_draws_few_progressives) {
  const int rows = 30000;
  std::string csv =
      "externalId;debtorType;debtorFiscalCode;debtorFullName;description;serviceCode;"
      "referenceYear;amount;dueDate;noticeNumber\r\n";
  for (int i = 0; i < rows; ++i) {
    csv += "S" + std::to_string(i) + ";F;RSSMRA80A01H501U;Mario Rossi;TARI 2025;TARI;2025;12000;" +
           "2025-12-31;" + positions::format_notice_number(t::own_entity(), 5'000'000 + i).str() +
           "\r\n";
  }
  const auto id = queue(csv);
  process();
  const auto r = record(id);
  ASSERT_EQ(r.state, import_state::done) << r.error.value_or("");
  EXPECT_EQ(positions_count(), rows);
  // What the entity's sequence gave out: at most two blocks of 4096 (and what one more
  // request, sent ahead, may hold).
  const auto drawn =
      count("SELECT last_value FROM " + tx([&](pqxx::work& w) {
              return w.exec_params1("SELECT pagohub_notice_sequence($1)::text", t::own_fc)[0]
                  .as<std::string>();
            }));
  EXPECT_LE(drawn, 3 * 4096);
}

// Past max_invalid_rows records with errors the pass stops: a file of junk (here a quote
// never closed, then a line per record) fails as a whole, with one report line, instead of
// staging and reporting a record per line, which for a file of short lines is hundreds of
// millions.
TEST_F(imports_pg, a_file_of_junk_stops_at_the_invalid_rows_limit) {
  max_invalid_rows_ = 5;
  std::string csv = csv_rows(2) + "\"";
  for (int i = 0; i < 40; ++i) csv += "x\r\n";
  const auto id = queue(csv, file_format::csv, load_mode::valid_rows);
  process();
  const auto r = record(id);
  EXPECT_EQ(r.state, import_state::failed);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_NE(r.error->find("more than 5 records of the file have errors"), std::string::npos)
      << *r.error;
  EXPECT_EQ(positions_count(), 0);
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].code, "too_many_errors");
  // NDJSON alike.
  std::string nd = ndjson_position("N1") + "\n";
  for (int i = 0; i < 40; ++i) nd += "x\n";
  const auto nid = queue(nd, file_format::ndjson, load_mode::valid_rows);
  process();
  EXPECT_EQ(record(nid).state, import_state::failed);
  EXPECT_EQ(positions_count(), 0);
  // Below the limit, a valid-rows import loads what is valid.
  max_invalid_rows_ = 100;
  const auto ok = queue(nd, file_format::ndjson, load_mode::valid_rows);
  process();
  EXPECT_EQ(record(ok).state, import_state::done);
  EXPECT_EQ(positions_count(), 1);
}

TEST_F(imports_pg, an_ndjson_file_may_begin_with_a_byte_order_mark) {
  const auto id =
      queue("\xEF\xBB\xBF" + ndjson_position("B1") + "\n" + ndjson_position("B2") + "\n",
            file_format::ndjson);
  process();
  const auto r = record(id);
  EXPECT_EQ(r.state, import_state::done);
  EXPECT_EQ(r.positions_created, 2);
}

TEST_F(imports_pg, rows_of_delimiters_only_are_blank) {
  // A spreadsheet's export of its empty rows: not positions with every field missing.
  const auto id = queue(csv_rows(2) + ";;;;;;;;\r\n;;;;;;;;\r\n");
  process();
  const auto r = record(id);
  EXPECT_EQ(r.state, import_state::done);
  EXPECT_EQ(r.rows_read, 2);
  EXPECT_EQ(r.positions_created, 2);
}

TEST_F(imports_pg, stored_positions_of_services_not_granted_are_neither_replaced_nor_cancelled) {
  // Stored while the application had every service; then its grant narrows to TARI.
  auto mensa = t::single_position("M1");
  mensa.service_code = "MENSA";
  store(mensa, t::own_entity(), app_id);
  auto mensa2 = t::single_position("M2");
  mensa2.service_code = "MENSA";
  store(mensa2, t::own_entity(), app_id);
  store(t::single_position("T1"), t::own_entity(), app_id);
  config::application app;
  app.id = app_id;
  app.name = "Tributi";
  app.entities = {t::own_fc};
  app.services = {"TARI"};
  apps_->set(std::make_shared<const config::application_registry>(
      std::vector<config::application>{app},
      std::make_shared<const config::entity_registry>(t::registry())));

  const auto id = queue(
      "operation,externalId,debtorType,debtorFiscalCode,debtorFullName,description,serviceCode,"
      "referenceYear,amount,dueDate\n"
      "UPSERT,M1,F,RSSMRA80A01H501U,Mario Rossi,TARI,TARI,2025,9900,2025-12-31\n"
      "CANCEL,M2,,,,,,,,\n"
      "UPSERT,T1,F,RSSMRA80A01H501U,Mario Rossi,TARI nuova,TARI,2025,9900,2025-12-31\n",
      file_format::csv, load_mode::valid_rows);
  process();
  const auto r = record(id);
  EXPECT_EQ(r.state, import_state::done) << r.error.value_or("");
  EXPECT_EQ(r.rows_invalid, 2);
  EXPECT_EQ(r.positions_updated, 1);
  EXPECT_EQ(r.positions_cancelled, 0);
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 3u);
  for (int i : {0, 1}) {
    EXPECT_EQ(lines[i].outcome, "REJECTED") << i;
    EXPECT_EQ(lines[i].code, "forbidden") << i;
    EXPECT_EQ(lines[i].path, "/externalId") << i;
    EXPECT_THAT(lines[i].message, HasSubstr("MENSA")) << i;
  }
  EXPECT_EQ(lines[2].outcome, "UPDATED");
  // Untouched: service, amount and status.
  const auto m1 = fetch("M1", t::own_fc, app_id).value();
  EXPECT_EQ(m1.service_code, "MENSA");
  EXPECT_EQ(m1.options[0].amount, 12000);
  EXPECT_EQ(fetch("M2", t::own_fc, app_id)->status, positions::position_status::draft);
  EXPECT_EQ(fetch("T1", t::own_fc, app_id)->description, "TARI nuova");
}

}  // namespace
}  // namespace pagohub::imports
