// Outbox delivery through the real daemon: receipts made by nodo-sim's client (verify,
// getPayment, sendRT) reach fake-bo once each; a back-office down for a while gets everything
// when it is back; a 400 goes to the dead letters and an operator's resend delivers it;
// suspend/resume; two daemons on one database send each message once.
#include <pagohub/api/api_key.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "fake_bo.hpp"
#include "pap_fixture.hpp"
#include "support/eventually.hpp"

namespace pagohub::test {
namespace {

using namespace std::chrono_literals;
namespace http = boost::beast::http;
using test_support::eventually;

class delivery_e2e : public pap_e2e {
 protected:
  void SetUp() override {
    if (!test_support::pg_available()) GTEST_SKIP() << test_support::pg_unavailable_reason();
    fake_bo::settings s;
    s.require_api_key = "bo-secret-value";
    s.threads = 2;
    // A port below the ephemeral range: while fake-bo is down, no outgoing connection of the
    // daemon can take its port, so it can listen again.
    std::mt19937 rng{std::random_device{}()};
    for (int attempt = 0;; ++attempt) {
      s.port = static_cast<unsigned short>(20000 + rng() % 10000);
      try {
        bo_ = std::make_unique<fake_bo::server>(s);
        bo_->start();
        break;
      } catch (const std::exception&) {
        if (attempt > 20) throw;
      }
    }
    pap_e2e::SetUp();
  }
  void TearDown() override {
    second_.reset();
    pap_e2e::TearDown();
    bo_.reset();
  }

  virtual std::string integration_toml() const {
    return "[[integration]]\nid = \"tests-push\"\nentities = [\"" + pap_entity +
           "\"]\napplication = \"tests\"\nbase_url = \"http://127.0.0.1:" +
           std::to_string(bo_->port()) +
           "/bo\"\nauth = \"api_key\"\nsecret_env = \"PAGOHUB_TEST_BO_SECRET\"\n"
           "timeout_ms = 2000\nmax_concurrency = 4\nmax_attempts = 100\n"
           "backoff_initial_ms = 50\nbackoff_max_ms = 300\nbreaker_failures = 3\n"
           "breaker_open_ms = 300\n";
  }

  std::string extra_toml() const override {
    ::setenv("PAGOHUB_TEST_BO_SECRET", "bo-secret-value", 1);
    return pap_e2e::extra_toml() + "\n[[application]]\nid = \"ops\"\nname = \"operators\"\n" +
           "role = \"operator\"\nentities = [\"" + pap_entity + "\"]\napi_key_hashes = [\"" +
           ops_key_.hash_line + "\"]\n\n[[application]]\nid = \"slow-ops\"\nname = \"slow\"\n" +
           "role = \"operator\"\nentities = [\"" + pap_entity + "\"]\napi_key_hashes = [\"" +
           slow_key_.hash_line + "\"]\nrate_per_second = 1\nburst = 2\n\n" + integration_toml();
  }

  // PUTs per receipt id the fake answered 2xx/409.
  std::map<std::string, int> acked_puts() const {
    std::map<std::string, int> out;
    for (const auto& r : bo_->log())
      if (r.method == "PUT" && (r.answered / 100 == 2 || r.answered == 409))
        ++out[r.idempotency_key];
    return out;
  }

  http_reply admin(http::verb method, const std::string& target, const std::string& body = {},
                   const std::string& key = {}) {
    return http_request(daemon_->port(), method, target, body,
                        {{"Authorization", "Bearer " + (key.empty() ? ops_key_.key : key)},
                         {"Content-Type", "application/json"}});
  }

