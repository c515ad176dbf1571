// Bulk imports through the real daemon (issue 3 "Bulk loads"): a 10,000-row CSV with its report,
// every bad input of the issue (each a clear error, nothing stored), upload limits (413 on
// Content-Length and while a chunked body arrives), tenant isolation, and an import that
// survives the daemon being killed in the middle of it.
#include <gmock/gmock.h>

#include <csignal>
#include <pqxx/pqxx>

#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "api_fixture.hpp"
#include "support/eventually.hpp"
#include "support/report_csv.hpp"

namespace pagohub::test {
namespace {

using beast_http::verb;
using json = nlohmann::json;

// Small enough to test 413 without writing 600 MB, large enough for the restart test's file.
constexpr std::size_t upload_limit = 8 << 20;

const std::string csv_header =
    "externalId,debtorType,debtorFiscalCode,debtorFullName,description,serviceCode,"
    "referenceYear,amount,dueDate";

std::string due() {
  return std::to_string(next_year()) + "-12-31";
}

std::string good_row(const std::string& id, long long cents = 12000) {
  return id + ",F,RSSMRA80A01H501U,Mario Rossi,TARI,TARI," + std::to_string(next_year() - 1) + "," +
         std::to_string(cents) + "," + due();
}

struct report_row {
  int line = 0;
  std::vector<std::string> f;  // externalId, operation, outcome, noticeNumber, path, code, message
};

std::vector<report_row> parse_report(const std::string& text) {
  std::vector<report_row> out;
  for (auto& f : test_support::report_rows(text))
    out.push_back({std::stoi(f[0]), {f.begin() + 1, f.end()}});
  return out;
}

class imports_e2e : public api_e2e {
 protected:
  // The fixture's daemon, with a small upload limit and quick polling.
  void SetUp() override {
    if (!test_support::pg_available()) GTEST_SKIP() << test_support::pg_unavailable_reason();
    db_ = std::make_unique<test_support::test_database>();
    for (const char* app : {"tributi", "tributi-2", "mensa", "altrove", "slow"}) {
      keys_[app] = api::generate_api_key();
    }
    apps_dir_ = std::filesystem::temp_directory_path() /
                ("pagohub-apps-" + std::to_string(::getpid()) + "-" + db_->name());
    std::filesystem::create_directories(apps_dir_);
    start_daemon();
  }

  void start_daemon() {
    daemon_options o;
    o.conninfo = db_->conninfo();
    o.max_body_bytes = 8 << 20;
    o.applications_dir = apps_dir_;
    std::filesystem::create_directories(spool_dir());
    o.extra_toml =
        extra_toml() + "\n[imports]\nmax_upload_bytes = " + std::to_string(upload_limit) +
        "\npoll_interval_ms = 200\nmax_queued_per_application = " + std::to_string(max_queued) +
        "\nspool_dir = \"" + spool_dir().string() + "\"\n";
    daemon_ = std::make_unique<daemon_process>(o);
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    ASSERT_EQ(poll_status(daemon_->port(), "/readyz", 200, std::chrono::seconds(30)), 200u)
        << daemon_->log();
  }

  /// [imports] max_queued_per_application of the next start_daemon().
  int max_queued = 20;

  /// Where the daemon spools uploads: empty between requests.
  std::filesystem::path spool_dir() const { return apps_dir_ / "spool"; }
  /// The session removes a spooled file when its request ends, right after the answer: wait
  /// (with a deadline) rather than race it.
  bool spool_empty() const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!std::filesystem::is_empty(spool_dir())) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  http_reply upload(const std::string& body, const std::string& content_type = "text/csv",
                    const std::string& query = "", const std::string& app = "tributi",
                    const std::string& fc = entity_a) {
    return http_request(daemon_->port(), verb::post, api_path(fc, "/imports" + query), body,
                        {{"Authorization", "Bearer " + key(app)}, {"Content-Type", content_type}});
  }

