#pragma once
// fake-bo: a back-office that implements the webhook contract (docs/api/bo-webhooks.yaml) over
// real HTTP, with switches to misbehave. The tool (main.cpp) wraps it; tests and benchmarks run
// it in-process.
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pagohub::fake_bo {

/// How the fake answers the contract's requests (PUT receipts/events, GET notices).
enum class behaviour {
  ok,        ///< 204 for PUTs, the position (or 404) for GET notices
  fail_500,  ///< 500
  conflict,  ///< 409 ("already have it")
  reject,    ///< 400 with a problem body naming a field
};

/// "ok", "500", "409", "400"; parse_behaviour() accepts the same words.
std::string to_string(behaviour b);
bool parse_behaviour(const std::string& text, behaviour& out);

/// One request the fake received (contract paths only, not the control endpoint).
struct received {
  std::uint64_t seq = 0;  ///< arrival order, from 1
  std::string method;
  std::string target;
  std::string idempotency_key;
  std::string authorization;  ///< as received: tests check the scheme
  std::string api_key;        ///< the X-API-Key header
  std::string request_id;     ///< the X-Request-Id header
  std::string body;
  unsigned answered = 0;  ///< the status it got
};

struct settings {
  std::string address = "127.0.0.1";
  unsigned short port = 0;  ///< 0 = any free port
  int threads = 1;
  behaviour mode = behaviour::ok;
  int delay_ms = 0;
  /// JSON file: an object noticeNumber -> position object, answered by GET /notices/{n}.
  std::string positions_file{};
  /// Requests must carry these to be answered (401 otherwise); empty = not checked.
  std::string require_api_key{};  ///< X-API-Key value
  std::string require_basic{};    ///< "user:password"
  std::string oauth_client{};     ///< "id:secret": enables POST /oauth/token, Bearer checked
  int oauth_expires_in = 3600;    ///< seconds announced with each token
  /// TLS: PEM files; client_ca_file asks for and verifies a client certificate (mTLS).
  std::string cert_file{}, key_file{}, client_ca_file{};
  bool record_bodies = true;  ///< false keeps only counts (benchmarks)
  /// Appends every contract request (method, target, Idempotency-Key, Content-Type, body) as a
  /// JSON line to this file, for a check of the requests against docs/api/bo-webhooks.yaml.
  /// Empty: the file named by PAGOHUB_FAKE_BO_RECORD in the environment, if any.
  std::string record_file{};
};

/// The server. Thread-safe switches; start() returns after it listens.
class server {
 public:
  explicit server(settings s);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Listens and starts the threads; returns the bound port.
  unsigned short start();
  /// Stops listening and closes every connection ("down"); up() listens again on the same port.
  void down();
  void up();
  bool is_up() const noexcept;
  void stop();

  void set_mode(behaviour b) noexcept { mode_.store(b); }
  behaviour mode() const noexcept { return mode_.load(); }
  void set_delay(std::chrono::milliseconds d) noexcept {
    delay_ms_.store(static_cast<int>(d.count()));
  }
  unsigned short port() const noexcept { return port_; }

  /// What was received so far, in order.
  std::vector<received> log() const;
  /// Requests received on contract paths (cheap; also counts with record_bodies off).
  std::uint64_t count() const noexcept { return count_.load(); }
  /// Distinct Idempotency-Keys answered with 2xx or 409 ("delivered").
  std::uint64_t distinct_acknowledged() const;
  /// Connections accepted since start.
  std::uint64_t connections() const noexcept { return connections_.load(); }
  /// Token requests at POST /oauth/token.
  std::uint64_t token_requests() const noexcept { return token_requests_.load(); }
  void clear();
  /// {"count":N,"tokenRequests":T,"received":[{seq,method,target,idempotencyKey,status}...]}
  std::string log_json() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
  std::atomic<behaviour> mode_;
  std::atomic<int> delay_ms_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> token_requests_{0};
  std::atomic<std::uint64_t> connections_{0};
  unsigned short port_ = 0;
  friend struct state;
};

}  // namespace pagohub::fake_bo