  std::unique_ptr<fake_bo::server> bo_;
  std::unique_ptr<daemon_process> second_;
  api::new_api_key ops_key_ = api::generate_api_key();
  api::new_api_key slow_key_ = api::generate_api_key();
};

TEST_F(delivery_e2e, receipts_are_delivered_once_with_the_contract) {
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(pay());
  ASSERT_TRUE(eventually([&] { return bo_->distinct_acknowledged() == ids.size(); }))
      << bo_->log_json() << daemon_->log();
  ASSERT_TRUE(eventually([&] {
    return count(
               "SELECT count(*) FROM outbox WHERE state = 'DELIVERED' AND delivered_via = "
               "'push'") == 6;
  }));
  const auto puts = acked_puts();
  for (const auto& id : ids) EXPECT_EQ(puts.at(id), 1) << id;
  // The contract: PUT {base}/receipts/{receiptId}, Idempotency-Key = receiptId, the API key,
  // the receipt with the position's external id.
  const auto log = bo_->log();
  const auto& first = *std::find_if(log.begin(), log.end(),
                                    [&](const auto& r) { return r.idempotency_key == ids[0]; });
  EXPECT_EQ(first.target, "/bo/receipts/" + ids[0]);
  EXPECT_EQ(first.api_key, "bo-secret-value");
  const auto body = nlohmann::json::parse(first.body);
  EXPECT_EQ(body["receiptId"], ids[0]);
  EXPECT_EQ(body["entityFiscalCode"], pap_entity);
  EXPECT_EQ(body["positionExternalId"], "pos-1");
  EXPECT_EQ(body["applicationId"], "tests");
  EXPECT_EQ(body["amount"], 12000);
  ASSERT_TRUE(body["transfers"].is_array());
  // How the back-office books it: the accounting entries the position was loaded with.
  const auto& accounting = body["transfers"][0]["accounting"];
  ASSERT_EQ(accounting.size(), 2u) << first.body;
  EXPECT_EQ(accounting[0]["chapter"], "1010");
  EXPECT_EQ(accounting[0]["assessment"], "A-77");
  EXPECT_EQ(accounting[0]["amount"].get<int>() + accounting[1]["amount"].get<int>(), 12000);
  EXPECT_TRUE(body["applied"].get<bool>());
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'deliveryDelivered'"), 6);
  // Each PUT is an INTERFACCIA exchange in the journal: a req and a rsp event with the request
  // id the back-office received (X-Request-Id), and the outcome's INTERNO event carries it too.
  // They go through the writer's queue: wait for them.
  ASSERT_TRUE(eventually([&] {
    return count(
               "SELECT count(*) FROM journal_events WHERE category = 'INTERFACCIA' "
               "AND interface = 'webhook'") == 12;
  }));
  for (const auto& id : ids) {
    const auto& put = *std::find_if(log.begin(), log.end(),
                                    [&](const auto& r) { return r.idempotency_key == id; });
    ASSERT_EQ(put.request_id.size(), 32u) << id;
    const std::string rid = "'" + put.request_id + "'";
    EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE request_id = " + rid +
                    " AND category = 'INTERFACCIA' AND interface = 'webhook' "
                    "AND event_type = 'PUT /receipts/{receiptId}' AND component = 'integration' "
                    "AND entity_fc = '" +
                    pap_entity +
                    "' AND provider_id = 'tests-push' AND outcome = 'OK' "
                    "AND notice_number IS NOT NULL AND iuv IS NOT NULL"),
              2)
        << id;
    EXPECT_EQ(scalar("SELECT string_agg(event_subtype, ',' ORDER BY event_time, id) FROM "
                     "journal_events WHERE request_id = " +
                     rid + " AND category = 'INTERFACCIA'"),
              "req,rsp");
    EXPECT_EQ(scalar("SELECT http_status FROM journal_events WHERE request_id = " + rid +
                     " AND event_subtype = 'rsp'"),
              "204");
    EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE request_id = " + rid +
                    " AND event_subtype = 'rsp' AND duration_ms >= 0"),
              1);
    EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE request_id = " + rid +
                    " AND event_type = 'deliveryDelivered' AND category = 'INTERNO'"),
              1);
  }
  // Payload policy for webhooks (default on_error): a delivered exchange keeps no body.
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE interface = 'webhook' "
                  "AND payload_sha256 IS NOT NULL"),
            0);
  // The secret never reaches the log.
  EXPECT_EQ(daemon_->log().find("bo-secret-value"), std::string::npos);
  // Metrics.
  const auto metrics = http_request(daemon_->port(), http::verb::get, "/metrics");
  EXPECT_NE(metrics.body.find(
                "pagohub_delivery_total{integration=\"tests-push\",outcome=\"delivered\"} 6"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("pagohub_delivery_attempt_seconds_count{integration=\"tests-push\"}"),
            std::string::npos);
}