  /// Polls the import until it is done or failed; returns its last representation.
  json wait_finished(std::int64_t id, const std::string& app = "tributi") {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    json j;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto r = get(app, api_path(entity_a, "/imports/" + std::to_string(id)));
      EXPECT_EQ(r.status, 200u) << r.body;
      j = json_of(r);
      if (j["state"] == "done" || j["state"] == "failed") return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "import " << id << " did not finish: " << j.dump();
    return j;
  }

  std::vector<report_row> report(std::int64_t id, const std::string& app = "tributi") {
    const auto r = get(app, api_path(entity_a, "/imports/" + std::to_string(id) + "/report"));
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("content-type"), "text/csv; charset=utf-8");
    return parse_report(r.body);
  }

  long long stored(const std::string& table) {
    pqxx::connection c(db_->conninfo());
    pqxx::work w(c);
    return w.exec1("SELECT count(*) FROM " + table)[0].as<long long>();
  }

  /// Uploads, waits, and returns (final state, report).
  std::pair<json, std::vector<report_row>> run(const std::string& body,
                                               const std::string& content_type = "text/csv",
                                               const std::string& query = "") {
    const auto r = upload(body, content_type, query);
    EXPECT_EQ(r.status, 202u) << r.body;
    const auto id = json_of(r)["id"].get<std::int64_t>();
    auto state = wait_finished(id);
    return {state, report(id)};
  }
};

TEST_F(imports_e2e, bulk_import_of_ten_thousand_rows_with_report) {
  // Semicolons, CRLF and a byte-order mark, as spreadsheets write them.
  std::string csv = "\xEF\xBB\xBF" + csv_header + "\r\n";
  for (char& c : csv)
    if (c == ',') c = ';';
  for (int i = 0; i < 10000; ++i) {
    std::string row = good_row("BULK-" + std::to_string(i), 1000 + i);
    for (char& c : row)
      if (c == ',') c = ';';
    csv += row + "\r\n";
  }
  const auto r = upload(csv);
  ASSERT_EQ(r.status, 202u) << r.body;
  const auto created = json_of(r);
  EXPECT_EQ(created["state"], "queued");
  EXPECT_EQ(r.header("location"), api_path(entity_a, "/imports/" + created["id"].dump()));
  const auto id = created["id"].get<std::int64_t>();
  EXPECT_TRUE(spool_empty()) << "the spooled upload is removed once stored";
  const auto done = wait_finished(id);
  EXPECT_EQ(done["state"], "done") << done.dump();
  EXPECT_EQ(done["progress"], 100);
  EXPECT_EQ(done["rows"]["read"], 10000);
  EXPECT_EQ(done["rows"]["valid"], 10000);
  EXPECT_EQ(done["rows"]["invalid"], 0);
  EXPECT_EQ(done["positions"]["created"], 10000);
  EXPECT_TRUE(done["timings"]["totalMs"].is_number());
  const auto lines = report(id);
  ASSERT_EQ(lines.size(), 10000u);
  EXPECT_EQ(lines[0].line, 2);
  EXPECT_EQ(lines[0].f[0], "BULK-0");
  EXPECT_EQ(lines[0].f[2], "CREATED");
  EXPECT_EQ(lines[9999].line, 10001);
  // What the report says is what the API serves.
  const auto& last = lines[9999];
  const auto pos = get("tributi", api_path(entity_a, "/positions/BULK-9999"));
  ASSERT_EQ(pos.status, 200u) << pos.body;
  EXPECT_EQ(json_of(pos)["paymentOptions"][0]["noticeNumber"], last.f[3]);
  EXPECT_EQ(json_of(pos)["paymentOptions"][0]["amount"], 10999);
  const auto notice = get("tributi", api_path(entity_a, "/notices/" + last.f[3]));
  EXPECT_EQ(notice.status, 200u) << notice.body;
}

