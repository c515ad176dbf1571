// The back-office client against fake-bo over loopback: keep-alive reuse, the auth kinds,
// deadlines, a server that is down, TLS with verification and mTLS.
#include <pagohub/integration/bo_client.hpp>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "fake_bo.hpp"
#include "support/loopback_bo.hpp"

namespace {

namespace asio = boost::asio;
using namespace pagohub;
using integration::bo_auth;
using integration::bo_client;
using integration::bo_endpoint;
using verb = boost::beast::http::verb;
using clock_type = std::chrono::steady_clock;

class bo_client_test : public ::testing::Test {
 protected:
  void SetUp() override {
    work_.emplace(ioc_.get_executor());
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    work_.reset();
    ioc_.stop();
    thread_.join();
  }

  core::result<integration::bo_response> put(
      bo_client& c, const std::string& path,
      std::chrono::milliseconds budget = std::chrono::seconds(5)) {
    return asio::co_spawn(ioc_,
                          c.request(verb::put, path, R"({"receiptId":"r1"})", "application/json",
                                    clock_type::now() + budget, {{"Idempotency-Key", "k-" + path}}),
                          asio::use_future)
        .get();
  }

  // `n` requests (PUT {prefix}{i}, empty JSON) started together, each with `budget`; every
  // answer, in order.
  std::vector<core::result<integration::bo_response>> burst(
      bo_client& c, const std::string& prefix, int n,
      std::chrono::milliseconds budget = std::chrono::seconds(5)) {
    std::vector<std::future<core::result<integration::bo_response>>> futures;
    for (int i = 0; i < n; ++i) {
      futures.push_back(asio::co_spawn(ioc_,
                                       c.request(verb::put, prefix + std::to_string(i), "{}",
                                                 "application/json", clock_type::now() + budget),
                                       asio::use_future));
    }
    std::vector<core::result<integration::bo_response>> out;
    for (auto& f : futures) out.push_back(f.get());
    return out;
  }

  // The same with bo_client::attempt, which tells a request never sent apart.
  std::vector<integration::bo_attempt> burst_attempts(
      bo_client& c, const std::string& prefix, int n,
      std::chrono::milliseconds budget = std::chrono::seconds(10)) {
    std::vector<std::future<integration::bo_attempt>> futures;
    for (int i = 0; i < n; ++i) {
      futures.push_back(asio::co_spawn(ioc_,
                                       c.attempt(verb::put, prefix + std::to_string(i), "{}",
                                                 "application/json", clock_type::now() + budget),
                                       asio::use_future));
    }
    std::vector<integration::bo_attempt> out;
    for (auto& f : futures) out.push_back(f.get());
    return out;
  }

  static std::string url(unsigned short port, const std::string& host = "127.0.0.1",
                         bool tls = false) {
    return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
  }

  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
};

TEST_F(bo_client_test, put_with_api_key_reuses_one_connection) {
  fake_bo::settings s;
  s.require_api_key = "s3cret";
  fake_bo::server bo(s);
  const auto port = bo.start();
  bo_endpoint ep;
  ep.base_url = url(port) + "/bo/v1/";
  ep.auth.type = bo_auth::kind::api_key;
  ep.auth.secret = "s3cret";
  bo_client client(ioc_.get_executor(), ep);
  for (int i = 0; i < 20; ++i) {
    auto r = put(client, "/receipts/r" + std::to_string(i));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 204u);
  }
  EXPECT_EQ(bo.count(), 20u);
  EXPECT_EQ(bo.connections(), 1u);  // keep-alive
  const auto log = bo.log();
  EXPECT_EQ(log[3].target, "/bo/v1/receipts/r3");  // the base path is kept
  EXPECT_EQ(log[3].idempotency_key, "k-/receipts/r3");
  EXPECT_EQ(log[3].body, R"({"receiptId":"r1"})");
}

