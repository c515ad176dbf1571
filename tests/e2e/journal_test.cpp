// The event journal through the real daemon (docs/journal.md): REST writes become INTERFACCIA
// events correlated by request id, the queries are scoped to the caller's entities, the CSV
// export streams, the daemon's own life and reloads are recorded, and `pagohubd journal
// verify` checks the chains the sealer job wrote, and sees an edit made behind its back.
//
// Position state changes become INTERNO events in their own transaction (sql/0016); other
// INTERNO events are inserted here with record_internal, as modules do inside theirs.
#include <pagohub/api/api_key.hpp>
#include <pagohub/journal/record.hpp>

#include <support/pg_database.hpp>

#include <gtest/gtest.h>
#include <signal.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "api_fixture.hpp"
#include "daemon_process.hpp"
#include "http_client.hpp"
#include "support/eventually.hpp"

namespace pagohub::test {
namespace {

using namespace std::chrono_literals;
namespace beast_http = boost::beast::http;

const std::string notice_a = "301000000000000144";  // entity A's segregation code 01
const std::string notice_b = "302000000000000184";  // entity B's, segregation code 02

std::string current_month() {
  using namespace std::chrono;
  const year_month_day d{floor<days>(system_clock::now())};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()));
  return text;
}

using test_support::eventually;

class journal_e2e : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test_support::pg_available()) GTEST_SKIP() << test_support::pg_unavailable_reason();
    db_ = std::make_unique<test_support::test_database>();
    for (const char* app : {"app-a", "app-b", "auditor", "canteen", "office", "slow", "tari-only"})
      keys_[app] = api::generate_api_key();
    daemon_options o;
    o.conninfo = db_->conninfo();
    o.extra_toml = extra_toml();
    daemon_ = std::make_unique<daemon_process>(o);
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    ASSERT_EQ(poll_status(daemon_->port(), "/readyz", 200, 30s), 200u) << daemon_->log();
  }

  std::string extra_toml() const {
    const auto app = [&](const std::string& id, const std::string& fc, const std::string& more) {
      return "[[application]]\nid = \"" + id + "\"\nname = \"" + id + "\"\nentities = [\"" + fc +
             "\"]\napi_key_hashes = [\"" + keys_.at(id).hash_line + "\"]\n" + more + "\n";
    };
    return "[journal]\nflush_interval_ms = 20\nseal_interval_s = 1\n\n"
           "[[entity]]\nfiscal_code = \"" +
           entity_b +
           "\"\nname = \"Comune di Altrove\"\nsegregation_code = 2\n"
           "[[entity.iban]]\niban = \"" +
           iban_b +
           "\"\n[[entity.service]]\ncode = \"TARI\"\ndescription = \"TARI\"\n"
           "taxonomy = \"9/0101002IM/\"\ndefault_ibans = [\"" +
           iban_b + "\"]\n\n" + app("app-a", entity_a, "") + app("app-b", entity_b, "") +
           app("auditor", entity_a, "role = \"admin\"\n") +
           // A second back-office of entity A, and an operator of A.
           app("canteen", entity_a, "") + app("office", entity_a, "role = \"operator\"\n") +
           app("slow", entity_a, "rate_per_second = 1\nburst = 2\n") +
           app("tari-only", entity_a, "services = [\"TARI\"]\n");
  }

  http_reply get(const std::string& app, const std::string& target,
                 std::map<std::string, std::string> headers = {}) const {
    if (!app.empty()) headers["Authorization"] = "Bearer " + keys_.at(app).key;
    return http_request(daemon_->port(), beast_http::verb::get, target, {}, headers);
  }

  nlohmann::json get_json(const std::string& app, const std::string& target) const {
    const auto r = get(app, target);
    EXPECT_EQ(r.status, 200u) << target << ": " << r.body;
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  // What the positions module does in its transactions.
  std::vector<std::int64_t> record(const std::vector<journal::event>& events) {
    pqxx::connection c(db_->conninfo());
    pqxx::work w(c);
    auto ids = journal::record_internal_many(w, events);
    w.commit();
    return ids;
  }

  static journal::event transition(const std::string& entity, const std::string& notice,
                                   const std::string& to_state,
                                   journal::actor by = {"application", "app-a"}) {
    journal::event e;
    e.cat = journal::category::interno;
    e.component = "positions";
    e.type = "positionStateChange";
    e.subtype = to_state;
    e.entity_fc = entity;
    e.notice_number = notice;
    e.by = std::move(by);
    e.outcome = "OK";
    return e;
  }

  std::int64_t count(const std::string& sql) {
    pqxx::connection c(db_->conninfo());
    pqxx::work w(c);
    return w.exec1(sql)[0].as<std::int64_t>();
  }

  std::unique_ptr<test_support::test_database> db_;
  std::map<std::string, api::new_api_key> keys_;
  std::unique_ptr<daemon_process> daemon_;
};