struct bad_case {
  std::string name;
  std::string body;
  std::string content_type;
  std::string path;  ///< expected among the report's error paths
  std::string code;
};

std::vector<bad_case> bad_cases() {
  const std::string y = std::to_string(next_year() - 1);
  const auto row = [&](const std::string& fields_after_id) {
    return csv_header + "\n" + good_row("OK-1") + "\nBAD-1," + fields_after_id + "\n";
  };
  const std::string tr =
      csv_header + ",transfer1Amount,transfer1Iban,transfer2Amount\n" + good_row("OK-1") + ",,,\n";
  const auto ndjson_position = [&](const std::string& transfers, const std::string& amount) {
    return R"({"externalId":"J-1","debtor":{"type":"F","fiscalCode":"RSSMRA80A01H501U",)"
           R"("fullName":"Mario Rossi"},"description":"TARI","serviceCode":"TARI",)"
           R"("referenceYear":)" +
           y + R"(,"paymentOptions":[{"kind":"SINGLE","amount":)" + amount + R"(,"dueDate":")" +
           due() + R"(","description":"Unica","transfers":)" + transfers + "}]}";
  };
  std::string six = "[";
  for (int i = 1; i <= 6; ++i) {
    six += std::string(i > 1 ? "," : "") + R"({"index":)" + std::to_string(i) +
           R"(,"amount":2000,"remittanceInformation":"r"})";
  }
  six += "]";
  return {
      {"invalid fiscal code check digit",
       row("F,RSSMRA80A01H501X,Mario,TARI,TARI," + y + ",100," + due()), "text/csv",
       "/debtorFiscalCode", "invalid"},
      {"invalid IBAN",
       tr + "BAD-1,F,RSSMRA80A01H501U,M,D,TARI," + y + ",100," + due() +
           ",,IT97U0503411701000000001235,\n",
       "text/csv", "/transfer1Iban", "invalid"},
      {"IBAN not registered",
       tr + "BAD-1,F,RSSMRA80A01H501U,M,D,TARI," + y + ",100," + due() + ",," + iban_b + ",\n",
       "text/csv", "/transfer1Iban", "not_registered"},
      {"transfers not adding up",
       tr + "BAD-1,F,RSSMRA80A01H501U,M,D,TARI," + y + ",100," + due() + ",60,,30\n", "text/csv",
       "/transfers", "sum_mismatch"},
      {"six transfers (NDJSON)", ndjson_position(six, "12000") + "\n", "application/x-ndjson",
       "/paymentOptions/0/transfers", "count"},
      {"amount zero", row("F,RSSMRA80A01H501U,M,D,TARI," + y + ",0," + due()), "text/csv",
       "/amount", "out_of_range"},
      {"amount negative", row("F,RSSMRA80A01H501U,M,D,TARI," + y + ",-100," + due()), "text/csv",
       "/amount", "out_of_range"},
      {"amount with three decimals", row("F,RSSMRA80A01H501U,M,D,TARI," + y + ",120.505," + due()),
       "text/csv", "/amount", "invalid"},
      {"unknown service", row("F,RSSMRA80A01H501U,M,D,NOPE," + y + ",100," + due()), "text/csv",
       "/serviceCode", "unknown_service"},
      {"due date in the past", row("F,RSSMRA80A01H501U,M,D,TARI," + y + ",100,2020-01-31"),
       "text/csv", "/dueDate", "in_past"},
      {"duplicated external id",
       csv_header + "\n" + good_row("DUP") + "\n" + good_row("OK-1") + "\n" + good_row("DUP") +
           "\n",
       "text/csv", "/externalId", "duplicate"},
      {"broken quoting",
       csv_header + "\n" + good_row("OK-1") + "\nBAD-1,F,\"RSS\"MRA,M,D,TARI," + y + ",100," +
           due() + "\n",
       "text/csv", "", "invalid"},
      {"invalid UTF-8",
       csv_header + "\n" + good_row("OK-1") + "\nBAD-1,F,RSSMRA80A01H501U,M\xC3\x28,D,TARI," + y +
           ",100," + due() + "\n",
       "text/csv", "", "invalid"},
      {"JSON with wrong types", ndjson_position("[]", "\"12000\"") + "\n", "application/x-ndjson",
       "/paymentOptions/0/amount", ""},
  };
}

