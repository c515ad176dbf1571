// The journal's routes on a real http::server over loopback (in process): the streamed CSV
// export, and the server's streamed bodies themselves (http::request_context::stream_body).
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include "fixture.hpp"

#include "http_client.hpp"
#include "pagohub/http/server.hpp"
#include "pagohub/journal/record.hpp"
#include "pagohub/journal/routes.hpp"

namespace pagohub::journal::test {
namespace {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
using namespace std::chrono_literals;

// A server on a free loopback port, its io_context on two threads.
class serving {
 public:
  explicit serving(std::shared_ptr<http::router> routes)
      : server_(ioc_, http::server_settings{}, std::move(routes), metrics_) {
    port_ = server_.start({{"test", "127.0.0.1", 0, nullptr, {}}}).front().port();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~serving() {
    server_.shutdown(0ms, [this] { ioc_.stop(); });
    for (auto& t : threads_) t.join();
  }
  unsigned short port() const { return port_; }

 private:
  asio::io_context ioc_;
  http::metrics_registry metrics_;
  http::server server_;
  unsigned short port_ = 0;
  std::vector<std::jthread> threads_;
};

class journal_routes : public journal_db {};

TEST_F(journal_routes, the_csv_export_streams_in_chunks_from_the_database) {
  std::vector<event> events;
  for (int i = 0; i < 4500; ++i) {
    auto e = internal_event("01234567897", 0, "bulk");
    e.interface_params = i == 3 ? "a, \"b\"" : i == 4 ? "=HYPERLINK(\"http://x\",\"y\")" : "";
    events.push_back(e);
  }
  db_->transact_sync([&](pqxx::work& w) { record_internal_many(w, events); });
  auto routes = std::make_shared<http::router>();
  add_routes(*routes,
             {*db_,
              [](const http::request_context& ctx) -> asio::awaitable<std::optional<caller>> {
                if (ctx.req["X-Test-Caller"] != "a") co_return std::nullopt;
                co_return caller{"application", "a", {{"01234567897"}, false}};
              },
              1000});
  serving s(routes);
  EXPECT_EQ(pagohub::test::http_request(s.port(), beast_http::verb::get, "/api/v1/journal").status,
            401u);
  const auto r = pagohub::test::http_request(s.port(), beast_http::verb::get,
                                             "/api/v1/journal?tipoEvento=bulk", {},
                                             {{"Accept", "text/csv"}, {"X-Test-Caller", "a"}});
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  std::istringstream lines(r.body);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) ++n;
  EXPECT_EQ(n, 4501);
  EXPECT_NE(r.body.find(",\"a, \"\"b\"\"\","), std::string::npos);
  // A value a spreadsheet would run as a formula comes back as text (OWASP "CSV Injection").
  EXPECT_NE(r.body.find(",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","), std::string::npos);
  EXPECT_EQ(r.body.find(",=HYPERLINK"), std::string::npos);
  // JSON pages of the same query, through the cursor.
  std::string cursor;
  int seen = 0;
  for (int page = 0; page < 10; ++page) {
    const auto j = pagohub::test::http_request(
        s.port(), beast_http::verb::get,
        "/api/v1/journal?tipoEvento=bulk&limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor),
        {}, {{"X-Test-Caller", "a"}});
    ASSERT_EQ(j.status, 200u) << j.body;
    const auto body = nlohmann::json::parse(j.body);
    seen += static_cast<int>(body["items"].size());
    if (!body.contains("nextCursor")) break;
    cursor = body["nextCursor"];
  }
  EXPECT_EQ(seen, 4500);
}

TEST(http_streaming, a_streamed_body_arrives_whole_or_visibly_cut) {
  auto routes = std::make_shared<http::router>();
  const auto generator = [](int chunks, bool fail) {
    auto count = std::make_shared<int>(0);
    return [count, chunks, fail]() -> asio::awaitable<std::optional<std::string>> {
      if (*count == chunks) {
        if (fail) throw std::runtime_error("the source failed");
        co_return std::nullopt;
      }
      ++*count;
      co_return std::string(10000, static_cast<char>('a' + *count % 26));
    };
  };
  routes->add(http::verb::get, "/ok", [generator](http::request_context& ctx) {
    ctx.stream_body = generator(50, false);
    return [](http::request_context& c) -> asio::awaitable<http::response> {
      co_return http::make_response(c.req, http::status::ok, "ignored", "text/plain");
    }(ctx);
  });
  routes->add(http::verb::get, "/cut", [generator](http::request_context& ctx) {
    ctx.stream_body = generator(3, true);
    return [](http::request_context& c) -> asio::awaitable<http::response> {
      co_return http::make_response(c.req, http::status::ok, "", "text/plain");
    }(ctx);
  });
  serving s(routes);
  const auto ok = pagohub::test::http_request(s.port(), beast_http::verb::get, "/ok");
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(ok.header("transfer-encoding"), "chunked");
  EXPECT_EQ(ok.header("content-length"), "");
  EXPECT_EQ(ok.body.size(), 500000U);
  EXPECT_EQ(ok.body.find("ignored"), std::string::npos);
  // A source that fails mid-way: the client must not see a complete body.
  EXPECT_THROW(pagohub::test::http_request(s.port(), beast_http::verb::get, "/cut"),
               std::exception);
  // HTTP/1.0 has no chunks: the body runs to the connection's end, with no Content-Length
  // (a leftover "Content-Length: 0" would make the client read an empty body).
  {
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address("127.0.0.1"), s.port()});
    asio::write(sock, asio::buffer(std::string("GET /ok HTTP/1.0\r\nHost: t\r\n\r\n")));
    std::string raw;
    boost::system::error_code ec;
    asio::read(sock, asio::dynamic_buffer(raw), ec);
    EXPECT_EQ(ec, asio::error::eof);
    const auto head_end = raw.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    const std::string head10 = raw.substr(0, head_end);
    EXPECT_EQ(head10.find("Content-Length"), std::string::npos) << head10;
    EXPECT_EQ(head10.find("chunked"), std::string::npos) << head10;
    EXPECT_EQ(raw.size() - head_end - 4, 500000U);
  }
  // HEAD never streams.
  const auto head = pagohub::test::http_request(s.port(), beast_http::verb::head, "/ok");
  EXPECT_EQ(head.status, 405u);  // only GET is registered
}

}  // namespace
}  // namespace pagohub::journal::test