TEST_F(journal_e2e, queries_need_credentials) {
  for (const char* target : {"/api/v1/journal", "/api/v1/journal/1",
                             "/api/v1/entities/01234567897/notices/301000000000000144/timeline"}) {
    const auto none = get("", target);
    EXPECT_EQ(none.status, 401u) << target;
    EXPECT_EQ(none.header("content-type"), "application/problem+json");
    EXPECT_NE(none.header("www-authenticate").find("Bearer"), std::string::npos);
    const auto forged = http_request(daemon_->port(), beast_http::verb::get, target, {},
                                     {{"Authorization", "Bearer phk_" + std::string(43, 'A')}});
    EXPECT_EQ(forged.status, 401u) << target;
  }
  const auto bad = get("app-a", "/api/v1/journal?entity=123&limit=0&colour=red");
  EXPECT_EQ(bad.status, 400u);
  const auto paths = error_paths(bad);
  for (const char* p : {"/query/entity", "/query/limit", "/query/colour"})
    EXPECT_NE(std::find(paths.begin(), paths.end(), p), paths.end()) << p << " " << bad.body;
}

// A query the statement timeout cancels (the test daemon's is 5 s; here the journal is locked
// by a migration-like ACCESS EXCLUSIVE lock) is 503 with Retry-After, not 500.
TEST_F(journal_e2e, a_query_held_past_the_statement_timeout_is_503) {
  pqxx::connection c(db_->conninfo());
  pqxx::work locking(c);
  locking.exec("LOCK TABLE journal_events IN ACCESS EXCLUSIVE MODE");
  const auto r = get("app-a", "/api/v1/journal?limit=5");
  locking.abort();
  EXPECT_EQ(r.status, 503u) << r.body;
  EXPECT_EQ(r.header("retry-after"), "5");
  EXPECT_NE(r.body.find("in time"), std::string::npos) << r.body;
  EXPECT_EQ(get("app-a", "/api/v1/journal?limit=5").status, 200u);
}

// A key's bucket is one for every route it calls: the journal's queries take their tokens
// from it like the positions API.
TEST_F(journal_e2e, queries_take_tokens_from_the_keys_bucket) {
  EXPECT_EQ(get("slow", "/api/v1/journal").status, 200u);
  EXPECT_EQ(get("slow", "/api/v1/journal?limit=5").status, 200u);
  const auto refused = get("slow", "/api/v1/journal");
  ASSERT_EQ(refused.status, 429u) << refused.body;
  EXPECT_EQ(refused.header("content-type"), "application/problem+json");
  EXPECT_FALSE(refused.header("retry-after").empty());
  const auto positions = get("slow", "/api/v1/entities/" + entity_a + "/positions");
  EXPECT_EQ(positions.status, 429u) << positions.body;
  // Another key of the same entity has a bucket of its own.
  EXPECT_EQ(get("office", "/api/v1/journal").status, 200u);
}

