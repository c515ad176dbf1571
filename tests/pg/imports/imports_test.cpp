// Bulk imports against a real PostgreSQL (issue 3 "Bulk loads"): all-or-nothing and valid-rows,
// the checks made in SQL, the report, and resuming after a crash with nothing half-applied.
// Imports of positions already stored: imports_stored_test.cpp.
#include <pagohub/core/text.hpp>

#include <map>
#include <set>

#include "imports_fixture.hpp"

namespace pagohub::imports {
namespace {

using namespace testing;
namespace t = positions::testing;
using ::testing::HasSubstr;

TEST_F(imports_pg, csv_import_creates_positions_events_and_a_report) {
  const auto id = queue(csv_rows(25));
  EXPECT_EQ(record(id).state, import_state::queued);
  EXPECT_EQ(process(), 1);
  const auto r = record(id);
  EXPECT_EQ(r.state, import_state::done) << r.error.value_or("");
  EXPECT_EQ(r.rows_read, 25);
  EXPECT_EQ(r.rows_valid, 25);
  EXPECT_EQ(r.rows_invalid, 0);
  EXPECT_EQ(r.positions_created, 25);
  EXPECT_EQ(r.progress, 100);
  ASSERT_TRUE(r.finished_at && r.validated_at && r.started_at);
  EXPECT_EQ(positions_count(), 25);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options"), 25);
  EXPECT_EQ(count("SELECT count(*) FROM transfers"), 25);
  EXPECT_EQ(count("SELECT count(*) FROM position_events WHERE event = 'CREATED' "
                  "AND actor_id = 'tributi' AND request_id = 'req-1'"),
            25);
  // How it ended is journaled with it.
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'importFinished' "
                  "AND event_subtype = 'done' AND outcome = 'OK' AND entity_fc = '" +
                  std::string(t::own_fc) + "' AND interface_params LIKE 'import=" +
                  std::to_string(id) + " format=csv % created=25 %'"),
            1);
  // Uploads and staging are gone; the report stays.
  EXPECT_EQ(count("SELECT count(*) FROM import_uploads"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM pg_class WHERE relname LIKE 'import\\_stage\\_%' "
                  "AND relname <> 'import_stage_template'"),
            0);
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 25u);
  std::set<std::string> notices;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].line, static_cast<int>(i) + 2);
    EXPECT_EQ(lines[i].outcome, "CREATED");
    notices.insert(lines[i].notice);
  }
  EXPECT_EQ(notices.size(), 25u);
  // The report's notice numbers are the stored ones, and the positions read back whole.
  const auto p = fetch("A7", t::own_fc, app_id);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, positions::position_status::draft);
  ASSERT_EQ(p->options.size(), 1u);
  EXPECT_EQ(p->options[0].notice_number, lines[7].notice);
  EXPECT_EQ(p->options[0].transfers[0].iban.value_or(""), t::own_iban);
  EXPECT_EQ(p->options[0].transfers[0].taxonomy, "9/0101002IM/");
  EXPECT_EQ(p->payer.full_name, "Mario Rossi 7");
}

TEST_F(imports_pg, all_or_nothing_stores_nothing_when_a_row_is_bad) {
  std::string csv = csv_rows(5);
  csv += "BAD1;F;RSSMRA80A01H501X;Mario;TARI;TARI;2025;100;2025-12-31\r\n";  // check character
  const auto id = queue(csv);
  process();
  const auto r = record(id);
  EXPECT_EQ(r.state, import_state::failed);
  EXPECT_THAT(r.error.value_or(""), HasSubstr("nothing was loaded"));
  EXPECT_EQ(r.rows_invalid, 1);
  EXPECT_EQ(positions_count(), 0);
  EXPECT_EQ(count("SELECT count(*) FROM position_events"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'importFinished' "
                  "AND event_subtype = 'failed' AND outcome = 'KO' "
                  "AND interface_params LIKE '%rows_invalid=1 %nothing was loaded%'"),
            1);
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0].outcome, "NOT_LOADED");
  EXPECT_EQ(lines[5].outcome, "REJECTED");
  EXPECT_EQ(lines[5].line, 7);
  EXPECT_EQ(lines[5].external_id, "BAD1");
  EXPECT_EQ(lines[5].path, "/debtorFiscalCode");
  EXPECT_EQ(lines[5].code, "invalid");
}

