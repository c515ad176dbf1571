#pragma once
// One outbound HTTP/1.1 connection (plain or TLS), and the URL pieces it is made from: what the
// clients of other systems (back-offices, the pagoPA Nodo) pool and send their requests on.
#include <pagohub/core/error.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <pagohub/core/http_url.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::http::outbound {

// The URL parser lives in core, where the configuration's checks use it too.
using core::parse_url;
using core::parsed_url;

/// A TLS client context: peer verification on (system trust store, or `ca_file` instead),
/// TLS 1.2 at least, and the client certificate and key when given. Throws
/// std::invalid_argument naming the file that cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> make_client_tls(const std::string& ca_file,
                                                           const std::string& cert_file,
                                                           const std::string& key_file);

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

/// The outcome of one exchange on a connection.
struct exchange_result {
  std::optional<response> res;  ///< set on success
  core::error err{};
  /// True when nothing of the answer was read (the failure may be a stale keep-alive
  /// connection the server closed: the request can be repeated on a fresh one).
  bool nothing_read = false;
};

/// One connection. Not thread-safe: one request at a time (the pool hands it out).
class connection {
 public:
  connection(boost::asio::any_io_executor ex, const parsed_url& url,
             std::shared_ptr<boost::asio::ssl::context> tls);

  /// Connects (and handshakes) unless connected; then writes `req` and reads the answer, all
  /// before `deadline`. The answer body is limited to `max_body` bytes.
  boost::asio::awaitable<exchange_result> exchange(request& req,
                                                   std::chrono::steady_clock::time_point deadline,
                                                   std::size_t max_body);

  bool connected() const noexcept { return connected_; }
  /// When the connection was last used (idle connections older than the keep-alive limit are
  /// dropped rather than risked).
  std::chrono::steady_clock::time_point last_used() const noexcept { return last_used_; }
  void close();

 private:
  boost::asio::awaitable<core::result<void>> connect(
      std::chrono::steady_clock::time_point deadline);
  boost::beast::tcp_stream& tcp();

  boost::asio::any_io_executor ex_;
  const parsed_url& url_;
  std::shared_ptr<boost::asio::ssl::context> tls_ctx_;
  std::optional<boost::beast::tcp_stream> plain_;
  std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls_;
  /// Bounded, as the server's (session.cpp): Beast applies neither the header nor the body
  /// limit to a chunk-size line, its extensions or the trailer, so a peer answering one without
  /// end would grow an unbounded buffer until the deadline. Body bytes leave the buffer as they
  /// are parsed, and a header fits by the parser's own limit (8 KiB).
  static constexpr std::size_t max_buffered = 8 * 1024 + 64 * 1024;
  boost::beast::flat_buffer buffer_{max_buffered};
  bool connected_ = false;
  std::chrono::steady_clock::time_point last_used_{};
};

}  // namespace pagohub::http::outbound