TEST_F(journal_e2e, a_rest_write_yields_req_and_rsp_events_with_its_request_id) {
  const auto created = http_request(daemon_->port(), beast_http::verb::put,
                                    api_path(entity_a, "/positions/j-1"), single_position().dump(),
                                    {{"Authorization", "Bearer " + keys_.at("app-a").key},
                                     {"Content-Type", "application/json"},
                                     {"X-Request-Id", "e2e-journal-1"}});
  ASSERT_EQ(created.status, 201u) << created.body;
  nlohmann::json all;
  ASSERT_TRUE(eventually([&] {
    all = get_json("app-a", "/api/v1/journal?requestId=e2e-journal-1")["items"];
    return all.size() == 3;
  })) << all.dump();
  // The state change (INTERNO, committed with the position) and the exchange around it.
  nlohmann::json items = nlohmann::json::array();
  nlohmann::json internal;
  for (const auto& e : all) {
    if (e["categoriaEvento"] == "INTERNO")
      internal = e;
    else
      items.push_back(e);
  }
  EXPECT_EQ(internal["tipoEvento"], "positionStateChange") << internal.dump();
  EXPECT_EQ(internal["sottoTipoEvento"], "CREATED");
  EXPECT_EQ(internal["componente"], "positions");
  EXPECT_EQ(internal["identificativoDominio"], entity_a);
  EXPECT_EQ(internal["actor"]["id"], "app-a");
  const std::string notice =
      nlohmann::json::parse(created.body)["paymentOptions"][0]["noticeNumber"];
  EXPECT_EQ(internal["noticeNumber"], notice);
  EXPECT_EQ(internal["identificativoUnivocoVersamento"], notice.substr(1));
  EXPECT_NE(internal["parametriSpecificiInterfaccia"].get<std::string>().find("externalId=j-1"),
            std::string::npos);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["sottoTipoEvento"], "req");
  EXPECT_EQ(items[1]["sottoTipoEvento"], "rsp");
  for (const auto& e : items) {
    EXPECT_EQ(e["categoriaEvento"], "INTERFACCIA");
    EXPECT_EQ(e["identificativoDominio"], entity_a);
    EXPECT_EQ(e["identificativoFruitore"], "app-a");
    EXPECT_EQ(e["identificativoErogatore"], "15376371009_01");
    EXPECT_EQ(e["actor"]["kind"], "application");
    EXPECT_EQ(e["actor"]["id"], "app-a");
    EXPECT_EQ(e["esito"], "OK");
    EXPECT_EQ(e["tipoEvento"], "PUT /positions/{externalId}");
    EXPECT_EQ(e["requestId"], "e2e-journal-1");
  }
  EXPECT_EQ(items[1]["httpStatus"], 201);
  EXPECT_TRUE(items[1]["durationMs"].is_number());
  // A successful write keeps no payload under the default policy for REST (on_error).
  EXPECT_EQ(items[1]["hasPayload"], false);
  // The other tenant does not see them.
  EXPECT_TRUE(get_json("app-b", "/api/v1/journal?requestId=e2e-journal-1")["items"].empty());

  // A refused write keeps both bodies, redacted.
  auto bad = single_position();
  bad["paymentOptions"][0]["amount"] = -1;
  const auto refused = http_request(daemon_->port(), beast_http::verb::put,
                                    api_path(entity_a, "/positions/j-2"), bad.dump(),
                                    {{"Authorization", "Bearer " + keys_.at("app-a").key},
                                     {"Content-Type", "application/json"},
                                     {"X-Request-Id", "e2e-journal-2"}});
  ASSERT_EQ(refused.status / 100, 4u) << refused.body;
  ASSERT_TRUE(eventually([&] {
    items = get_json("app-a", "/api/v1/journal?requestId=e2e-journal-2")["items"];
    return items.size() == 2;
  }));
  EXPECT_EQ(items[1]["esito"], "KO");
  EXPECT_EQ(items[0]["hasPayload"], true);
  const auto req = get_json("app-a", "/api/v1/journal/" + items[0]["id"].dump());
  EXPECT_EQ(req["payloadStatus"], "stored") << req.dump();
  const std::string body = req["payload"]["body"];
  EXPECT_EQ(body.find("Mario Rossi"), std::string::npos) << body;
  EXPECT_NE(body.find("\"debtor\":\"***\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"amount\":-1"), std::string::npos) << body;
  const std::string headers = req["payload"]["headers"];
  EXPECT_EQ(headers.find(keys_.at("app-a").key), std::string::npos) << headers;
  EXPECT_NE(headers.find("Authorization: ***"), std::string::npos) << headers;
  const auto rsp = get_json("app-a", "/api/v1/journal/" + items[1]["id"].dump());
  EXPECT_NE(rsp["payload"]["contentType"].get<std::string>().find("problem+json"),
            std::string::npos);
}