TEST_F(imports_e2e, each_bad_input_is_reported_and_nothing_is_stored) {
  for (const auto& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    const auto [state, lines] = run(c.body, c.content_type);
    EXPECT_EQ(state["state"], "failed") << state.dump();
    EXPECT_THAT(state["error"].get<std::string>(), ::testing::HasSubstr("nothing was loaded"));
    EXPECT_GE(state["rows"]["invalid"].get<int>(), 1);
    bool found = false;
    for (const auto& l : lines) {
      if (l.f[2] == "REJECTED" && l.f[4] == c.path && (c.code.empty() || l.f[5] == c.code)) {
        found = true;
        EXPECT_FALSE(l.f[6].empty()) << "a clear message";
      }
      EXPECT_NE(l.f[2], "CREATED");
    }
    EXPECT_TRUE(found) << "no " << c.path << " " << c.code << " in the report";
    EXPECT_EQ(stored("positions"), 0);
  }
}

TEST_F(imports_e2e, file_level_problems_are_refused_at_once) {
  const auto problem = [&](const http_reply& r) { return json_of(r); };
  // Missing column.
  auto r = upload("externalId,debtorType,amount\nA,F,100\n");
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(error_code_at(r, "/header"), "required");
  // Wrong delimiter.
  std::string tabbed = csv_header;
  for (char& c : tabbed)
    if (c == ',') c = '\t';
  r = upload(tabbed + "\n");
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_THAT(r.body, ::testing::HasSubstr("separate the columns"));
  // Six transfers in a CSV: a column group that does not exist.
  r = upload(csv_header + ",transfer6Amount\n" + good_row("A") + ",10\n");
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(error_code_at(r, "/header/transfer6Amount"), "unknown");
  // Empty file.
  r = upload("");
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(problem(r)["errors"][0]["code"], "required");
  // Neither CSV nor NDJSON; a mode that does not exist.
  r = upload(csv_header + "\n", "application/json");
  EXPECT_EQ(r.status, 415u) << r.body;
  r = upload(csv_header + "\n" + good_row("A") + "\n", "text/csv", "?mode=some");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(error_code_at(r, "/query/mode"), "invalid");
  // A misspelt parameter is not ignored (the file would load all-or-nothing), nor is a second
  // mode.
  r = upload(csv_header + "\n" + good_row("A") + "\n", "text/csv", "?mdoe=valid-rows");
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(error_code_at(r, "/query/mdoe"), "unknown_parameter");
  r = upload(csv_header + "\n" + good_row("A") + "\n", "text/csv",
             "?mode=valid-rows&mode=all-or-nothing");
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(error_code_at(r, "/query/mode"), "duplicate");
  EXPECT_EQ(stored("imports"), 0);
  EXPECT_EQ(stored("positions"), 0);
}

