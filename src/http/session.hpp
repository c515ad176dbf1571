#pragma once
// One connection's life: optional TLS handshake, then keep-alive request/response rounds.
#include <pagohub/http/server.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <functional>

namespace pagohub::http {

/// What the server knows of a live session. `close_now` is set, called and cleared only on the
/// session's strand (`executor`), so a close posted there never touches a finished session.
struct server::session_slot {
  std::atomic<bool> idle{true};
  boost::asio::ip::address peer;  ///< the client's address, for the per-address cap
  boost::asio::any_io_executor executor;
  std::function<void()> close_now;
};

struct session_args {
  server& owner;
  const server_settings& settings;
  const router& routes;
  metrics_registry& metrics;
  server::session_slot& slot;
  const listener_spec& listener;
};

boost::asio::awaitable<void> run_session(boost::asio::ip::tcp::socket socket, session_args args);

}  // namespace pagohub::http