TEST_F(delivery_e2e, a_cancelled_position_reaches_the_back_office_as_an_event) {
  make_position();  // pos-1
  const auto cancelled = http_request(daemon_->port(), http::verb::post,
                                      "/api/v1/entities/" + pap_entity + "/positions/pos-1/cancel",
                                      {}, {{"Authorization", "Bearer " + key_.key}});
  ASSERT_EQ(cancelled.status, 200u) << cancelled.body;
  // The contract: PUT {base}/events/{eventId}, Idempotency-Key = eventId, a PositionEvent.
  ASSERT_TRUE(eventually([&] { return bo_->distinct_acknowledged() == 1; }))
      << bo_->log_json() << daemon_->log();
  const auto log = bo_->log();
  ASSERT_EQ(log.size(), 1u) << bo_->log_json();
  EXPECT_EQ(log[0].method, "PUT");
  EXPECT_EQ(log[0].target, "/bo/events/" + log[0].idempotency_key);
  const auto body = nlohmann::json::parse(log[0].body);
  EXPECT_EQ(body["eventId"], log[0].idempotency_key);
  EXPECT_EQ(body["type"], "position.cancelled");
  EXPECT_EQ(body["positionExternalId"], "pos-1");
  EXPECT_EQ(body["status"], "CANCELLED");
  EXPECT_EQ(body["previousStatus"], "VALID");
  EXPECT_EQ(body["entityFiscalCode"], pap_entity);
}

TEST_F(delivery_e2e, back_office_down_for_a_while_then_everything_arrives) {
  bo_->down();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(pay());
  // Attempts fail and are rescheduled; nothing is lost.
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM outbox_attempts WHERE outcome = 'RETRY'") >= 5;
  })) << daemon_->log();
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'DELIVERED'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'DEAD'"), 0);
  std::this_thread::sleep_for(700ms);
  bo_->up();
  ASSERT_TRUE(eventually([&] { return bo_->distinct_acknowledged() == ids.size(); }))
      << bo_->log_json();
  ASSERT_TRUE(eventually(
      [&] { return count("SELECT count(*) FROM outbox WHERE state = 'DELIVERED'") == 5; }));
  for (const auto& [id, n] : acked_puts()) EXPECT_EQ(n, 1) << id;
  EXPECT_NE(scalar("SELECT max(attempts) FROM outbox"), "1");
}

TEST_F(delivery_e2e, rejected_message_goes_dead_and_resend_delivers_it) {
  bo_->set_mode(fake_bo::behaviour::reject);
  const auto id = pay();
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM outbox WHERE state = 'DEAD'") == 1;
  })) << daemon_->log();
  EXPECT_EQ(count("SELECT attempts FROM outbox"), 1);  // a 400 is not retried

  // The operator finds it, with the answer the back-office gave.
  auto list = admin(http::verb::get, "/api/v1/admin/deliveries?state=DEAD&entity=" + pap_entity);
  ASSERT_EQ(list.status, 200u) << list.body;
  const auto page = nlohmann::json::parse(list.body);
  ASSERT_EQ(page["items"].size(), 1u);
  EXPECT_EQ(page["items"][0]["key"], id);
  EXPECT_EQ(page["items"][0]["lastStatus"], 400);
  const auto delivery_id = page["items"][0]["id"].get<long long>();
  auto one = admin(http::verb::get, "/api/v1/admin/deliveries/" + std::to_string(delivery_id));
  ASSERT_EQ(one.status, 200u) << one.body;
  const auto detail = nlohmann::json::parse(one.body);
  ASSERT_EQ(detail["attemptLog"].size(), 1u);
  EXPECT_EQ(detail["attemptLog"][0]["httpStatus"], 400);
  EXPECT_NE(detail["attemptLog"][0]["responseBody"].get<std::string>().find("refused by the fake"),
            std::string::npos);
  // The refused exchange is in the journal, KO, with both bodies (payload policy on_error),
  // correlated with the deliveryDead event by its request id.
  const auto put = bo_->log().front();
  ASSERT_EQ(put.request_id.size(), 32u);
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM journal_events WHERE request_id = '" + put.request_id +
                 "' AND interface = 'webhook' AND outcome = 'KO' "
                 "AND payload_sha256 IS NOT NULL") == 2;
  }));
  EXPECT_EQ(scalar("SELECT http_status FROM journal_events WHERE request_id = '" + put.request_id +
                   "' AND event_subtype = 'rsp'"),
            "400");
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE request_id = '" + put.request_id +
                  "' AND event_type = 'deliveryDead'"),
            1);

  // A back-office key may not do this; bad input changes nothing.
  EXPECT_EQ(admin(http::verb::get, "/api/v1/admin/deliveries", {}, key_.key).status, 403u);
  EXPECT_EQ(admin(http::verb::get, "/api/v1/admin/deliveries", {}, "phk_nope").status, 401u);
  auto bad = admin(http::verb::get, "/api/v1/admin/deliveries?state=LOST");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("/query/state"), std::string::npos) << bad.body;
  EXPECT_EQ(bad.header("content-type"), "application/problem+json");
  EXPECT_EQ(admin(http::verb::post, "/api/v1/admin/deliveries/resend", R"({"reason":"x"})").status,
            400u);  // state is required
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'DEAD'"), 1);

  // Fixed upstream: resend.
  bo_->set_mode(fake_bo::behaviour::ok);
  auto resent =
      admin(http::verb::post, "/api/v1/admin/deliveries/" + std::to_string(delivery_id) + "/resend",
            R"({"reason":"back-office fixed its validation"})");
  ASSERT_EQ(resent.status, 200u) << resent.body;
  ASSERT_TRUE(eventually(
      [&] { return count("SELECT count(*) FROM outbox WHERE state = 'DELIVERED'") == 1; }));
  EXPECT_EQ(acked_puts().at(id), 1);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'deliveryResent' "
                  "AND actor_id = 'ops'"),
            1);

  // Dead letters in bulk: another rejected one, requeued with the filter.
  bo_->set_mode(fake_bo::behaviour::reject);
  pay();
  ASSERT_TRUE(
      eventually([&] { return count("SELECT count(*) FROM outbox WHERE state = 'DEAD'") == 1; }));
  bo_->set_mode(fake_bo::behaviour::ok);
  auto requeued = admin(http::verb::post, "/api/v1/admin/deliveries/requeue-dead",
                        R"({"entity":")" + pap_entity + R"(","reason":"bulk"})");
  ASSERT_EQ(requeued.status, 200u) << requeued.body;
  EXPECT_EQ(nlohmann::json::parse(requeued.body)["resent"], 1);
  ASSERT_TRUE(eventually(
      [&] { return count("SELECT count(*) FROM outbox WHERE state = 'DELIVERED'") == 2; }));
}

