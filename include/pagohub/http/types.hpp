#pragma once
// The HTTP vocabulary every REST and SOAP front end speaks: Beast's string-bodied messages, the
// per-request context handed to handlers, and the handler signature itself.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pagohub::http {

namespace beast_http = boost::beast::http;
using request = beast_http::request<beast_http::string_body>;
using response = beast_http::response<beast_http::string_body>;
using verb = beast_http::verb;
using status = beast_http::status;

/// Path parameters captured by the router, already percent-decoded.
class path_params {
 public:
  void add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  /// The value of `{name}` in the route pattern, or empty when the route has no such parameter.
  std::string_view get(std::string_view name) const noexcept {
    for (const auto& [k, v] : items_)
      if (k == name) return v;
    return {};
  }
  const std::vector<std::pair<std::string, std::string>>& items() const noexcept { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

/// A response body produced piece by piece, for answers too large to build in memory (exports):
/// each call yields the next chunk, nullopt ends the body. The session sends the handler's
/// response head with chunked transfer encoding (HTTP/1.0: until the connection closes) and
/// then the chunks as they come. An exception from it ends the connection without the final
/// chunk, so the client sees a truncated transfer rather than a complete-looking one.
using body_stream = std::function<boost::asio::awaitable<std::optional<std::string>>()>;

/// Everything a handler may know about the request besides its message.
struct request_context {
  const request& req;
  path_params params;
  std::string request_id;      ///< X-Request-Id, taken from the caller when well formed
  std::string remote_address;  ///< peer IP address
  std::string client_subject;  ///< mTLS peer certificate subject (RFC 2253), empty without one
  std::string_view route;      ///< the matched route pattern (a metrics label, never the raw path)
  std::string_view path;       ///< the target's path, without the query
  std::string_view query;      ///< the raw query string, without '?'
  std::chrono::steady_clock::time_point deadline;  ///< when the caller's patience ends
  /// Set by a handler to stream the body of the response it returns (whose own body is then
  /// ignored); the request deadline then applies to each chunk, not to the whole transfer.
  body_stream stream_body{};
  /// Routes with route_options::spool_body: the file holding the request body (mode 0600),
  /// removed after the handler returns unless the handler renamed it; empty otherwise.
  std::filesystem::path body_file{};
  std::uint64_t body_file_bytes = 0;  ///< the size of body_file
  /// When the request's header was read: time budgets that cover the whole exchange (the
  /// Nodo's) count from here. Unset (the epoch) when the context was not made by the server.
  std::chrono::steady_clock::time_point received{};
};

using handler = std::function<boost::asio::awaitable<response>(request_context&)>;

/// A response to `req` with the given status, body and content type; keep-alive follows `req`.
response make_response(const request& req, status st, std::string body,
                       std::string_view content_type);

/// The value of one query parameter (percent-decoded, '+' as space), or nullopt when absent.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

/// Percent-decodes `text`; nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

}  // namespace pagohub::http