TEST_F(imports_e2e, uploads_over_the_limit_get_413) {
  // Content-Length over the limit: refused before the body is read.
  std::string big = csv_header + "\n";
  while (big.size() <= upload_limit) big += good_row("X-" + std::to_string(big.size())) + "\n";
  const auto r = upload(big);
  EXPECT_EQ(r.status, 413u) << r.body;
  // Chunked: refused while it arrives, once past the limit.
  raw_connection conn(daemon_->port());
  conn.send("POST " + api_path(entity_a, "/imports") +
            " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key("tributi") +
            "\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string piece(64 * 1024, 'x');
  http_reply reply;
  try {
    for (std::size_t sent = 0; sent <= upload_limit + piece.size(); sent += piece.size()) {
      std::ostringstream chunk;
      chunk << std::hex << piece.size() << "\r\n" << piece << "\r\n";
      conn.send(chunk.str());
    }
    conn.send("0\r\n\r\n");
  } catch (const std::exception&) {
    // The server may close before everything is sent: the answer is already there.
  }
  reply = conn.read_reply();
  EXPECT_EQ(reply.status, 413u) << reply.body;
  EXPECT_EQ(stored("imports"), 0);
  EXPECT_TRUE(spool_empty()) << "the partial spool file goes with the refused request";
}

TEST_F(imports_e2e, callers_without_a_valid_key_are_refused_before_the_body) {
  // Announced, not sent: the answer must come on the head alone, with no 100 Continue, and
  // nothing may reach the spool directory.
  const auto announce = [&](const std::string& auth) {
    raw_connection conn(daemon_->port());
    conn.send("POST " + api_path(entity_a, "/imports") + " HTTP/1.1\r\nHost: x\r\n" + auth +
              "Content-Type: text/csv\r\nExpect: 100-continue\r\nContent-Length: " +
              std::to_string(upload_limit - 1) + "\r\n\r\n");
    return conn.read_reply();
  };
  auto reply = announce("");
  EXPECT_EQ(reply.status, 401u) << reply.body;
  reply = announce("Authorization: Bearer pgh_live_not-a-real-key\r\n");
  EXPECT_EQ(reply.status, 401u) << reply.body;
  EXPECT_TRUE(std::filesystem::is_empty(spool_dir()));
  reply = announce("Authorization: Bearer " + key("tributi") + "\r\n");
  EXPECT_EQ(reply.status, 100u) << "a valid key is asked for the body";
  EXPECT_TRUE(spool_empty()) << "the upload broken off goes with its connection";
  EXPECT_EQ(stored("imports"), 0);
}

TEST_F(imports_e2e, chunked_upload_is_spooled_and_accepted) {
  const std::string body = csv_header + "\n" + good_row("CH-1") + "\n" + good_row("CH-2") + "\n";
  raw_connection conn(daemon_->port());
  std::ostringstream req;
  req << "POST " << api_path(entity_a, "/imports?mode=valid-rows")
      << " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " << key("tributi")
      << "\r\nContent-Type: text/csv; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t i = 0; i < body.size(); i += 50) {
    const auto part = body.substr(i, 50);
    req << std::hex << part.size() << "\r\n" << part << "\r\n";
  }
  req << "0\r\n\r\n";
  conn.send(req.str());
  const auto reply = conn.read_reply();
  ASSERT_EQ(reply.status, 202u) << reply.body;
  const auto j = json_of(reply);
  EXPECT_EQ(j["mode"], "valid-rows");
  EXPECT_EQ(j["fileBytes"], body.size());
  EXPECT_EQ(wait_finished(j["id"].get<std::int64_t>())["positions"]["created"], 2);
}

TEST_F(imports_e2e, valid_rows_mode_loads_the_good_rows) {
  const auto [state, lines] = run(csv_header + "\n" + good_row("OK-1") + "\n" + good_row("BAD", 0) +
                                      "\n" + good_row("OK-2") + "\n",
                                  "text/csv", "?mode=valid-rows");
  EXPECT_EQ(state["state"], "done");
  EXPECT_EQ(state["rows"]["valid"], 2);
  EXPECT_EQ(state["rows"]["invalid"], 1);
  EXPECT_EQ(get("tributi", api_path(entity_a, "/positions/OK-2")).status, 200u);
  EXPECT_EQ(get("tributi", api_path(entity_a, "/positions/BAD")).status, 404u);
  std::set<int> rejected;
  for (const auto& l : lines)
    if (l.f[2] == "REJECTED") rejected.insert(l.line);
  EXPECT_EQ(rejected, (std::set<int>{3}));
}