TEST_F(imports_pg, valid_rows_loads_the_good_rows_and_reports_the_bad) {
  std::string csv = csv_rows(4);
  csv += "BAD1;F;RSSMRA80A01H501U;Mario;TARI;TARI;2025;0;2025-12-31\r\n";
  csv += "BAD2;F;RSSMRA80A01H501U;Mario;TARI;NOPE;2025;100;2025-12-31\r\n";
  csv += "A0;F;RSSMRA80A01H501U;Again;TARI;TARI;2025;100;2025-12-31\r\n";  // duplicate of line 2
  const auto id = load_valid_rows(csv, file_format::csv);
  const auto r = record(id);
  EXPECT_EQ(r.rows_read, 7);
  EXPECT_EQ(r.rows_valid, 3);
  EXPECT_EQ(r.rows_invalid, 4);
  EXPECT_EQ(r.positions_created, 3);
  EXPECT_EQ(positions_count(), 3);
  EXPECT_FALSE(fetch("A0", t::own_fc, app_id));
  // Every (row, outcome code) of the report: a row may have several errors.
  std::set<std::string> got;
  for (const auto& l : report(id)) {
    got.insert(l.external_id + "@" + std::to_string(l.line) + " " + l.outcome + " " + l.code);
  }
  EXPECT_TRUE(got.count("A0@2 REJECTED duplicate"));
  EXPECT_TRUE(got.count("A0@8 REJECTED duplicate"));
  EXPECT_TRUE(got.count("A1@3 CREATED "));
  EXPECT_TRUE(got.count("BAD1@6 REJECTED out_of_range"));
  EXPECT_TRUE(got.count("BAD2@7 REJECTED unknown_service"));
}

// OWASP "CSV Injection": operators open the report in a spreadsheet, and its text comes from
// the file. A cell that would run as a formula starts with an apostrophe.
TEST_F(imports_pg, report_cells_a_spreadsheet_would_run_as_formulas_are_text) {
  std::string csv =
      "externalId;debtorType;debtorFiscalCode;debtorFullName;description;serviceCode;"
      "referenceYear;amount;dueDate\r\n";
  csv +=
      "\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\";F;RSSMRA80A01H501U;M;TARI;TARI;2025;100;"
      "2025-12-31\r\n";
  csv += "-7;F;RSSMRA80A01H501U;M;TARI;TARI;2025;100;2025-12-31\r\n";  // a valid external id
  csv += "@SUM(1);F;RSSMRA80A01H501U;M;TARI;TARI;2025;100;2025-12-31\r\n";
  const auto id = load_valid_rows(csv, file_format::csv);
  std::string text;
  for (int from = 0;;) {
    auto piece = tx([&](pqxx::work& w) { return report_piece_from(w, t::own_fc, id, from); });
    if (!piece) break;
    text += piece->data;
    from = piece->seq + 1;
  }
  EXPECT_THAT(text, ::testing::StartsWith(
                        "2,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",UPSERT,REJECTED,"));
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].external_id, "'=HYPERLINK(\"http://x\",\"y\")");
  EXPECT_EQ(lines[0].path, "/externalId");
  EXPECT_EQ(lines[1].external_id, "'-7");
  EXPECT_EQ(lines[1].outcome, "CREATED");
  EXPECT_EQ(lines[1].notice.size(), 18u) << "the daemon's own numbers are written as they are";
  EXPECT_EQ(lines[2].external_id, "'@SUM(1)");
  // The positions themselves keep their external ids as the file gave them.
  EXPECT_TRUE(fetch("-7", t::own_fc, app_id));
}

// A quote never closed, in a file longer than the record limit (256 KiB): the row is cut there,
// every line it took is in the report, and the rows after the cut are read and loaded.
TEST_F(imports_pg, every_line_an_unclosed_quote_takes_is_in_the_report) {
  std::string csv = csv_rows(5000);  // about 75 bytes a row
  const std::string row1 = ";Mario Rossi 1;";
  csv.replace(csv.find(row1), row1.size(), ";\"Mario Rossi 1;");  // line 3, field 4
  const auto id = load_valid_rows(csv, file_format::csv);
  const auto r = record(id);
  EXPECT_EQ(r.rows_read, 5000);
  EXPECT_EQ(r.rows_valid + r.rows_invalid, 5000);
  std::map<int, std::vector<report_line>> by_line;
  for (auto& l : report(id)) by_line[l.line].push_back(std::move(l));
  ASSERT_EQ(by_line.size(), 5000u);  // every line of the file, 2 to 5001
  EXPECT_EQ(by_line.begin()->first, 2);
  EXPECT_EQ(by_line.rbegin()->first, 5001);
  // Line 2 may have lost a row to line 3; line 3 says where its quote opened.
  EXPECT_EQ(by_line[2][0].outcome, "REJECTED");
  EXPECT_THAT(by_line[3][0].message,
              HasSubstr("the row is longer than 262144 bytes: field 4 opens a quote on line 3"));
  int parts = 0;
  int created = 0;
  int first_read = 0;  // the first line read as a row again, after the cut
  for (const auto& [line, ls] : by_line) {
    if (ls[0].message.starts_with("not read as a row: part of the row that begins on line 3")) {
      EXPECT_EQ(ls[0].outcome, "REJECTED");
      EXPECT_EQ(ls[0].code, "invalid");
      EXPECT_EQ(line, 4 + parts++) << "the lines taken are consecutive";
    } else if (line > 3 && first_read == 0) {
      first_read = line;
    }
    if (ls[0].outcome == "CREATED") ++created;
  }
  // About 262144 / 75 lines were taken, up to the line where the limit was passed.
  EXPECT_GT(parts, 3000);
  EXPECT_LT(parts, 3600);
  EXPECT_EQ(first_read, 4 + parts);
  // The position right after the cut may have lost its first row to it: rejected, as after
  // any broken row. The rest is loaded.
  EXPECT_EQ(by_line[first_read][0].outcome, "REJECTED");
  EXPECT_THAT(by_line[first_read][0].message, HasSubstr("just before this position"));
  EXPECT_EQ(created, 5001 - first_read);
  EXPECT_EQ(r.rows_valid, created);
  EXPECT_EQ(positions_count(), created);
}