TEST_F(bo_client_test, wrong_key_is_an_answer_not_an_error) {
  fake_bo::settings s;
  s.require_api_key = "right";
  fake_bo::server bo(s);
  bo_endpoint ep;
  ep.base_url = url(bo.start());
  ep.auth.type = bo_auth::kind::api_key;
  ep.auth.secret = "wrong";
  bo_client client(ioc_.get_executor(), ep);
  auto r = put(client, "/receipts/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401u);
}

// A back-office may quote the request in its answer (a 401 echoing the credentials it refused):
// the answer is kept (last error, attempts, journal), the secrets in it are not.
TEST_F(bo_client_test, credentials_quoted_in_an_answer_are_redacted) {
  test_support::loopback_bo bo;
  const std::string secret = "s3cret-api-key-0123456789";
  bo.set("N1", {401, R"({"detail":"key )" + secret + R"( refused; )" + secret + R"("})"});
  bo_endpoint ep;
  ep.base_url = bo.base_url();
  ep.auth.type = bo_auth::kind::api_key;
  ep.auth.secret = secret;
  bo_client client(ioc_.get_executor(), ep);
  const auto r = asio::co_spawn(ioc_,
                                client.request(verb::get, "/notices/N1", "", "",
                                               clock_type::now() + std::chrono::seconds(5)),
                                asio::use_future)
                     .get();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 401u);
  EXPECT_EQ(r->body.find(secret), std::string::npos) << r->body;
  EXPECT_EQ(r->body, R"({"detail":"key [redacted] refused; [redacted]"})");
}

TEST_F(bo_client_test, basic_auth) {
  fake_bo::settings s;
  s.require_basic = "gateway:pa ss";
  fake_bo::server bo(s);
  bo_endpoint ep;
  ep.base_url = url(bo.start());
  ep.auth.type = bo_auth::kind::basic;
  ep.auth.username = "gateway";
  ep.auth.secret = "pa ss";
  bo_client client(ioc_.get_executor(), ep);
  auto r = put(client, "/receipts/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204u);
}

TEST_F(bo_client_test, oauth2_token_is_fetched_once_and_cached) {
  fake_bo::settings s;
  s.oauth_client = "pagohub:client-secret";
  fake_bo::server bo(s);
  const auto port = bo.start();
  bo_endpoint ep;
  ep.base_url = url(port);
  ep.auth.type = bo_auth::kind::oauth2_client_credentials;
  ep.auth.username = "pagohub";
  ep.auth.secret = "client-secret";
  ep.auth.token_url = url(port) + "/oauth/token";
  ep.auth.scope = "receipts:write";
  bo_client client(ioc_.get_executor(), ep);
  for (int i = 0; i < 10; ++i) {
    auto r = put(client, "/receipts/t" + std::to_string(i));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 204u);
  }
  EXPECT_EQ(bo.token_requests(), 1u);
  EXPECT_EQ(bo.log()[0].authorization, "Bearer tok-1");
  // A forgotten token is fetched again.
  client.invalidate_token();
  ASSERT_TRUE(put(client, "/receipts/again"));
  EXPECT_EQ(bo.token_requests(), 2u);
}

TEST_F(bo_client_test, oauth2_requests_in_a_burst_share_one_token_fetch) {
  fake_bo::settings s;
  s.oauth_client = "pagohub:client-secret";
  s.delay_ms = 30;
  s.threads = 2;
  fake_bo::server bo(s);
  const auto port = bo.start();
  bo_endpoint ep;
  ep.base_url = url(port);
  ep.max_concurrency = 4;
  ep.auth.type = bo_auth::kind::oauth2_client_credentials;
  ep.auth.username = "pagohub";
  ep.auth.secret = "client-secret";
  ep.auth.token_url = url(port) + "/oauth/token";
  bo_client client(ioc_.get_executor(), ep);
  // Four requests at a time find no token: one of them fetches it, the others wait for it.
  for (auto& r : burst(client, "/receipts/b", 12)) {
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 204u);
  }
  EXPECT_EQ(bo.token_requests(), 1u);
  for (const auto& r : bo.log()) EXPECT_EQ(r.authorization, "Bearer tok-1");
}

TEST_F(bo_client_test, oauth2_token_announced_as_already_expired_is_still_reused) {
  // expires_in = 0 is taken as the shortest lifetime (30 s), not as "fetch for every request".
  fake_bo::settings s;
  s.oauth_client = "pagohub:client-secret";
  s.oauth_expires_in = 0;
  fake_bo::server bo(s);
  const auto port = bo.start();
  bo_endpoint ep;
  ep.base_url = url(port);
  ep.auth.type = bo_auth::kind::oauth2_client_credentials;
  ep.auth.username = "pagohub";
  ep.auth.secret = "client-secret";
  ep.auth.token_url = url(port) + "/oauth/token";
  bo_client client(ioc_.get_executor(), ep);
  for (int i = 0; i < 5; ++i) {
    auto r = put(client, "/receipts/z" + std::to_string(i));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 204u);
  }
  EXPECT_EQ(bo.token_requests(), 1u);
}

