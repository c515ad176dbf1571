#pragma once
// The running daemon: builds every component in order, wires them, serves until a signal.
#include <pagohub/config/config.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace pagohub::app {

class daemon {
 public:
  explicit daemon(config::config cfg);
  ~daemon();
  daemon(const daemon&) = delete;
  daemon& operator=(const daemon&) = delete;

  /// Serves until SIGTERM/SIGINT (or stop()); returns the exit code. `on_listening` is called
  /// with the bound endpoints once every listener accepts.
  int run(
      std::function<void(const std::vector<boost::asio::ip::tcp::endpoint>&)> on_listening = {});

  /// Begins a graceful stop, as SIGTERM does. Thread-safe.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace pagohub::app
