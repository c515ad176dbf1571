#pragma once
// The Beast HTTP/1.1 server: listeners (plain, TLS, mTLS), keep-alive sessions as coroutines,
// header/body limits, deadlines, request ids, access log, metrics, and graceful shutdown.
#include <pagohub/http/metrics.hpp>
#include <pagohub/http/router.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace pagohub::http {

struct tls_files {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  ///< non-empty: clients must present a certificate signed by it
};

/// A TLS 1.2+ server context from PEM files. Throws std::runtime_error naming the file at fault.
std::shared_ptr<boost::asio::ssl::context> make_server_tls(const tls_files& files);

struct listener_spec {
  std::string name;
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;                          ///< 0: any free port (tests)
  std::shared_ptr<boost::asio::ssl::context> tls;  ///< null: plain HTTP
  /// With mTLS: the certificate subjects (RFC 2253) admitted; empty admits any the CA signed.
  std::vector<std::string> allowed_subjects;
};

struct server_settings {
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds request_deadline{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_connections = 10'000;
  /// Connections open at once from one client address; 0 = no cap but max_connections. Behind
  /// a reverse proxy every connection comes from the proxy's address.
  std::size_t max_connections_per_address = 0;
  bool access_log = true;
  /// Where bodies of route_options::spool_body routes are written while they arrive; empty:
  /// the system's temporary directory.
  std::string spool_dir{};
};

class server {
 public:
  server(boost::asio::io_context& ioc, server_settings settings,
         std::shared_ptr<const router> routes, metrics_registry& metrics);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds every listener (throws std::runtime_error naming the one that failed) and starts
  /// accepting. Returns the bound endpoints, in order (port 0 resolved).
  std::vector<boost::asio::ip::tcp::endpoint> start(const std::vector<listener_spec>& listeners);

  /// Stops accepting, closes idle keep-alive connections, lets requests in flight finish and
  /// answer (with Connection: close); after `grace`, closes what is left. Calls `done` once every
  /// session has ended. Safe to call from any thread, once.
  void shutdown(std::chrono::milliseconds grace, std::function<void()> done);

  std::size_t active_sessions() const;
  bool draining() const noexcept { return draining_.load(); }

  struct session_slot;  // internal, public for the session code in server.cpp

 private:
  friend struct session_access;
  /// Counts the session in, unless a cap is reached (then nullopt: the caller closes it).
  std::optional<std::uint64_t> register_session(std::shared_ptr<session_slot> slot);
  void unregister_session(std::uint64_t id);
  void accept_loop(std::size_t index);

  boost::asio::io_context& ioc_;
  server_settings settings_;
  std::shared_ptr<const router> routes_;
  metrics_registry& metrics_;
  struct listener_state;
  std::vector<std::shared_ptr<listener_state>> listeners_;
  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<session_slot>> sessions_;
  std::unordered_map<boost::asio::ip::address, std::size_t> per_address_;
  /// Connections closed on arrival for a cap. Shared with the metrics collector, which may
  /// outlive the server.
  struct refusal_counts {
    std::atomic<std::uint64_t> max_connections{0};
    std::atomic<std::uint64_t> per_address{0};
  };
  std::shared_ptr<refusal_counts> refused_;
  std::uint64_t next_id_ = 1;
  std::atomic<bool> draining_{false};
  std::function<void()> on_drained_;
  std::shared_ptr<boost::asio::steady_timer> grace_timer_;
};

/// Removes the spool files of uploads (route_options::spool_body) that a daemon killed while
/// receiving them left in `dir` (the system's temporary directory when empty): those whose last
/// write is older than `older_than`, so that another daemon's uploads in flight stay. Returns
/// how many went; never throws.
std::size_t sweep_spool(const std::string& dir, std::chrono::seconds older_than);

}  // namespace pagohub::http