TEST_F(bo_client_test, oauth2_bad_credentials_fail_as_unavailable) {
  fake_bo::settings s;
  s.oauth_client = "pagohub:right";
  fake_bo::server bo(s);
  const auto port = bo.start();
  bo_endpoint ep;
  ep.base_url = url(port);
  ep.auth.type = bo_auth::kind::oauth2_client_credentials;
  ep.auth.username = "pagohub";
  ep.auth.secret = "wrong";
  ep.auth.token_url = url(port) + "/oauth/token";
  bo_client client(ioc_.get_executor(), ep);
  auto r = put(client, "/receipts/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::errc::unavailable);
  EXPECT_EQ(r.error().message.find("wrong"), std::string::npos);  // the secret is not echoed
  EXPECT_EQ(bo.count(), 0u);
}

TEST_F(bo_client_test, deadline_passes_on_a_slow_server) {
  fake_bo::settings s;
  s.delay_ms = 1000;
  fake_bo::server bo(s);
  bo_endpoint ep;
  ep.base_url = url(bo.start());
  bo_client client(ioc_.get_executor(), ep);
  const auto start = clock_type::now();
  auto r = put(client, "/receipts/slow", std::chrono::milliseconds(150));
  const auto took = clock_type::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::errc::timeout);
  EXPECT_LT(took, std::chrono::milliseconds(800));
  // The endpoint's own timeout applies when the caller's deadline is later.
  ep.timeout = std::chrono::milliseconds(100);
  bo_client short_client(ioc_.get_executor(), ep);
  auto r2 = put(short_client, "/receipts/slow2", std::chrono::seconds(30));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, core::errc::timeout);
}

TEST_F(bo_client_test, down_server_is_unavailable_and_recovers) {
  fake_bo::server bo(fake_bo::settings{});
  bo_endpoint ep;
  ep.base_url = url(bo.start());
  bo_client client(ioc_.get_executor(), ep);
  ASSERT_TRUE(put(client, "/receipts/a"));
  bo.down();
  auto r = put(client, "/receipts/b");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::errc::unavailable);
  bo.up();
  auto r2 = put(client, "/receipts/c");
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(r2->status, 204u);
}

TEST_F(bo_client_test, concurrency_is_bounded_by_max_concurrency) {
  fake_bo::settings s;
  s.delay_ms = 50;
  s.threads = 2;
  fake_bo::server bo(s);
  bo_endpoint ep;
  ep.base_url = url(bo.start());
  ep.max_concurrency = 3;
  bo_client client(ioc_.get_executor(), ep);
  for (auto& r : burst(client, "/receipts/p", 12)) {
    ASSERT_TRUE(r) << r.error().message;
  }
  EXPECT_EQ(bo.count(), 12u);
  EXPECT_LE(bo.connections(), 3u);
}

TEST_F(bo_client_test, the_timeout_starts_once_a_connection_is_free) {
  fake_bo::settings s;
  s.delay_ms = 150;
  s.threads = 2;
  fake_bo::server bo(s);
  bo_endpoint ep;
  ep.base_url = url(bo.start());
  ep.max_concurrency = 1;
  ep.timeout = std::chrono::milliseconds(400);
  bo_client client(ioc_.get_executor(), ep);
  // Six requests in line on one connection take about 900 ms in all, each 150 ms of it: none
  // runs out of its 400 ms while it waits for the connection.
  for (auto& a : burst_attempts(client, "/receipts/q", 6)) {
    EXPECT_TRUE(a.sent);
    ASSERT_TRUE(a.result) << a.result.error().message;
    EXPECT_EQ(a.result->status, 204u);
  }
  EXPECT_EQ(bo.count(), 6u);
  // request() behaves the same, within the caller's budget.
  for (auto& r : burst(client, "/receipts/r", 4, std::chrono::seconds(10))) {
    ASSERT_TRUE(r) << r.error().message;
  }
  EXPECT_EQ(bo.count(), 10u);
}