TEST_F(journal_e2e, a_refused_caller_writes_nothing_into_the_entitys_journal) {
  // No key, then a key of entity A, both on a route of entity B: each attempt is recorded for
  // the admins, but neither belongs to B's journal nor leaves a body there.
  const auto body = single_position().dump();
  const auto anonymous =
      http_request(daemon_->port(), beast_http::verb::put, api_path(entity_b, "/positions/j-3"),
                   body, {{"Content-Type", "application/json"}, {"X-Request-Id", "e2e-journal-3"}});
  ASSERT_EQ(anonymous.status, 401u) << anonymous.body;
  const auto foreign = http_request(daemon_->port(), beast_http::verb::put,
                                    api_path(entity_b, "/positions/j-4"), body,
                                    {{"Authorization", "Bearer " + keys_.at("app-a").key},
                                     {"Content-Type", "application/json"},
                                     {"X-Request-Id", "e2e-journal-4"}});
  ASSERT_EQ(foreign.status, 403u) << foreign.body;
  for (const std::string id : {"e2e-journal-3", "e2e-journal-4"}) {
    nlohmann::json items;
    ASSERT_TRUE(eventually([&] {
      items = get_json("auditor", "/api/v1/journal?requestId=" + id)["items"];
      return items.size() == 2;
    })) << id
        << ": " << items.dump();
    for (const auto& e : items) {
      EXPECT_TRUE(e["identificativoDominio"].is_null()) << e.dump();
      EXPECT_EQ(e["hasPayload"], false) << e.dump();
      EXPECT_EQ(e["esito"], "KO") << e.dump();
    }
    EXPECT_TRUE(get_json("app-b", "/api/v1/journal?requestId=" + id)["items"].empty());
  }
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE entity_fc = '" + entity_b + "'"), 0);
}

TEST_F(journal_e2e, the_timeline_and_every_query_stay_within_the_callers_entities) {
  const auto ids_a =
      record({transition(entity_a, notice_a, "DRAFT"), transition(entity_a, notice_a, "VALID"),
              transition(entity_a, notice_a, "PAID")});
  const auto ids_b = record({transition(entity_b, notice_b, "DRAFT", {"application", "app-b"})});
  const auto timeline =
      get_json("app-a", "/api/v1/entities/" + entity_a + "/notices/" + notice_a + "/timeline");
  ASSERT_EQ(timeline["events"].size(), 3U) << timeline.dump();
  EXPECT_EQ(timeline["events"][0]["sottoTipoEvento"], "DRAFT");
  EXPECT_EQ(timeline["events"][2]["sottoTipoEvento"], "PAID");
  EXPECT_EQ(timeline["events"][0]["identificativoUnivocoVersamento"], "01000000000000144");

  // B's timeline, B's events, B's entity filter: refused or not found for A's key.
  EXPECT_EQ(
      get("app-a", "/api/v1/entities/" + entity_b + "/notices/" + notice_b + "/timeline").status,
      403u);
  EXPECT_EQ(get("app-a", "/api/v1/journal?entity=" + entity_b).status, 403u);
  EXPECT_EQ(get("app-a", "/api/v1/journal/" + std::to_string(ids_b[0])).status, 404u);
  EXPECT_EQ(get("app-b", "/api/v1/journal/" + std::to_string(ids_a[0])).status, 404u);
  // The entity filter alone keeps out an event of B that A's application caused (its own
  // events are otherwise in its scope), for a back-office and an operator of A alike.
  const auto caused_in_b = std::to_string(
      record({transition(entity_b, notice_b, "VALID", {"application", "app-a"})})[0]);
  EXPECT_EQ(get("app-a", "/api/v1/journal/" + caused_in_b).status, 404u);
  EXPECT_EQ(get("office", "/api/v1/journal/" + caused_in_b).status, 404u);
  for (const char* app : {"app-a", "office"}) {
    const auto page = get_json(app, "/api/v1/journal?limit=1000");
    for (const auto& e : page["items"]) EXPECT_NE(e["id"].dump(), caused_in_b) << app;
  }
  // The page is held by name: a range-for over a member of a temporary outlives the temporary.
  const auto page_a = get_json("app-a", "/api/v1/journal?limit=1000");
  for (const auto& e : page_a["items"]) EXPECT_EQ(e["identificativoDominio"], entity_a) << e.dump();
  const auto by_iuv = get_json("app-b", "/api/v1/journal?iuv=02000000000000184")["items"];
  ASSERT_EQ(by_iuv.size(), 1U);
  EXPECT_EQ(by_iuv[0]["id"], ids_b[0]);
  EXPECT_EQ(get("app-b", "/api/v1/journal/" + std::to_string(ids_b[0])).status, 200u);

  // The admin application reads everything, the daemon's own events included.
  EXPECT_EQ(get("auditor", "/api/v1/journal/" + std::to_string(ids_b[0])).status, 200u);
  const auto starts = get_json("auditor", "/api/v1/journal?tipoEvento=daemonStart")["items"];
  ASSERT_EQ(starts.size(), 1U);
  EXPECT_TRUE(starts[0]["identificativoDominio"].is_null());
  EXPECT_TRUE(get_json("app-a", "/api/v1/journal?tipoEvento=daemonStart")["items"].empty());
}