TEST_F(imports_e2e, an_update_to_a_paid_position_is_refused) {
  ASSERT_EQ(put("tributi", entity_a, "PAID-1", single_position()).status, 201u);
  {
    // Paid by a receipt (the receipts module's business; set directly here).
    pqxx::connection c(db_->conninfo());
    pqxx::work w(c);
    w.exec0("UPDATE payment_options SET status = 'PAID', paid_at = now(), receipt_id = 'r1'");
    w.exec0("UPDATE positions SET status = 'PAID'");
    w.commit();
  }
  const auto [state, lines] = run(csv_header + "\n" + good_row("PAID-1", 99) + "\n");
  EXPECT_EQ(state["state"], "failed");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].f[5], "conflict");
  const auto pos = json_of(get("tributi", api_path(entity_a, "/positions/PAID-1")));
  EXPECT_EQ(pos["paymentOptions"][0]["amount"], 12000);
}

// Storing an upload takes connections of its own ([imports] upload_connections): with every
// connection of the shared pool held (the test daemon's four, each a PUT waiting for a row
// lock), an upload is still stored and answered, and the PUTs are still waiting when it is.
TEST_F(imports_e2e, an_upload_is_stored_while_the_shared_pool_is_busy) {
  constexpr int pool = 4;  // daemon_process's [db] pool_size
  for (int i = 0; i < pool; ++i)
    ASSERT_EQ(put("tributi", entity_a, "HELD-" + std::to_string(i), single_position()).status,
              201u);
  const auto lock_waits = [this] {
    pqxx::connection c(db_->conninfo());
    pqxx::nontransaction n(c);
    return n
        .exec1(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")[0]
        .as<int>();
  };
  pqxx::connection c(db_->conninfo());
  pqxx::work holding(c);
  holding.exec("SELECT 1 FROM positions WHERE external_id LIKE 'HELD-%' FOR UPDATE");
  std::vector<std::future<http_reply>> puts;
  for (int i = 0; i < pool; ++i) {
    puts.push_back(std::async(std::launch::async, [this, i] {
      return put("tributi", entity_a, "HELD-" + std::to_string(i), single_position(15000));
    }));
  }
  ASSERT_TRUE(
      test_support::eventually([&] { return lock_waits() >= pool; }, std::chrono::seconds(4)));

  const auto r = upload(csv_header + "\n" + good_row("UP-1") + "\n");
  EXPECT_EQ(r.status, 202u) << r.body;
  EXPECT_GE(lock_waits(), pool);  // stored without one of the shared pool's connections
  holding.commit();
  for (auto& f : puts) EXPECT_EQ(f.get().status, 200u);
  EXPECT_EQ(wait_finished(json_of(r)["id"].get<std::int64_t>())["state"], "done");
}

TEST_F(imports_e2e, imports_are_private_to_their_application_and_entity) {
  const auto r = upload(csv_header + "\n" + good_row("MINE") + "\n");
  ASSERT_EQ(r.status, 202u);
  const auto id = json_of(r)["id"].get<std::int64_t>();
  wait_finished(id);
  const std::string path = api_path(entity_a, "/imports/" + std::to_string(id));
  EXPECT_EQ(get("tributi-2", path).status, 404u);
  EXPECT_EQ(get("tributi-2", path + "/report").status, 404u);
  EXPECT_EQ(get("altrove", path).status, 403u);
  EXPECT_EQ(call(verb::get, path, "").status, 401u);
  EXPECT_EQ(upload(csv_header + "\n", "text/csv", "", "altrove").status, 403u);
}

TEST_F(imports_e2e, an_import_survives_the_daemon_being_killed) {
  std::string csv = csv_header + "\n";
  for (int i = 0; i < 60000; ++i) csv += good_row("K-" + std::to_string(i)) + "\n";
  const auto r = upload(csv);
  ASSERT_EQ(r.status, 202u) << r.body;
  const auto id = json_of(r)["id"].get<std::int64_t>();
  // Killed as soon as the import is being worked on (or later, on a fast machine).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto j = json_of(get("tributi", api_path(entity_a, "/imports/" + std::to_string(id))));
    if (j["state"] != "queued") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  daemon_->signal(SIGKILL);
  daemon_->wait_exit(std::chrono::seconds(10));
  const auto positions = stored("positions");
  EXPECT_TRUE(positions == 0 || positions == 60000) << "half-applied: " << positions;
  // A daemon killed while receiving an upload leaves its spool file: the next start removes it
  // once it is old enough not to be another daemon's upload in flight.
  const auto stale = spool_dir() / "pagohub-upload-stale0";
  const auto fresh = spool_dir() / "pagohub-upload-fresh0";
  const auto other = spool_dir() / "not-an-upload";
  for (const auto& f : {stale, fresh, other}) std::ofstream(f) << "x";
  for (const auto& f : {stale, other})
    std::filesystem::last_write_time(
        f, std::filesystem::file_time_type::clock::now() - std::chrono::hours(2));
  start_daemon();
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(fresh));
  EXPECT_TRUE(std::filesystem::exists(other));
  std::filesystem::remove(fresh);
  std::filesystem::remove(other);
  const auto done = wait_finished(id);
  EXPECT_EQ(done["state"], "done") << done.dump();
  EXPECT_EQ(stored("positions"), 60000);
  EXPECT_EQ(stored("position_events WHERE event = 'CREATED'"), 60000);
  EXPECT_EQ(report(id).size(), 60000u);
}

