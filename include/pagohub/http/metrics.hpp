#pragma once
// Prometheus text exposition (format 0.0.4) of the request metrics, plus collectors that other
// components (the DB pool, later the journal and the outbox) register to add their own lines.
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace pagohub::http {

/// Upper bounds (seconds) of the buckets of every latency histogram pagohubd exposes.
inline constexpr double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

/// One latency histogram series (cumulative buckets over latency_bounds). Not synchronised:
/// its owner locks, or fills one from its own atomics to render it.
struct latency_histogram {
  std::uint64_t buckets[std::size(latency_bounds)] = {};
  std::uint64_t count = 0;
  double sum = 0;

  void observe(double seconds) noexcept;
};

/// Appends the `_bucket`, `_sum` and `_count` lines of one series of histogram `name`.
/// `labels` is the escaped label list without braces ("" for none).
void append_histogram(std::string& out, std::string_view name, std::string_view labels,
                      const latency_histogram& h);

/// Appends gauge `name` with its # HELP and # TYPE lines and one sample.
void append_gauge(std::string& out, std::string_view name, std::string_view help,
                  std::int64_t value);

/// Appends counter `name` with its # HELP and # TYPE lines and one sample.
void append_counter(std::string& out, std::string_view name, std::string_view help,
                    std::uint64_t value);

/// Appends counter `name` with its # HELP and # TYPE lines and one sample per label value:
/// name{label="value"} count. Label values are escaped.
void append_counter(std::string& out, std::string_view name, std::string_view help,
                    std::string_view label,
                    std::initializer_list<std::pair<std::string_view, std::uint64_t>> samples);

class metrics_registry {
 public:
  /// Appends complete exposition lines (with # HELP / # TYPE) to the output.
  using collector = std::function<void(std::string& out)>;

  /// Counts one finished request under its route pattern (never the raw path: bounded labels).
  void observe_request(std::string_view route, std::string_view method, unsigned status,
                       double seconds);
  void inflight_add(int delta) noexcept { inflight_.fetch_add(delta, std::memory_order_relaxed); }
  void add_collector(collector c);
  std::string render() const;

  /// Escapes a label value per the exposition format.
  static std::string escape_label(std::string_view v);

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, latency_histogram> latency_;
  std::vector<collector> collectors_;
  std::atomic<std::int64_t> inflight_{0};
};

}  // namespace pagohub::http