TEST_F(delivery_e2e, operator_keys_are_rate_limited_like_back_office_keys) {
  EXPECT_EQ(admin(http::verb::get, "/api/v1/admin/integrations", {}, slow_key_.key).status, 200u);
  EXPECT_EQ(admin(http::verb::get, "/api/v1/admin/integrations", {}, slow_key_.key).status, 200u);
  const auto limited = admin(http::verb::get, "/api/v1/admin/integrations", {}, slow_key_.key);
  EXPECT_EQ(limited.status, 429u) << limited.body;
  EXPECT_FALSE(limited.header("retry-after").empty());
  // Another key's bucket is its own.
  EXPECT_EQ(admin(http::verb::get, "/api/v1/admin/integrations").status, 200u);
}

TEST_F(delivery_e2e, suspended_integration_accumulates_and_resumes_in_order) {
  auto s = admin(http::verb::post, "/api/v1/admin/integrations/tests-push/suspend",
                 R"({"reason":"back-office maintenance"})");
  ASSERT_EQ(s.status, 200u) << s.body;
  EXPECT_EQ(nlohmann::json::parse(s.body)["state"], "SUSPENDED");
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(pay());
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(bo_->count(), 0u);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'PENDING'"), 4);
  auto list = admin(http::verb::get, "/api/v1/admin/integrations");
  ASSERT_EQ(list.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(list.body)["items"][0]["state"], "SUSPENDED");
  EXPECT_EQ(admin(http::verb::post, "/api/v1/admin/integrations/nope/resume").status, 404u);
  EXPECT_EQ(
      admin(http::verb::post, "/api/v1/admin/integrations/tests-push/resume", {}, key_.key).status,
      403u);

  auto r = admin(http::verb::post, "/api/v1/admin/integrations/tests-push/resume",
                 R"({"reason":"done"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  ASSERT_TRUE(eventually([&] { return bo_->distinct_acknowledged() == ids.size(); }))
      << daemon_->log();
  for (const auto& [id, n] : acked_puts()) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type IN "
                  "('integrationSuspended', 'integrationResumed') AND actor_id = 'ops'"),
            2);
}