TEST_F(imports_pg, nul_in_an_ndjson_line_is_a_row_error) {
  // Each line would fail the COPY into staging, and with it the whole import, if a NUL got
  // through: a member name, an external id, a service code.
  const std::string good = ndjson_position("G1");
  std::string bad_service = good;
  bad_service.replace(bad_service.find(R"("G1")"), 4, R"("G2")");
  bad_service.replace(bad_service.find(R"("serviceCode":"TARI")"), 20,
                      R"("serviceCode":"TARI\u0000")");
  const std::string file = good + "\n" + R"({"externalId":"A\u0000","operation":"CANCEL"})" + "\n" +
                           R"({"\u0000":1})" + "\n" + bad_service + "\n";
  const auto id = load_valid_rows(file, file_format::ndjson);
  const auto r = record(id);
  EXPECT_EQ(r.rows_read, 4);
  EXPECT_EQ(r.rows_invalid, 3);
  EXPECT_EQ(r.positions_created, 1);
  EXPECT_TRUE(fetch("G1", t::own_fc, app_id));
  EXPECT_FALSE(fetch("G2", t::own_fc, app_id));
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].outcome, "CREATED");
  for (int i : {1, 2, 3}) {
    EXPECT_EQ(lines[i].line, i + 1);
    EXPECT_EQ(lines[i].outcome, "REJECTED") << i;
    EXPECT_EQ(lines[i].code, "invalid") << i;
    EXPECT_EQ(lines[i].message.find('\0'), std::string::npos) << i;
  }
  EXPECT_EQ(lines[1].path, "/externalId");
  EXPECT_EQ(lines[3].path, "/serviceCode");

  // All-or-nothing: the same file fails with its report, instead of the import breaking.
  const auto all = queue(file, file_format::ndjson, load_mode::all_or_nothing);
  process();
  EXPECT_EQ(record(all).state, import_state::failed);
  EXPECT_THAT(record(all).error.value_or(""), HasSubstr("nothing was loaded"));
  EXPECT_EQ(report(all).size(), 4u);
}

// The JSON parser's message quotes the bytes it stopped at: invalid UTF-8 in it would fail the
// COPY into staging, and with it the whole import, without a report.
TEST_F(imports_pg, invalid_utf8_in_an_ndjson_line_is_a_row_error) {
  const std::string good = ndjson_position("U1");
  const std::string file = good + "\n" + "{\"externalId\":\"a\xff\xfe\"}\n" + "\xff\xff{\n";
  const auto id = load_valid_rows(file, file_format::ndjson);
  const auto r = record(id);
  EXPECT_EQ(r.rows_invalid, 2);
  EXPECT_EQ(r.positions_created, 1);
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 3u);
  for (int i : {1, 2}) {
    EXPECT_EQ(lines[i].outcome, "REJECTED") << i;
    EXPECT_TRUE(core::utf8_length(lines[i].message).has_value()) << i;
  }
}

TEST_F(imports_pg, file_level_problems_fail_the_import) {
  const auto missing = queue("externalId,amount\nA,100\n");
  const auto empty_rows = queue(
      "externalId,debtorType,debtorFiscalCode,debtorFullName,description,serviceCode,"
      "referenceYear,amount,dueDate\n");
  const auto blank = queue("\n\n", file_format::ndjson);
  process();
  EXPECT_EQ(record(missing).state, import_state::failed);
  EXPECT_THAT(record(missing).error.value_or(""), HasSubstr("header"));
  EXPECT_EQ(report(missing).at(0).path, "/header");
  EXPECT_THAT(record(empty_rows).error.value_or(""), HasSubstr("no rows"));
  EXPECT_THAT(record(blank).error.value_or(""), HasSubstr("empty"));
  EXPECT_EQ(positions_count(), 0);
}

