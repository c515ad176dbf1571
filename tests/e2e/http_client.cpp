#include "http_client.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdlib>
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

// Every answer of the REST API an end-to-end test sees goes, one JSON line each, to the file
// PAGOHUB_TEST_HTTP_LOG names (ctest sets it for the e2e tests): after them,
// openapi_conformance.py checks each against docs/api/backoffice.yaml, so that the document
// back-office suppliers build their clients from says what the daemon really answers, the
// error answers of every test included. One write() per line on an O_APPEND file: the test
// binaries run in parallel and their lines do not interleave.
void record(http::verb method, const std::string& target, const http_reply& r) {
  const char* path = std::getenv("PAGOHUB_TEST_HTTP_LOG");
  if (path == nullptr || *path == '\0' || !target.starts_with("/api/")) return;
  const std::string type = r.header("content-type");
  nlohmann::json line = {{"method", std::string(http::to_string(method))},
                         {"target", target},
                         {"status", r.status},
                         {"contentType", type}};
  // The bodies the document describes as JSON are checked; a CSV report or a journal export
  // only for its media type.
  if (type.find("json") != std::string::npos) line["body"] = r.body;
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  [[maybe_unused]] const auto written = ::write(fd, text.data(), text.size());
  ::close(fd);
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
  http_reply reply = to_reply(parser.get());
  record(method, target, reply);
  return reply;
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
