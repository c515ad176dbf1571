#pragma once
// The outbound HTTP client toward an entity's back-office (ARCHITECTURE §4: async Beast client
// with deadlines and connection reuse). Used by outbox delivery (webhooks) and by on-demand
// position lookups. docs/integration.md describes the contract and the security options.
#include <pagohub/core/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pagohub::integration {

/// How the gateway authenticates toward the back-office.
struct bo_auth {
  enum class kind { none, api_key, basic, oauth2_client_credentials, mtls };
  kind type = kind::none;
  std::string header_name = "X-API-Key";  ///< api_key: the header carrying `secret`
  /// api_key value / basic password / oauth2 client secret. Never logged.
  std::string secret{};
  std::string username{};  ///< basic user / oauth2 client id
  /// OAuth2 client credentials (RFC 6749 §4.4): token endpoint (http or https) and scope; the
  /// token is cached until its expiry minus a margin (expires_in taken within 30 s..24 h), and
  /// requests needing a token while one is being fetched wait for that fetch.
  std::string token_url{}, scope{};
  /// PEM files: the client certificate and key for mTLS (any `type` may add them; `mtls` needs
  /// them), and a CA bundle replacing the system trust store for https. Empty = unused.
  std::string client_cert_file{}, client_key_file{}, ca_file{};
};

/// One back-office endpoint.
struct bo_endpoint {
  std::string base_url{};  ///< http:// or https://, path prefix kept ("https://bo/api/v2")
  bo_auth auth{};
  /// Per request, from when it has a connection (and within the caller's deadline).
  std::chrono::milliseconds timeout{5000};
  std::size_t max_concurrency = 4;  ///< connections kept alive (and requests in flight)
};

/// A back-office answer: any HTTP status is a response (the caller judges it).
struct bo_response {
  unsigned status = 0;
  std::string body{};
  std::string content_type{};
};

/// What bo_client::attempt() did.
struct bo_attempt {
  /// False when no connection became free before the wait's bound: nothing left the gateway,
  /// and the failure in `result` says nothing about the back-office.
  bool sent = false;
  /// When the request had its connection and its timeout started (when `sent`).
  std::chrono::steady_clock::time_point started{};
  core::result<bo_response> result = core::fail(core::errc::internal, "not run");
};

/// One client per endpoint: thread-safe, keeps up to max_concurrency HTTP/1.1 keep-alive
/// connections (TLS verified against the system store or auth.ca_file, SNI and host name
/// checked). Requests beyond max_concurrency wait in line for a free connection; a request's
/// endpoint.timeout starts once it has one, so time spent in line never eats into it.
class bo_client {
 public:
  /// Throws std::invalid_argument on a malformed base_url / token_url or unreadable TLS files
  /// (configuration was validated before; this is the last line).
  bo_client(boost::asio::any_io_executor ex, bo_endpoint endpoint);
  ~bo_client();
  bo_client(const bo_client&) = delete;
  bo_client& operator=(const bo_client&) = delete;

  /// Sends `method` to base_url + `path` (path starts with '/'; it is appended to the base
  /// path). Fails with errc::unavailable on connect/TLS/IO errors (and when the OAuth2 token
  /// cannot be obtained), errc::timeout when `deadline` passes first (the wait for a free
  /// connection included: a budget for the whole call) or when endpoint.timeout passes after
  /// the request got its connection. `extra_headers` are added as given (e.g.
  /// Idempotency-Key). A request on a reused connection that fails before any byte of the
  /// answer is retried once on a fresh one.
  boost::asio::awaitable<core::result<bo_response>> request(
      boost::beast::http::verb method, std::string path, std::string body, std::string content_type,
      std::chrono::steady_clock::time_point deadline,
      std::vector<std::pair<std::string, std::string>> extra_headers = {});

  /// As request(), for a caller that queues many requests: waits for a free connection until
  /// `wait_until`, then gives the exchange the whole endpoint.timeout from that moment. When
  /// no connection became free in time, `sent` is false and nothing reached the back-office.
  boost::asio::awaitable<bo_attempt> attempt(
      boost::beast::http::verb method, std::string path, std::string body, std::string content_type,
      std::chrono::steady_clock::time_point wait_until,
      std::vector<std::pair<std::string, std::string>> extra_headers = {});

  /// The endpoint as configured.
  const bo_endpoint& endpoint() const noexcept;

  /// Forgets the cached OAuth2 token (the next request fetches a new one). Called after a 401.
  void invalidate_token();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace pagohub::integration