TEST_F(bo_client_test, no_free_connection_in_time_is_told_apart_and_sends_nothing) {
  fake_bo::settings s;
  s.delay_ms = 600;
  s.threads = 2;
  fake_bo::server bo(s);
  bo_endpoint ep;
  ep.base_url = url(bo.start());
  ep.max_concurrency = 1;
  ep.timeout = std::chrono::seconds(3);
  bo_client client(ioc_.get_executor(), ep);
  auto busy = asio::co_spawn(ioc_,
                             client.attempt(verb::put, "/receipts/busy", "{}", "application/json",
                                            clock_type::now() + std::chrono::seconds(5)),
                             asio::use_future);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // it holds the connection
  auto queued =
      asio::co_spawn(ioc_,
                     client.attempt(verb::put, "/receipts/queued", "{}", "application/json",
                                    clock_type::now() + std::chrono::milliseconds(50)),
                     asio::use_future);
  auto a = queued.get();
  EXPECT_FALSE(a.sent);
  ASSERT_FALSE(a.result);
  EXPECT_EQ(a.result.error().code, core::errc::timeout);
  auto b = busy.get();
  EXPECT_TRUE(b.sent);
  ASSERT_TRUE(b.result) << b.result.error().message;
  EXPECT_EQ(bo.count(), 1u);  // the queued request never reached the back-office
  for (const auto& r : bo.log()) EXPECT_NE(r.target, "/receipts/queued");
}

TEST(bo_client_config, malformed_urls_are_refused) {
  asio::io_context ioc;
  for (const char* bad :
       {"ftp://x", "http://user:pw@host/", "http://", "http://h:99999", "http://h/p?q=1"}) {
    bo_endpoint ep;
    ep.base_url = bad;
    EXPECT_THROW(bo_client(ioc.get_executor(), ep), std::invalid_argument) << bad;
  }
}

// TLS: a throwaway CA, a server certificate for localhost/127.0.0.1 and a client certificate,
// made with the openssl command.
class bo_client_tls_test : public bo_client_test {
 protected:
  void SetUp() override {
    bo_client_test::SetUp();
    dir_ = std::filesystem::temp_directory_path() /
           ("bo-tls-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    const std::string d = dir_.string();
    const std::string script =
        "cd " + d +
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
        "-subj /CN=test-ca 2>/dev/null"
        " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
        "-subj /CN=localhost 2>/dev/null"
        " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext"
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile san.ext 2>/dev/null"
        " && openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
        "-subj /CN=pagohub-client 2>/dev/null"
        " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out client.pem -days 2 2>/dev/null";
    ASSERT_EQ(std::system(script.c_str()), 0);
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    bo_client_test::TearDown();
  }
  std::string file(const char* name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(bo_client_tls_test, verified_tls_and_mtls) {
  fake_bo::settings s;
  s.cert_file = file("server.pem");
  s.key_file = file("server.key");
  s.client_ca_file = file("ca.pem");
  fake_bo::server bo(s);
  const auto port = bo.start();

  bo_endpoint ep;
  ep.base_url = url(port, "127.0.0.1", true);
  ep.auth.type = bo_auth::kind::mtls;
  ep.auth.ca_file = file("ca.pem");
  ep.auth.client_cert_file = file("client.pem");
  ep.auth.client_key_file = file("client.key");
  bo_client client(ioc_.get_executor(), ep);
  for (int i = 0; i < 3; ++i) {
    auto r = put(client, "/receipts/tls" + std::to_string(i));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 204u);
  }
  EXPECT_EQ(bo.connections(), 1u);

  // Without a client certificate the server refuses the handshake.
  bo_endpoint no_cert = ep;
  no_cert.auth = {};
  no_cert.auth.ca_file = file("ca.pem");
  bo_client anonymous(ioc_.get_executor(), no_cert);
  auto r = put(anonymous, "/receipts/anon");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::errc::unavailable);
}

TEST_F(bo_client_tls_test, server_certificate_is_verified) {
  fake_bo::settings s;
  s.cert_file = file("server.pem");
  s.key_file = file("server.key");
  fake_bo::server bo(s);
  const auto port = bo.start();
  // The system trust store does not know the test CA.
  bo_endpoint ep;
  ep.base_url = url(port, "127.0.0.1", true);
  bo_client untrusting(ioc_.get_executor(), ep);
  auto r = put(untrusting, "/receipts/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::errc::unavailable);
  // With the CA, by name: accepted.
  ep.base_url = url(port, "localhost", true);
  ep.auth.ca_file = file("ca.pem");
  bo_client trusting(ioc_.get_executor(), ep);
  auto ok = put(trusting, "/receipts/y");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(bo.count(), 1u);
}

}  // namespace