TEST_F(imports_e2e, an_application_with_too_many_imports_waiting_is_refused_until_one_ends) {
  daemon_->signal(SIGTERM);
  daemon_->wait_exit(std::chrono::seconds(30));
  max_queued = 2;
  start_daemon();
  // Two imports of tributi the workers cannot take: this connection holds their processing
  // locks (sql/0008; the lock class of src/imports/service.cpp), taken before the rows are
  // visible.
  pqxx::connection holder(db_->conninfo());
  std::vector<std::int64_t> held;
  {
    pqxx::work w(holder);
    for (int i = 0; i < 2; ++i) {
      const auto id = w.exec_params1(
                           "INSERT INTO imports (entity_fiscal_code, application_id, format, mode, "
                           "file_bytes, created_at, actor_kind, actor_id) "
                           "VALUES ($1, 'tributi', 'csv', 'all-or-nothing', 0, now(), "
                           "'application', 'tributi') RETURNING id",
                           std::string(entity_a))[0]
                          .as<std::int64_t>();
      w.exec_params("SELECT pg_advisory_lock($1, $2)", 0x7068696d, static_cast<int>(id));
      held.push_back(id);
    }
    w.commit();
  }
  const std::string csv = csv_header + "\n" + good_row("QUEUE-1", 1000) + "\n";
  const auto refused = upload(csv);
  EXPECT_EQ(refused.status, 429u) << refused.body;
  EXPECT_EQ(refused.header("retry-after"), "60");
  EXPECT_EQ(refused.header("content-type"), "application/problem+json");
  EXPECT_NE(json_of(refused)["detail"].get<std::string>().find("2 imports queued"),
            std::string::npos)
      << refused.body;
  EXPECT_EQ(stored("imports"), 2) << "nothing stored for the refused upload";
  EXPECT_TRUE(spool_empty());
  // The limit is the application's: another one uploads.
  const auto other =
      upload(csv_header + "\n" + good_row("QUEUE-2", 1000) + "\n", "text/csv", "", "tributi-2");
  EXPECT_EQ(other.status, 202u) << other.body;
  // One of tributi's ends: its next upload is taken.
  {
    pqxx::work w(holder);
    w.exec_params("UPDATE imports SET state = 'failed', finished_at = now() WHERE id = $1",
                  held[0]);
    w.commit();
  }
  const auto taken = upload(csv);
  EXPECT_EQ(taken.status, 202u) << taken.body;
  EXPECT_EQ(wait_finished(json_of(taken)["id"].get<std::int64_t>())["state"], "done");

  // One place left (held[1] waits). Uploads at once: each may pass the first count, but the
  // count under the lock, after its file is stored, lets exactly one through; the others roll
  // back what they stored. The workers must not end the one taken meanwhile (a place would free
  // up): the holder also takes the processing locks of the next ids.
  {
    pqxx::nontransaction n(holder);
    const auto last = n.exec("SELECT last_value FROM imports_id_seq")[0][0].as<std::int64_t>();
    for (std::int64_t id = last + 1; id <= last + 16; ++id)
      n.exec_params("SELECT pg_advisory_lock($1, $2)", 0x7068696d, static_cast<int>(id));
  }
  const auto before = stored("imports");
  std::vector<http_reply> at_once(6);
  {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < at_once.size(); ++i) {
      threads.emplace_back([&, i] {
        at_once[i] =
            upload(csv_header + "\n" + good_row("QUEUE-R" + std::to_string(i), 1000) + "\n");
      });
    }
    for (auto& t : threads) t.join();
  }
  int accepted = 0;
  for (const auto& r : at_once) {
    EXPECT_TRUE(r.status == 202u || r.status == 429u) << r.status << " " << r.body;
    if (r.status == 202u) ++accepted;
  }
  EXPECT_EQ(accepted, 1);
  EXPECT_EQ(stored("imports"), before + 1);
  EXPECT_EQ(stored("import_uploads u WHERE NOT EXISTS (SELECT 1 FROM imports i "
                   "WHERE i.entity_fiscal_code = u.entity_fiscal_code AND i.id = u.import_id)"),
            0);
  EXPECT_TRUE(spool_empty());
  pqxx::nontransaction(holder).exec("SELECT pg_advisory_unlock_all()");
}

