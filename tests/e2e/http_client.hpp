#pragma once
// A small blocking HTTP/1.1 client over loopback for end-to-end tests.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace pagohub::test {

struct http_reply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

/// One request on a fresh connection. Throws boost::system::system_error on I/O failure.
http_reply http_request(unsigned short port, boost::beast::http::verb method,
                        const std::string& target, const std::string& body = {},
                        const std::map<std::string, std::string>& headers = {});

/// Polls `target` until it answers `want` or the deadline passes; returns the last status
/// (0 when nothing answered).
unsigned poll_status(unsigned short port, const std::string& target, unsigned want,
                     std::chrono::milliseconds deadline);

/// A raw connection for tests that need to control what is sent and when.
class raw_connection {
 public:
  explicit raw_connection(unsigned short port);
  void send(const std::string& bytes);
  /// Reads one response (blocking, with the socket's default behaviour).
  http_reply read_reply();

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

/// true when a TCP connection to the port is refused (nothing listens).
bool connection_refused(unsigned short port);

}  // namespace pagohub::test