TEST_F(journal_e2e, back_offices_of_one_entity_read_only_their_own_events) {
  // Two back-offices of entity A each load a position; the Nodo then verifies A's notice.
  std::string notices[2];
  const char* apps[2] = {"app-a", "canteen"};
  for (int i = 0; i < 2; ++i) {
    const auto created = http_request(daemon_->port(), beast_http::verb::put,
                                      api_path(entity_a, std::string("/positions/own-") + apps[i]),
                                      single_position().dump(),
                                      {{"Authorization", "Bearer " + keys_.at(apps[i]).key},
                                       {"Content-Type", "application/json"},
                                       {"X-Request-Id", std::string("e2e-own-") + apps[i]}});
    ASSERT_EQ(created.status, 201u) << created.body;
    notices[i] = nlohmann::json::parse(created.body)["paymentOptions"][0]["noticeNumber"];
  }
  auto verify = transition(entity_a, notices[0], "verified", {"nodo", "nodo"});
  verify.type = "paVerifyPaymentNotice";
  const auto verify_id = record({verify})[0];

  const auto request_ids = [&](const std::string& app) {
    std::multiset<std::string> out;
    const auto page = get_json(app, "/api/v1/journal?limit=1000");
    for (const auto& e : page["items"])
      out.insert(e.contains("requestId") && e["requestId"].is_string()
                     ? e["requestId"].get<std::string>()
                     : e["tipoEvento"].get<std::string>());
    return out;
  };
  // Each sees its exchange (req, rsp) and its position's INTERNO event; A also the Nodo's
  // verify of its notice. The operator of the entity sees all of it.
  std::multiset<std::string> seen;
  ASSERT_TRUE(eventually([&] {
    seen = request_ids("office");
    return seen.count("e2e-own-app-a") == 3 && seen.count("e2e-own-canteen") == 3;
  })) << nlohmann::json(seen).dump();
  EXPECT_EQ(seen.count("paVerifyPaymentNotice"), 1U);
  EXPECT_EQ(request_ids("app-a"),
            (std::multiset<std::string>{"e2e-own-app-a", "e2e-own-app-a", "e2e-own-app-a",
                                        "paVerifyPaymentNotice"}));
  EXPECT_EQ(request_ids("canteen"),
            (std::multiset<std::string>{"e2e-own-canteen", "e2e-own-canteen", "e2e-own-canteen"}));
  // The timeline and the single event follow the same rule.
  const auto timeline = "/api/v1/entities/" + entity_a + "/notices/" + notices[0] + "/timeline";
  EXPECT_EQ(get_json("app-a", timeline)["events"].size(), 2U);
  EXPECT_TRUE(get_json("canteen", timeline)["events"].empty());
  EXPECT_EQ(get("app-a", "/api/v1/journal/" + std::to_string(verify_id)).status, 200u);
  EXPECT_EQ(get("canteen", "/api/v1/journal/" + std::to_string(verify_id)).status, 404u);
  EXPECT_EQ(get("office", "/api/v1/journal/" + std::to_string(verify_id)).status, 200u);

  // A verify of a notice nobody loaded is no position's: the back-offices granted every service
  // read it (as the receipts feed shows them receipts for unknown notices), one limited to some
  // services does not.
  auto unknown = transition(entity_a, "301000000000099943", "verified", {"nodo", "nodo"});
  unknown.type = "paVerifyPaymentNotice";
  unknown.iuv = "01000000000099943";
  const auto unknown_id = std::to_string(record({unknown})[0]);
  EXPECT_EQ(get("canteen", "/api/v1/journal/" + unknown_id).status, 200u);
  EXPECT_EQ(get("app-a", "/api/v1/journal/" + unknown_id).status, 200u);
  EXPECT_EQ(get("tari-only", "/api/v1/journal/" + unknown_id).status, 404u);
  EXPECT_EQ(get("tari-only", "/api/v1/journal/" + std::to_string(verify_id)).status, 404u);
}