TEST_F(delivery_e2e, a_batch_larger_than_the_connections_waits_its_turn_without_failing) {
  // Held back, then released at once: the 16 messages are due together, on 4 connections, to a
  // back-office taking 600 ms each. Four rounds take 2.4 s, more than the 2 s timeout, which
  // must count for each request from when it has a connection, not from the batch's start.
  ASSERT_EQ(admin(http::verb::post, "/api/v1/admin/integrations/tests-push/suspend",
                  R"({"reason":"hold"})")
                .status,
            200u);
  std::vector<std::string> ids;
  for (int i = 0; i < 16; ++i) ids.push_back(pay());
  bo_->set_delay(600ms);
  ASSERT_EQ(
      admin(http::verb::post, "/api/v1/admin/integrations/tests-push/resume", R"({"reason":"go"})")
          .status,
      200u);
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM outbox WHERE state = 'DELIVERED'") == 16;
  })) << daemon_->log();
  // Each message went once, at its first attempt: no request failed for want of a connection,
  // and the circuit never opened against a back-office that was only busy.
  EXPECT_EQ(count("SELECT max(attempts) FROM outbox"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox_attempts"), 16);
  EXPECT_EQ(count("SELECT count(*) FROM outbox_attempts WHERE outcome <> 'DELIVERED'"), 0);
  for (const auto& [id, n] : acked_puts()) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(acked_puts().size(), ids.size());
  const auto metrics = http_request(daemon_->port(), http::verb::get, "/metrics");
  EXPECT_NE(
      metrics.body.find("pagohub_delivery_total{integration=\"tests-push\",outcome=\"retry\"} 0"),
      std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("pagohub_delivery_breaker_open{integration=\"tests-push\"} 0"),
            std::string::npos)
      << metrics.body;
}

TEST_F(delivery_e2e, two_daemons_on_one_database_deliver_each_message_once) {
  daemon_options o;
  o.conninfo = db_->conninfo();
  o.extra_toml = extra_toml();
  second_ = std::make_unique<daemon_process>(o);
  ASSERT_TRUE(second_->start()) << second_->log();
  bo_->set_delay(5ms);  // long enough for the two to overlap
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) ids.push_back(pay());
  ASSERT_TRUE(eventually([&] { return bo_->distinct_acknowledged() == ids.size(); }, 60s))
      << bo_->log_json();
  ASSERT_TRUE(eventually(
      [&] { return count("SELECT count(*) FROM outbox WHERE state = 'DELIVERED'") == 30; }));
  std::size_t puts = 0;
  for (const auto& r : bo_->log()) puts += r.method == "PUT" ? 1 : 0;
  EXPECT_EQ(puts, ids.size());  // not one message sent twice
  EXPECT_EQ(count("SELECT count(*) FROM outbox_attempts"), 30);
}

// File mode: one JSON file per message in <directory>/<entity>/, written atomically.
class file_delivery_e2e : public delivery_e2e {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pagohub-files-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    delivery_e2e::SetUp();
  }
  void TearDown() override {
    delivery_e2e::TearDown();
    std::filesystem::remove_all(dir_);
  }
  std::string integration_toml() const override {
    return "[[integration]]\nid = \"tests-files\"\nentities = [\"" + pap_entity +
           "\"]\nmode = \"file\"\ndirectory = \"" + dir_.string() + "\"\n";
  }
  std::filesystem::path dir_;
};

TEST_F(file_delivery_e2e, each_message_becomes_one_complete_file) {
  const auto a = pay();
  const auto b = pay();
  const auto entity_dir = dir_ / pap_entity;
  ASSERT_TRUE(eventually([&] {
    return count(
               "SELECT count(*) FROM outbox WHERE state = 'DELIVERED' AND delivered_via = "
               "'file'") == 2;
  })) << daemon_->log();
  std::vector<std::string> names;
  for (const auto& f : std::filesystem::directory_iterator(entity_dir))
    names.push_back(f.path().filename().string());
  std::sort(names.begin(), names.end());
  std::vector<std::string> want = {"receipt_" + a + ".json", "receipt_" + b + ".json"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names, want);  // no temporary file left behind
  std::ifstream in(entity_dir / ("receipt_" + a + ".json"));
  const auto body = nlohmann::json::parse(in);
  EXPECT_EQ(body["receiptId"], a);
  EXPECT_EQ(body["positionExternalId"], "pos-1");
  EXPECT_EQ(bo_->count(), 0u);  // nothing pushed
}

}  // namespace
}  // namespace pagohub::test
