#pragma once
// Runtime overrides of an [[integration]]'s settings, set by admins and kept in the database
// (docs/integration.md "Changing settings at runtime"). An override names only the fields it
// changes; the rest come from the configuration. Secrets and authentication are never
// overridden: they stay in the configuration and the files it points to.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::config {

struct integration;
enum class integration_mode;

/// The bounds the configuration reader and the override checks share (docs/config-reference.md).
namespace integration_limits {
inline constexpr std::int64_t timeout_ms_min = 100, timeout_ms_max = 600'000;
inline constexpr std::int64_t max_concurrency_min = 1, max_concurrency_max = 256;
inline constexpr std::int64_t max_attempts_min = 1, max_attempts_max = 1000;
// Ten years: "never" in practice, and far from the overflow of a clock's nanoseconds that
// larger values reach (292 years), where a message would be judged too old at once.
inline constexpr std::int64_t max_age_s_min = 60, max_age_s_max = 3650LL * 86400;
inline constexpr std::int64_t backoff_initial_ms_min = 10, backoff_initial_ms_max = 3'600'000;
inline constexpr std::int64_t backoff_max_ms_min = 10, backoff_max_ms_max = 86'400'000;
inline constexpr std::int64_t breaker_failures_min = 1, breaker_failures_max = 1000;
inline constexpr std::int64_t breaker_open_ms_min = 100, breaker_open_ms_max = 3'600'000;
}  // namespace integration_limits

/// Why a base URL (or token URL) is refused, empty when it is acceptable: http(s) only, a host,
/// no user information (credentials belong in secret/username), no query or fragment.
std::string integration_url_problem(std::string_view url);

/// "90s", "30m", "72h", "7d" as whole seconds; nullopt when malformed.
std::optional<std::chrono::seconds> parse_integration_duration(std::string_view text);

/// The shortest of "Nd", "Nh", "Nm", "Ns" that says `s` exactly.
std::string format_integration_duration(std::chrono::seconds s);

/// The fields of an integration an admin may change at runtime; nullopt = as configured.
struct integration_override {
  std::optional<integration_mode> mode;
  std::optional<std::string> base_url;   ///< push
  std::optional<std::string> directory;  ///< file; absolute
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<std::int64_t> max_concurrency;
  std::optional<std::int64_t> max_attempts;
  std::optional<std::chrono::seconds> max_age;
  std::optional<std::chrono::milliseconds> backoff_initial;
  std::optional<std::chrono::milliseconds> backoff_max;
  std::optional<std::int64_t> breaker_failures;
  std::optional<std::chrono::milliseconds> breaker_open;

  /// True when it overrides nothing.
  bool empty() const noexcept;
  bool operator==(const integration_override&) const = default;
};

/// One reason an override cannot apply to its integration: `key` is the configuration key it
/// concerns ("base_url", "timeout_ms", ...).
struct override_problem {
  std::string key;
  std::string message;
};

/// Judges `o` against the configured integration with the configuration reader's rules: ranges,
/// URL shape, which keys apply to which mode, what a mode requires (a base_url for push, a
/// directory for file), back-off bounds, TLS files needing https, and, for an integration whose
/// auth sends credentials, no move of base_url to another host or port or from https to http
/// (the credentials would follow it). `check_files` also asks the
/// file system whether an overridden directory exists (done when an admin sets it; not when a
/// stored override is merged again). Empty = acceptable.
std::vector<override_problem> check_override(const integration& configured,
                                             const integration_override& o, bool check_files);

/// The effective integration: `configured` with the fields of `o` in place. A mode other than
/// push drops the base URL (no push client and no lookups); `o` must have passed
/// check_override().
integration apply_override(const integration& configured, const integration_override& o);

}  // namespace pagohub::config