TEST_F(journal_e2e, csv_export_streams_every_matching_event) {
  std::vector<journal::event> many;
  for (int i = 0; i < 4500; ++i) {
    auto e = transition(entity_a, notice_a, "S" + std::to_string(i));
    e.type = "bulkTest";
    e.interface_params = i == 7 ? "note=with, comma and \"quotes\"" : "";
    many.push_back(e);
  }
  record(many);
  record({[] {
    auto e = transition(entity_b, notice_b, "x");
    e.type = "bulkTest";
    return e;
  }()});
  http_reply r;
  try {
    r = get("app-a", "/api/v1/journal?tipoEvento=bulkTest", {{"Accept", "text/csv"}});
  } catch (const std::exception& e) {
    FAIL() << e.what() << "\n" << daemon_->log();
  }
  ASSERT_EQ(r.status, 200u) << r.body.substr(0, 500) << daemon_->log();
  EXPECT_NE(r.header("content-type").find("text/csv"), std::string::npos);
  EXPECT_EQ(r.header("transfer-encoding"), "chunked") << "the export is streamed";
  EXPECT_NE(r.header("content-disposition").find("journal.csv"), std::string::npos);
  std::istringstream lines(r.body);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) ++n;
  EXPECT_EQ(n, 4501) << "header and one line per event of the caller's entities";
  EXPECT_TRUE(r.body.starts_with("id,dataOraEvento,identificativoDominio,"));
  EXPECT_NE(r.body.find("\"note=with, comma and \"\"quotes\"\"\""), std::string::npos);
  EXPECT_EQ(r.body.find(entity_b), std::string::npos);
  // The timeline exports the same way.
  const auto t = get("app-a", "/api/v1/entities/" + entity_a + "/notices/" + notice_a + "/timeline",
                     {{"Accept", "text/csv"}});
  EXPECT_EQ(t.status, 200u);
  EXPECT_EQ(t.header("transfer-encoding"), "chunked");
}

TEST_F(journal_e2e, lifecycle_reloads_and_verify_through_the_daemon) {
  record({transition(entity_a, notice_a, "DRAFT")});
  daemon_->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] {
    return get_json("auditor", "/api/v1/journal?tipoEvento=configReload")["items"].size() == 1;
  })) << daemon_->log();

  // The sealer job chains everything within a few seconds; verify then passes.
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM journal_events") ==
           count("SELECT count(*) FROM journal_chain");
  }));
  const std::string cfg = daemon_->config_file().string();
  const auto month = current_month();
  auto [ok_code, ok_out] = run_pagohubd("journal verify --from " + month + " --config " + cfg);
  EXPECT_EQ(ok_code, 0) << ok_out;
  EXPECT_NE(ok_out.find("journal verify: OK"), std::string::npos) << ok_out;

  // Someone with the database's superuser edits an event behind the daemon's back.
  {
    pqxx::connection c(db_->conninfo());
    pqxx::work w(c);
    const std::string part = "journal_events_" + month.substr(0, 4) + month.substr(5, 2);
    w.exec("ALTER TABLE " + part + " DISABLE TRIGGER USER");
    w.exec("UPDATE " + part + " SET event_subtype = 'PAID' WHERE event_subtype = 'DRAFT'");
    w.exec("ALTER TABLE " + part + " ENABLE TRIGGER USER");
    w.commit();
  }
  auto [bad_code, bad_out] = run_pagohubd("journal verify --from " + month + " --config " + cfg);
  EXPECT_EQ(bad_code, 1) << bad_out;
  EXPECT_NE(bad_out.find("BROKEN"), std::string::npos) << bad_out;
  EXPECT_NE(bad_out.find("hash mismatch"), std::string::npos) << bad_out;

  daemon_->signal(SIGTERM);
  ASSERT_EQ(daemon_->wait_exit(20s), 0) << daemon_->log();
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'daemonStop'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM daemon_instances"), 0);
}

}  // namespace
}  // namespace pagohub::test
