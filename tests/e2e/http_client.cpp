#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <cctype>
#include <thread>

namespace pagohub::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
http_reply to_reply(const http::response<http::string_body>& res) {
  http_reply r;
  r.status = res.result_int();
  r.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  return r;
}
}  // namespace

http_reply http_request(unsigned short port, http::verb method, const std::string& target,
                        const std::string& body,
                        const std::map<std::string, std::string>& headers) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(socket, buffer, parser);
  boost::system::error_code ec;
  socket.shutdown(tcp::socket::shutdown_both, ec);
  return to_reply(parser.get());
}

unsigned poll_status(unsigned short port, const std::string& target, unsigned want,
                     std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  unsigned last = 0;
  while (std::chrono::steady_clock::now() < until) {
    try {
      last = http_request(port, http::verb::get, target).status;
      if (last == want) return last;
    } catch (const std::exception&) {
      last = 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return last;
}

raw_connection::raw_connection(unsigned short port) : socket_(ioc_) {
  socket_.connect({asio::ip::make_address("127.0.0.1"), port});
}

void raw_connection::send(const std::string& bytes) {
  asio::write(socket_, asio::buffer(bytes));
}

http_reply raw_connection::read_reply() {
  http::response_parser<http::string_body> parser;
  http::read(socket_, buffer_, parser);
  return to_reply(parser.get());
}

bool connection_refused(unsigned short port) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  return ec == asio::error::connection_refused;
}

}  // namespace pagohub::test
