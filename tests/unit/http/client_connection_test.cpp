// The outbound connection against raw loopback peers that misbehave.
#include <pagohub/http/client_connection.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace pagohub::http::outbound {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// A peer that reads one request, then answers a chunked response whose first chunk-size line
// never ends: its extension goes on until the client hangs up (or 256 MiB).
class endless_chunk_line_peer {
 public:
  endless_chunk_line_peer() : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] {
      try {
        tcp::socket s(ioc_);
        acceptor_.accept(s);
        asio::streambuf in;
        asio::read_until(s, in, "\r\n\r\n");
        asio::write(s, asio::buffer(std::string(
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=")));
        const std::string junk(64 * 1024, 'a');
        for (int i = 0; i < 4096; ++i) {
          asio::write(s, asio::buffer(junk));
          sent_ += junk.size();
        }
      } catch (const std::exception&) {
        // The client hung up: what the test expects.
      }
    });
  }
  ~endless_chunk_line_peer() { wait(); }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  /// Until the peer stopped sending; then the bytes it sent.
  std::size_t wait() {
    if (thread_.joinable()) thread_.join();
    return sent_.load();
  }

 private:
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<std::size_t> sent_{0};
};

TEST(outbound_connection, an_endless_chunk_size_line_fails_the_exchange_instead_of_filling_memory) {
  endless_chunk_line_peer peer;
  std::string why;
  const auto url = parse_url("http://127.0.0.1:" + std::to_string(peer.port()), why);
  ASSERT_TRUE(url) << why;
  asio::io_context ioc;
  connection c(ioc.get_executor(), *url, nullptr);
  request req{boost::beast::http::verb::get, "/notices/1", 11};
  req.set(boost::beast::http::field::host, url->host_header);
  auto f = asio::co_spawn(
      ioc, c.exchange(req, std::chrono::steady_clock::now() + std::chrono::seconds(60), 1 << 20),
      asio::use_future);
  ioc.run();
  const auto out = f.get();
  EXPECT_FALSE(out.res.has_value());
  // Failed on the buffer's bound, long before the 60 s deadline and the 256 MiB the peer offers.
  EXPECT_NE(out.err.code, core::errc::timeout) << out.err.message;
  EXPECT_FALSE(c.connected());
  // The client hung up: the peer's writes failed once the sockets' buffers were full.
  EXPECT_LT(peer.wait(), std::size_t{64} << 20);
}

}  // namespace
}  // namespace pagohub::http::outbound