// Crash points: after the staging pass, and inside the load transaction just before it
// commits. Either way nothing is stored, the import stays unfinished, and the next processor
// resumes it from the stored upload to the same result.
class imports_crash : public imports_pg, public ::testing::WithParamInterface<const char*> {};

TEST_P(imports_crash, resume_after_a_crash_applies_everything_once) {
  // More rows than one batch of ids (4000) and one report piece (20000).
  const auto id = queue(csv_rows(21000), file_format::csv, load_mode::all_or_nothing);
  struct crash : std::runtime_error {
    crash() : std::runtime_error("simulated crash") {}
  };
  const std::string where = GetParam();
  auto s = make_service();
  EXPECT_THROW(s->run_once([&](std::string_view at) {
    if (at == where) throw crash();
  }),
               crash);
  s.reset();
  const auto half = record(id);
  EXPECT_TRUE(half.state == import_state::validating || half.state == import_state::loading);
  EXPECT_EQ(positions_count(), 0);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM position_events"), 0);
  EXPECT_GT(count("SELECT count(*) FROM import_uploads"), 0);

  EXPECT_EQ(process(), 1);
  const auto r = record(id);
  EXPECT_EQ(r.state, import_state::done) << r.error.value_or("");
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(positions_count(), 21000);
  EXPECT_EQ(count("SELECT count(DISTINCT notice_number) FROM payment_options"), 21000);
  EXPECT_EQ(count("SELECT count(*) FROM position_events"), 21000);
  // The report spans pieces and lists every row once.
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 21000u);
  EXPECT_EQ(lines.back().line, 21001);
}

INSTANTIATE_TEST_SUITE_P(points, imports_crash, ::testing::Values("parsed", "loaded"));

TEST_F(imports_pg, an_import_that_cannot_be_processed_fails_with_a_report_and_an_event) {
  const auto id = queue(csv_rows(3));
  // The application is taken out of the configuration before the import is processed.
  const auto keep = apps_->get();
  apps_->set(std::make_shared<const config::application_registry>(
      std::vector<config::application>{},
      std::make_shared<const config::entity_registry>(t::registry())));
  // For a while it is left for a daemon that may know the application (one reloaded earlier).
  EXPECT_EQ(process(), 0);
  EXPECT_EQ(record(id).state, import_state::queued);
  EXPECT_EQ(record(id).attempts, 0);
  clock_.advance(std::chrono::minutes(10));
  EXPECT_EQ(process(), 1);
  apps_->set(keep);
  const auto r = record(id);
  EXPECT_EQ(r.state, import_state::failed);
  EXPECT_THAT(r.error.value_or(""), HasSubstr("not configured for imports"));
  EXPECT_EQ(positions_count(), 0);
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].line, 1);
  EXPECT_EQ(lines[0].code, "import_failed");
  EXPECT_EQ(
      count(
          "SELECT count(*) FROM journal_events WHERE event_type = 'importFinished' "
          "AND event_subtype = 'failed' AND interface_params LIKE '%not configured for imports%'"),
      1);
}

// A restart (a deployment) during an import is not one of its failed attempts.
TEST_F(imports_pg, an_import_stopped_by_shutdown_keeps_its_attempts) {
  const auto id = queue(csv_rows(10));
  auto s = make_service();
  EXPECT_EQ(s->run_once([&](std::string_view at) {
    if (at == "parsed") s->stop();
  }),
            id);
  s.reset();
  EXPECT_EQ(record(id).attempts, 0);
  EXPECT_EQ(positions_count(), 0);
  EXPECT_EQ(process(), 1);
  const auto r = record(id);
  EXPECT_EQ(r.state, import_state::done) << r.error.value_or("");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(positions_count(), 10);
}

TEST_F(imports_pg, an_import_is_processed_once_by_concurrent_processors) {
  const auto id = queue(csv_rows(3000));
  auto a = make_service();
  auto b = make_service();
  std::optional<std::int64_t> got_a, got_b;
  std::jthread ta([&] { got_a = a->run_once(); });
  std::jthread tb([&] { got_b = b->run_once(); });
  ta.join();
  tb.join();
  EXPECT_EQ(static_cast<int>(got_a.has_value()) + static_cast<int>(got_b.has_value()), 1);
  EXPECT_EQ(record(id).state, import_state::done);
  EXPECT_EQ(positions_count(), 3000);
}

}  // namespace
}  // namespace pagohub::imports
