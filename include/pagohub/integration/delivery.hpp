#pragma once
// Outbox delivery (docs/integration.md): routes messages to integrations, then per push or file
// integration claims due messages (FOR UPDATE SKIP LOCKED), sends them (PUT receipts / events
// with an Idempotency-Key, or one file each), and records the outcomes with retries, dead
// letters and a circuit breaker per endpoint. Several daemons on one database share the work;
// none sends a message another holds.
#include <pagohub/config/integration.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/journal/record.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace pagohub::journal {
class writer;
}

namespace pagohub::integration {

struct delivery_settings {
  std::string instance_id;  ///< this daemon (claimed_by)
  /// How often an idle integration looks for due messages (and unrouted ones are routed).
  std::chrono::milliseconds poll_interval{500};
  /// Messages claimed per batch: 0 = 32 x max_concurrency, within 32..512.
  int batch_size = 0;
  /// Concurrent claim-send-record loops per integration: while one records, another sends.
  int pipelines = 3;
  /// How often metrics gauges (messages per state) are refreshed from the database.
  std::chrono::milliseconds gauge_interval{5000};
  /// Journal payload rules for the delivery events; null = the defaults.
  const journal::payload_rules* rules = nullptr;
  /// The journal writer that records each PUT to a back-office as INTERFACCIA req and rsp
  /// events (queued, written in batches off the delivery path); null = not recorded.
  journal::writer* events = nullptr;
  /// How often the endpoint of a push integration that could not be made into a client (a TLS
  /// file unreadable or invalid) is tried again while neither its settings nor its files change.
  std::chrono::milliseconds endpoint_retry{std::chrono::minutes(5)};
  /// File mode, which has no timeout setting: how long a batch may start writing files (its
  /// sending window). A file whose turn comes later goes back unsent, due at once, as a push
  /// request that found no free connection in time.
  std::chrono::milliseconds file_window{std::chrono::seconds(60)};
  /// File mode: how long past the window a batch waits for the write under way (a directory
  /// that hangs) before it is recorded without it.
  std::chrono::milliseconds file_write_grace{std::chrono::seconds(15)};
  /// File mode: the threads that write files; each integration writes on one at a time, so
  /// that a directory that hangs holds one thread only. Made with the first file integration.
  std::size_t file_threads = 4;
  /// For tests: runs on the writing thread before each file, with the integration's id (a
  /// directory that crawls or hangs).
  std::function<void(const std::string& integration)> before_file_write{};
};

/// Circuit breaker states of an endpoint.
enum class breaker_state { closed, open, half_open };

/// A push integration whose endpoint, as its settings now say, this daemon cannot use: its client
/// cannot be built (a TLS file unreadable or invalid). Tried again when the settings or the files
/// change, and every delivery_settings::endpoint_retry.
struct endpoint_failure {
  std::string error;                            ///< why
  std::chrono::system_clock::time_point since;  ///< the first failure of these settings
  /// Where the integration's messages still go, with its previous settings (their base URL, or
  /// the directory of a previous file mode); empty when they wait, as it had no delivery before
  /// (start-up, a new integration).
  std::string delivering_to;
};

class delivery_service {
 public:
  /// `integrations` is read at every poll, so a reload takes effect without a restart.
  /// Everything referenced must outlive the service.
  delivery_service(boost::asio::io_context& ioc, db::executor& db,
                   config::integration_holder& integrations, const core::clock& clock,
                   delivery_settings settings);
  ~delivery_service();
  delivery_service(const delivery_service&) = delete;
  delivery_service& operator=(const delivery_service&) = delete;

  /// Starts the loops on the io_context (returns at once).
  void start();
  /// Stops taking new batches; batches in flight finish (their claims expire otherwise).
  /// Thread-safe, idempotent.
  void stop();
  /// Wakes the loops now (after an operator's resend or resume, so it is not delayed by a
  /// poll interval).
  void wake();
  /// Re-reads the suspended states and the admins' settings overrides at the next poll.
  void refresh_states();

  /// The breaker of a push integration (closed for unknown ids).
  breaker_state breaker(const std::string& integration_id) const;

  /// The failure of a push integration's endpoint on this daemon; nullopt when its endpoint is in
  /// use (or the id unknown).
  std::optional<endpoint_failure> failed_endpoint(const std::string& integration_id) const;

  /// Prometheus lines: messages per integration and state, delivered / dead / attempts
  /// counters, attempt latency histogram, breaker state, endpoints that cannot be used.
  void append_metrics(std::string& out) const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

/// "closed", "open", "half_open".
std::string_view to_string(breaker_state s) noexcept;

}  // namespace pagohub::integration