TEST_F(imports_e2e, openapi_documents_the_import_routes) {
  const auto doc = json_of(http_request(daemon_->port(), verb::get, "/api/v1/openapi.json"));
  const std::string base = "/api/v1/entities/{entityFiscalCode}/imports";
  for (const auto& [path, method] : std::vector<std::pair<std::string, std::string>>{
           {base, "post"}, {base + "/{importId}", "get"}, {base + "/{importId}/report", "get"}}) {
    ASSERT_TRUE(doc["paths"].contains(path)) << path;
    EXPECT_TRUE(doc["paths"][path].contains(method)) << method << " " << path;
  }
}

TEST_F(imports_e2e, the_documented_example_file_loads) {
  std::ifstream in(source_dir() / "config" / "examples" / "positions-import.csv", std::ios::binary);
  ASSERT_TRUE(in);
  const std::string csv((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto [state, lines] = run(csv, "text/csv", "?mode=valid-rows");
  EXPECT_EQ(state["state"], "done") << state.dump();
  EXPECT_EQ(state["positions"]["created"], 4);
  std::map<int, std::string> outcome;
  for (const auto& l : lines) outcome[l.line] += l.f[2] + (l.f[5].empty() ? "" : ":" + l.f[5]);
  EXPECT_EQ(outcome[2], "CREATED");
  EXPECT_EQ(outcome[4], "CREATED");             // instalment 1 of tari-2030-0002
  EXPECT_EQ(outcome[6], "CREATED");             // the shared payment
  EXPECT_EQ(outcome[8], "REJECTED:not_found");  // nothing to cancel on a fresh system
  const auto plan = json_of(get("tributi", api_path(entity_a, "/positions/tari-2030-0002")));
  EXPECT_EQ(plan["paymentOptions"].size(), 3u);
  const auto shared = json_of(get("tributi", api_path(entity_a, "/positions/diritti-2030-0001")));
  EXPECT_EQ(shared["paymentOptions"][0]["transfers"].size(), 2u);
}

}  // namespace
}  // namespace pagohub::test
